package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/webhook/resolve"
)

// result is the decision on one workflow file, as eval prints it.
type result struct {
	File        string             `json:"file"`
	Allow       bool               `json:"allow"`
	Violations  []engine.Violation `json:"violations"`
	Warnings    []engine.Violation `json:"warnings"`
	ParseErrors []input.ParseError `json:"parse_errors,omitempty"`
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("eval", stderr)
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
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return exitError
	}
	if len(files) == 0 {
		return fail(stderr, "eval: no workflow file given")
	}
	print, ok := printers[*format]
	if !ok {
		return fail(stderr, "eval: unknown --format %q (want %s)", *format, formats)
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
	eng, err := newEngine(ctx, policyPaths, dataPaths, *noBuiltin, allow...)
	if err != nil {
		return fail(stderr, "%v", err)
	}
	results := make([]result, 0, len(files))
	for _, f := range files {
		r, err := evalFile(ctx, eng, res, &rf, f, *eventPath, base, *basePath != "")
		if err != nil {
			return fail(stderr, "%v", err)
		}
		results = append(results, r)
	}
	if err := print(stdout, results, report{policies: eng.Policies(), repoRoot: rf.repoRoot}); err != nil {
		return fail(stderr, "write output: %v", err)
	}
	for _, r := range results {
		if !r.Allow {
			return exitDenied
		}
	}
	return exitOK
}

// evalFile normalizes and judges one workflow file.
func evalFile(ctx context.Context, eng *engine.Engine, res *resolve.Resolver, rf *resolveFlags, path, eventPath string, base []byte, hasBase bool) (result, error) {
	doc, err := document(ctx, res, rf, path, eventPath, base, hasBase)
	if err != nil {
		return result{}, err
	}
	d, err := eng.Eval(ctx, doc)
	if err != nil {
		return result{}, fmt.Errorf("%s: %s", path, oneLine(err))
	}
	return result{
		File:        path,
		Allow:       d.Allow,
		Violations:  d.Violations,
		Warnings:    d.Warnings,
		ParseErrors: doc.Workflow.ParseErrors,
	}, nil
}

// document reads and normalizes one workflow file with its run context,
// and follows its references: its own repository's from the checkout, and
// with --resolve the others through GitHub.
func document(ctx context.Context, res *resolve.Resolver, rf *resolveFlags, path, eventPath string, base []byte, hasBase bool) (*input.Document, error) {
	src, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	facts, err := input.Parse(path, src)
	if err != nil {
		return nil, fmt.Errorf("%s", oneLine(err))
	}
	c, err := runContext(eventPath, path, base, hasBase)
	if err != nil {
		return nil, err
	}
	doc := input.Build(facts, c)
	return resolveDocument(ctx, res, doc, path, rf.repoRoot, rf.enabled)
}

func runInput(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("input", stderr)
	eventPath := fs.String("event", "", "workflow_run or workflow_job webhook `PAYLOAD.json` giving the run context")
	basePath := fs.String("base", "", "the default branch's copy of the workflow `FILE`; decides workflow.modified")
	var rf resolveFlags
	rf.register(fs)
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return exitError
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
	doc, err := document(ctx, res, &rf, files[0], *eventPath, base, *basePath != "")
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
