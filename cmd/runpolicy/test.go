package main

import (
	"context"
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
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/runpolicy/runpolicy/engine"
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
	paths, err := parseInterspersed(fs, args, stdout)
	if err != nil {
		return flagExit(err, exitTestError)
	}
	if code := checkBundleDirs(ctx, paths, allow, stderr); code != exitOK {
		return code
	}
	modules, data, err := testFiles(paths)
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
	ch, err := tester.NewRunner().
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
	if err := (tester.PrettyReporter{Output: stdout, Verbose: *verbose, FailureLine: true}).Report(results); err != nil {
		fmt.Fprintf(stderr, "runpolicy test: %v\n", err)
		return exitTestError
	}
	if !ran {
		fmt.Fprintln(stderr, "runpolicy test: no tests found")
		return exitTestError
	}
	return code
}

// testFiles loads the modules and data under paths, plus the built-in
// bundle beneath them. With no paths, the built-in tree itself, tests included.
func testFiles(paths []string) (map[string]*ast.Module, map[string]any, error) {
	ld := loader.NewFileLoader().WithRegoVersion(ast.RegoV1).WithProcessAnnotation(true)
	var (
		res *loader.Result
		err error
	)
	if len(paths) == 0 {
		res, err = ld.WithFS(policies.FS()).Filtered([]string{"."}, skipNonPolicy)
	} else {
		res, err = ld.Filtered(paths, skipNonPolicy)
	}
	if err != nil {
		return nil, nil, err
	}
	modules := res.ParsedModules()
	if len(paths) == 0 || definesBuiltin(modules) {
		return modules, res.Documents, nil
	}
	builtin, err := policies.Bundle()
	if err != nil {
		return nil, nil, err
	}
	bmods, data, err := engine.Modules([]engine.Bundle{{Name: engine.BuiltinName, Bundle: builtin}}, res.Documents)
	if err != nil {
		return nil, nil, err
	}
	for name, m := range bmods {
		modules[name] = m
	}
	return modules, data, nil
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

// checkBundleDirs loads every path that holds a .manifest as `eval
// --policy` and `serve` would activate it beside the built-in bundle:
// manifest roots, reserved namespaces, root overlaps, compilation. A
// repository whose tests pass but which activation refuses must fail in CI,
// not at deploy time.
func checkBundleDirs(ctx context.Context, paths, allow []string, stderr io.Writer) int {
	for _, p := range paths {
		if _, err := os.Stat(filepath.Join(p, ".manifest")); err != nil {
			continue
		}
		if _, err := newEngine(ctx, []string{p}, nil, false, allow...); err != nil {
			fmt.Fprintf(stderr, "runpolicy test: eval and serve would refuse it: %s\n", oneLine(err))
			return exitTestError
		}
	}
	return exitOK
}
