package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/internal/oneline"
	"github.com/runpolicy/runpolicy/resolve"
)

// result is the decision on one workflow file, as eval prints it.
type result struct {
	File        string             `json:"file"`
	Allow       bool               `json:"allow"`
	Violations  []engine.Violation `json:"violations"`
	Warnings    []engine.Violation `json:"warnings"`
	ParseErrors []input.ParseError `json:"parse_errors,omitempty"`
	// NotLookedInside counts the distinct references to other
	// repositories (actions, reusable workflows) that were judged by name
	// only, without --resolve.
	NotLookedInside int `json:"not_looked_inside,omitempty"`
	// CompromisedExceptions are the compromised-list entries the settings
	// took off the list, as the App's decision lists them.
	CompromisedExceptions []engine.Exception `json:"compromised_exceptions,omitempty"`

	src []byte // the bytes judged, for quoting findings' lines
	// inRepo says File is already the path from the repository root (a
	// recorded document's workflow.path), as SARIF and annotations name it.
	inRepo bool
}

// uri is the result's file as code scanning and annotations name it: its
// path from the repository root (root, else the file's git top level).
func (r result) uri(root string) string {
	if r.inRepo {
		return filepath.ToSlash(r.File)
	}
	return repoRelative(r.File, root)
}

// defaultWorkflowDir is what eval judges when no file is given.
const defaultWorkflowDir = ".github/workflows"

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("eval", evalSynopsis+"\n       "+evalInputSynopsis, stderr)
	inputPath := fs.String("input", "", "judge a recorded input `DOCUMENT.json` (as the console downloads it; - for stdin) instead of workflow files")
	var policyPaths, dataPaths listFlag
	fs.Var(&policyPaths, "policy", "policy `PATH` added beside the built-in bundle: directory, .tar.gz bundle or git::URL (repeatable)")
	fs.Var(&dataPaths, "data", "settings `FILE` (JSON or YAML) merged over the defaults (repeatable)")
	eventPath := fs.String("event", "", "workflow_run or workflow_job webhook `PAYLOAD.json` giving the run context")
	basePath := fs.String("base", "", "the default branch's copy of the workflow `FILE`; decides workflow.modified")
	format := fs.String("format", "text", "output format: "+formats)
	noBuiltin := fs.Bool("no-builtin", false, "do not load the built-in policies")
	var allow listFlag
	fs.Var(&allow, "allow-builtin", "let policies call the network built-in `NAME` (http.send, net.lookup_ip_addr, …), refused by default (repeatable)")
	var rf resolveFlags
	rf.register(fs)
	args, err := parseInterspersed(fs, args, stdout)
	if err != nil {
		return flagExit(err, exitError)
	}
	print, ok := printers[*format]
	if !ok {
		return fail(stderr, "eval: unknown --format %q (want %s)", *format, formats)
	}
	if explicit := explicitFlags(fs); explicit["input"] {
		if err := inputAlone(args, explicit); err != nil {
			return fail(stderr, "eval: %v", err)
		}
		doc, err := readRecorded(*inputPath, os.Stdin)
		if err != nil {
			return fail(stderr, "%v", err)
		}
		_, eng, err := evalEngine(ctx, stderr, policyPaths, dataPaths, *noBuiltin, allow)
		if err != nil {
			return fail(stderr, "%v", err)
		}
		r, err := doc.judge(ctx, eng)
		if err != nil {
			return fail(stderr, "%v", err)
		}
		if err := print(stdout, []result{r}, report{policies: eng.Policies()}); err != nil {
			return fail(stderr, "write output: %v", err)
		}
		return status([]result{r}, false)
	}
	if len(args) == 0 {
		if info, err := os.Stat(defaultWorkflowDir); err != nil || !info.IsDir() {
			return fail(stderr, "eval: no workflow file given and no %s folder here", defaultWorkflowDir)
		}
		// The repository root: its workflows and its actions.
		args = []string{"."}
	}
	var base []byte
	if *basePath != "" {
		if base, err = readFile(*basePath); err != nil {
			return fail(stderr, "base %s: %v", *basePath, err)
		}
	}
	res, err := rf.resolver()
	if err != nil {
		return fail(stderr, "%v", err)
	}
	src, eng, err := evalEngine(ctx, stderr, policyPaths, dataPaths, *noBuiltin, allow)
	if err != nil {
		return fail(stderr, "%v", err)
	}
	// An action is judged on what its steps use. The job it is read into
	// is made up (see actionWorkflow): the job-level policies, whose
	// findings would be about that made-up job, are off for it.
	var actionEng *engine.Engine
	engineFor := func(f inputFile) (*engine.Engine, error) {
		if !f.action || *noBuiltin {
			return eng, nil
		}
		if actionEng == nil {
			if actionEng, err = src.engine(ctx, engine.WithData(jobPoliciesOff)); err != nil {
				return nil, err
			}
		}
		return actionEng, nil
	}
	files, failed := expandInputs(args, os.Stdin), false
	if *basePath != "" && len(files) != 1 {
		// --base is one file's default-branch copy: applied to several, it
		// would call the others unmodified or modified by mistake.
		return fail(stderr, "eval: --base is the copy of one workflow, but %d files are to be judged", len(files))
	}
	results := make([]result, 0, len(files))
	notLookedInside := map[string]bool{}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return fail(stderr, "eval: %v", err)
		}
		fileEng, err := engineFor(f)
		if err != nil {
			return fail(stderr, "%v", err)
		}
		r, skipped, err := evalFile(ctx, fileEng, res, &rf, f, *eventPath, base, *basePath != "")
		if errors.Is(err, errNotComposite) {
			// A JavaScript or Docker action runs its own code, no steps:
			// said, not judged, and not an error.
			fmt.Fprintf(stderr, "runpolicy: %v; no steps for the policies to judge\n", err)
			continue
		}
		if err != nil {
			// One bad file does not hide the others' findings: it is
			// reported, the rest is judged, and the status says it.
			fmt.Fprintf(stderr, "runpolicy: %v\n", err)
			failed = true
			continue
		}
		for _, s := range skipped {
			notLookedInside[s] = true
		}
		results = append(results, r)
	}
	if err := print(stdout, results, report{policies: eng.Policies(), repoRoot: rf.repoRoot}); err != nil {
		return fail(stderr, "write output: %v", err)
	}
	if n := len(notLookedInside); n > 0 {
		// One line, not one per finding: the references were judged by
		// name, but what they run was not read.
		w := stderr
		if *format == "text" {
			w = stdout
		}
		fmt.Fprintf(w, "%s not looked inside (remote actions and reusable workflows); --resolve follows them through the GitHub API\n", plural(n, "reference"))
	}
	return status(results, failed)
}

// status is eval's exit status: an error when a file could not be judged,
// else denied when any workflow is.
func status(results []result, failed bool) int {
	if failed {
		return exitError
	}
	for _, r := range results {
		if !r.Allow {
			return exitDenied
		}
	}
	return exitOK
}

// jobPoliciesOff turns off the built-in policies that judge a job itself
// (its runner, its first step) rather than what its steps use.
var jobPoliciesOff = map[string]any{"runpolicy": map[string]any{"settings": map[string]any{
	"harden_runner": map[string]any{"mode": "off"},
	"runner_labels": map[string]any{"mode": "off"},
}}}

// evalFile normalizes and judges one workflow or action file. skipped are
// the references to other repositories left unread (without --resolve).
func evalFile(ctx context.Context, eng *engine.Engine, res *resolve.Resolver, rf *resolveFlags, f inputFile, eventPath string, base []byte, hasBase bool) (result, []string, error) {
	doc, err := document(ctx, res, rf, f, eventPath, base, hasBase)
	if err != nil {
		return result{}, nil, err
	}
	d, err := eng.Eval(ctx, doc)
	if err != nil {
		return result{}, nil, fmt.Errorf("%s: %s", f.path, oneline.Error(err))
	}
	var skipped []string
	if !rf.enabled {
		skipped = remoteReferences(doc)
	}
	return result{
		File:                  f.path,
		Allow:                 d.Allow,
		Violations:            d.Violations,
		Warnings:              d.Warnings,
		ParseErrors:           doc.Workflow.ParseErrors,
		NotLookedInside:       len(skipped),
		CompromisedExceptions: d.Exceptions,
		src:                   f.src,
	}, skipped, nil
}

// evalEngine loads the policies and settings eval judges with, and says
// the compromised-list exceptions they put in force.
func evalEngine(ctx context.Context, stderr io.Writer, policyPaths, dataPaths []string, noBuiltin bool, allow []string) (*sources, *engine.Engine, error) {
	src, err := loadSources(ctx, policyPaths, dataPaths, noBuiltin, allow...)
	if err != nil {
		return nil, nil, err
	}
	eng, err := src.engine(ctx)
	if err != nil {
		return nil, nil, err
	}
	sayExceptions(stderr, eng.Exceptions())
	return src, eng, nil
}

// sayExceptions writes a line for each compromised-list exception in
// force, whatever the format: the entries it took off the list are not
// checked, which must not go unseen (the App logs it at every load).
func sayExceptions(w io.Writer, exceptions []engine.Exception) {
	for _, x := range exceptions {
		what := "no listed action is affected"
		if len(x.Actions) > 0 {
			what = strings.Join(x.Actions, ", ") + " not checked against the compromised list"
		}
		fmt.Fprintf(w, "runpolicy: compromised-list exception for %s in force (reason: %s): %s\n",
			oneLineString(x.Advisory), oneLineString(x.Reason), printable(what))
	}
}

// remoteReferences are the distinct actions and reusable workflows of
// other repositories the document uses: what --resolve would read.
func remoteReferences(doc *input.Document) []string {
	seen := map[string]bool{}
	var out []string
	for _, u := range doc.Uses {
		// ParseUses made ./, $/ and docker:// references local or docker.
		if u.Kind != input.KindAction && u.Kind != input.KindReusableWorkflow {
			continue
		}
		raw := strings.TrimSpace(u.Raw)
		if !seen[raw] {
			seen[raw] = true
			out = append(out, raw)
		}
	}
	return out
}

// document normalizes one workflow (or action) file with its run context,
// and follows its references: its own repository's from the checkout, and
// with --resolve the others through GitHub.
func document(ctx context.Context, res *resolve.Resolver, rf *resolveFlags, f inputFile, eventPath string, base []byte, hasBase bool) (*input.Document, error) {
	if f.err != nil {
		return nil, fmt.Errorf("%s: %v", f.path, f.err)
	}
	src := f.src
	if f.action {
		var err error
		if src, err = actionWorkflow(f.src); err != nil {
			return nil, fmt.Errorf("%s: %w", f.path, err)
		}
	}
	facts, err := input.Parse(f.path, src)
	if err != nil {
		return nil, fmt.Errorf("%s", oneline.Error(err))
	}
	c, err := runContext(eventPath, f.path, base, hasBase)
	if err != nil {
		return nil, err
	}
	doc := input.Build(facts, c)
	return resolveDocument(ctx, res, doc, f.path, rf.repoRoot, rf.enabled)
}

func runInput(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("input", inputSynopsis, stderr)
	eventPath := fs.String("event", "", "workflow_run or workflow_job webhook `PAYLOAD.json` giving the run context")
	basePath := fs.String("base", "", "the default branch's copy of the workflow `FILE`; decides workflow.modified")
	var rf resolveFlags
	rf.register(fs)
	files, err := parseInterspersed(fs, args, stdout)
	if err != nil {
		return flagExit(err, exitError)
	}
	res, err := rf.resolver()
	if err != nil {
		return fail(stderr, "%v", err)
	}
	if len(files) != 1 {
		return fail(stderr, "input: want exactly one workflow file, got %d", len(files))
	}
	var base []byte
	if *basePath != "" {
		if base, err = readFile(*basePath); err != nil {
			return fail(stderr, "base %s: %v", *basePath, err)
		}
	}
	f := readInput(files[0], os.Stdin) // a directory fails to read
	doc, err := document(ctx, res, &rf, f, *eventPath, base, *basePath != "")
	if err != nil {
		return fail(stderr, "%v", err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fail(stderr, "write output: %v", err)
	}
	return exitOK
}
