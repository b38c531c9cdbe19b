package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/internal/oneline"
	"github.com/runpolicy/runpolicy/policies"
)

// Exit codes of `runpolicy test`, the same as `opa test`.
const (
	exitTestError = 1
	exitTestFail  = 2
)

// runTest runs Rego unit tests as `opa test` does. The built-in modules and
// default settings are added under the user's files (unless the paths
// already hold them), so a team's tests can call runpolicy's lib helpers and
// judge documents against the real defaults. With no path it runs the
// built-in policies' own tests.
func runTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("test", testSynopsis, stderr)
	verbose := fs.Bool("v", false, "report every test, not only failures")
	filter := fs.String("run", "", "run only tests whose name matches `REGEX`")
	timeout := fs.Duration("timeout", 30*time.Second, "time limit for each test")
	var allow listFlag
	fs.Var(&allow, "allow-builtin", "let policies call the network built-in `NAME` (http.send, net.lookup_ip_addr, …), refused by default (repeatable)")
	coverage := fs.Bool("coverage", false, "report the coverage of the policies under test as JSON, as `opa test --coverage` does")
	threshold := fs.Float64("threshold", 0, "fail (status 2) when coverage is below `PERCENT`; implies --coverage")
	format := fs.String("format", "pretty", "test report format: pretty or json (ignored with --coverage, which is JSON)")
	paths, err := parseInterspersed(fs, args, stdout)
	if err != nil {
		return flagExit(err, exitTestError)
	}
	if *threshold < 0 || *threshold > 100 {
		fmt.Fprintf(stderr, "runpolicy test: --threshold %v: want a percentage between 0 and 100\n", *threshold)
		return exitTestError
	}
	if *format != "pretty" && *format != "json" {
		fmt.Fprintf(stderr, "runpolicy test: unknown --format %q (want pretty or json)\n", *format)
		return exitTestError
	}
	if *threshold > 0 {
		*coverage = true
	}
	if code := checkBundleDirs(ctx, paths, allow, stderr); code != exitOK {
		return code
	}
	modules, own, data, err := testFiles(paths)
	if err != nil {
		printErrors(stderr, err)
		return exitTestError
	}
	schemas, err := policies.Schemas()
	if err != nil {
		fmt.Fprintf(stderr, "runpolicy test: %v\n", err)
		return exitTestError
	}
	// Tests get the capabilities decisions get: no network unless allowed.
	caps, err := engine.Capabilities(allow...)
	if err != nil {
		fmt.Fprintf(stderr, "runpolicy test: %v\n", err)
		return exitTestError
	}
	store := inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false))
	txn, err := store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		fmt.Fprintf(stderr, "runpolicy test: %v\n", err)
		return exitTestError
	}
	defer store.Abort(ctx, txn)
	compiler := ast.NewCompiler().
		WithEnablePrintStatements(true).
		WithSchemas(schemas).
		WithUseTypeCheckAnnotations(true).
		WithCapabilities(caps)
	runner := tester.NewRunner()
	var reporter tester.Reporter
	switch {
	case *coverage:
		// Coverage of the user's own modules: the built-in ones beneath
		// them are runpolicy's, tested by runpolicy.
		cov := cover.New()
		runner = runner.SetCoverageQueryTracer(cov)
		reporter = coverageReporter{cover: cov, modules: own, output: stdout, threshold: *threshold, verbose: *verbose}
	case *format == "json":
		reporter = tester.JSONReporter{Output: stdout}
	default:
		reporter = tester.PrettyReporter{Output: stdout, Verbose: *verbose, FailureLine: true}
	}
	ch, err := runner.
		SetCompiler(compiler).
		SetStore(store).
		SetModules(modules).
		SetTimeout(*timeout).
		Filter(*filter).
		RunTests(ctx, txn)
	if err != nil {
		printErrors(stderr, err)
		return exitTestError
	}
	code, ran := exitOK, false
	results := make(chan *tester.Result)
	go func() {
		defer close(results)
		for r := range ch {
			ran = true
			if !r.Pass() {
				code = exitTestFail
			}
			results <- r
		}
	}()
	if err := reporter.Report(results); err != nil {
		fmt.Fprintf(stderr, "runpolicy test: %s\n", oneline.Error(err))
		var below *cover.CoverageThresholdError
		if errors.As(err, &below) || code == exitTestFail {
			return exitTestFail
		}
		return exitTestError
	}
	if !ran {
		fmt.Fprintln(stderr, "runpolicy test: no tests found")
		return exitTestError
	}
	return code
}

// testFiles loads the modules and data under paths, plus the built-in
// bundle and the settings defaults of every policy's METADATA beneath them. With no paths, the built-in tree itself, tests included.
// own are the modules under paths (all of them with no paths).
func testFiles(paths []string) (modules, own map[string]*ast.Module, data map[string]any, err error) {
	ld := loader.NewFileLoader().WithRegoVersion(ast.RegoV1).WithProcessAnnotation(true)
	var res *loader.Result
	if len(paths) == 0 {
		res, err = ld.WithFS(policies.FS()).Filtered([]string{"."}, skipNonPolicy)
	} else {
		res, err = ld.Filtered(paths, skipNonPolicy)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	own = res.ParsedModules()
	if len(paths) == 0 || definesBuiltin(own) {
		return own, own, res.Documents, engine.ApplyDefaults(own, res.Documents)
	}
	modules = make(map[string]*ast.Module, len(own))
	for name, m := range own {
		modules[name] = m
	}
	builtin, err := policies.Bundle()
	if err != nil {
		return nil, nil, nil, err
	}
	bmods, data, err := engine.Modules([]engine.Bundle{{Name: engine.BuiltinName, Bundle: builtin}}, res.Documents)
	if err != nil {
		return nil, nil, nil, err
	}
	for name, m := range bmods {
		modules[name] = m
	}
	// The defaults the policies' METADATA declares, beneath every data
	// file, as eval and serve load them.
	return modules, own, data, engine.ApplyDefaults(modules, data)
}

// skipNonPolicy keeps Rego files and data documents; schemas, fixtures and
// Go test data under the same tree are not policy data.
func skipNonPolicy(abspath string, info fs.FileInfo, _ int) bool {
	if info.IsDir() {
		name := info.Name()
		return name == "testdata" || (strings.HasPrefix(name, ".") && name != "." && name != "..")
	}
	base := path.Base(abspath)
	return !(strings.HasSuffix(base, ".rego") || base == "data.json" || base == "data.yaml" || base == "data.yml")
}

// definesBuiltin reports whether the user's modules already include the
// built-in aggregator (the user passed the policies/ folder itself).
func definesBuiltin(modules map[string]*ast.Module) bool {
	for _, m := range modules {
		if m.Package.Path.String() == "data.runpolicy.main" {
			return true
		}
	}
	return false
}

// printErrors writes every load or compile error on its own line with its
// file:line, as `opa test` does: a summary of the first one hides the rest.
func printErrors(w io.Writer, err error) {
	lines := errorLines(err)
	for _, l := range lines {
		fmt.Fprintf(w, "runpolicy test: %s\n", l)
	}
}

func errorLines(err error) []string {
	var loadErrs loader.Errors
	if errors.As(err, &loadErrs) {
		var lines []string
		for _, e := range loadErrs {
			lines = append(lines, errorLines(e)...)
		}
		return lines
	}
	var astErrs ast.Errors
	if errors.As(err, &astErrs) {
		lines := make([]string, 0, len(astErrs))
		for _, e := range astErrs {
			lines = append(lines, strings.TrimSpace(e.Error()))
		}
		return lines
	}
	return []string{strings.TrimSpace(err.Error())}
}

// checkBundleDirs loads every folder under paths that holds a .manifest
// as `eval --policy` and `serve` would activate it beside the built-in
// bundle: manifest roots, reserved namespaces, root overlaps, compilation.
// A repository whose tests pass but which activation refuses must fail in
// CI, not at deploy time.
func checkBundleDirs(ctx context.Context, paths, allow []string, stderr io.Writer) int {
	code := exitOK
	for _, root := range paths {
		if info, err := os.Stat(root); err != nil || !info.IsDir() {
			continue // the loader reports it
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && skipNonPolicy(p, dirInfo{d}, 0) {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Name() != ".manifest" {
				return nil
			}
			dir := filepath.Dir(p)
			if _, err := newEngine(ctx, []string{dir}, nil, false, allow...); err != nil {
				fmt.Fprintf(stderr, "runpolicy test: eval and serve would refuse it: %s\n", oneline.Error(err))
				code = exitTestError
			}
			return nil
		})
		if err != nil {
			fmt.Fprintf(stderr, "runpolicy test: %v\n", err)
			code = exitTestError
		}
	}
	return code
}

// dirInfo adapts a fs.DirEntry to the fs.FileInfo skipNonPolicy takes.
type dirInfo struct{ fs.DirEntry }

func (d dirInfo) Size() int64        { return 0 }
func (d dirInfo) Mode() fs.FileMode  { return fs.ModeDir }
func (d dirInfo) ModTime() time.Time { return time.Time{} }
func (d dirInfo) Sys() any           { return nil }

// coverageReporter is OPA's JSONCoverageReporter (same output, same
// threshold error) limited to the files under test: OPA's counts every
// file a test touched, so the built-in policies beneath a team's would
// dilute its number.
type coverageReporter struct {
	cover     *cover.Cover
	modules   map[string]*ast.Module
	output    io.Writer
	threshold float64
	verbose   bool
}

func (r coverageReporter) Report(ch chan *tester.Result) error {
	var failures []*tester.Result
	for tr := range ch {
		if tr.Error != nil {
			return tr.Error
		}
		if tr.Fail {
			failures = append(failures, tr)
		}
	}
	if len(failures) > 0 {
		out := make(chan *tester.Result, len(failures))
		for _, f := range failures {
			out <- f
		}
		close(out)
		_ = tester.PrettyReporter{Output: r.output, Verbose: r.verbose, FailureLine: true}.Report(out)
		return fmt.Errorf("%d tests failed", len(failures))
	}
	report := r.cover.Report(r.modules)
	keep := map[string]bool{}
	for name, m := range r.modules {
		keep[name] = true
		if m.Package != nil && m.Package.Location != nil {
			keep[m.Package.Location.File] = true
		}
	}
	report.CoveredLines, report.NotCoveredLines, report.Coverage = 0, 0, 0
	for file, fr := range report.Files {
		if !keep[file] {
			delete(report.Files, file)
			continue
		}
		report.CoveredLines += fr.CoveredLines
		report.NotCoveredLines += fr.NotCoveredLines
	}
	if total := report.CoveredLines + report.NotCoveredLines; total > 0 {
		report.Coverage = 100 * float64(report.CoveredLines) / float64(total)
	}
	if report.Coverage < r.threshold {
		err := &cover.CoverageThresholdError{Coverage: report.Coverage, Threshold: r.threshold}
		if r.verbose {
			err.Report = &report
		}
		return err
	}
	enc := json.NewEncoder(r.output)
	enc.SetIndent("", "  ")
	return enc.Encode(report)
}
