package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/internal/bounded"
	"github.com/runpolicy/runpolicy/internal/oneline"
)

// eval --input judges an input document as the server recorded it and the
// console downloads it (the decision log's "input"), instead of workflow
// files: what reproduces a recorded decision with the same policies.

// explicitFlags names the flags given on the command line (not those left
// at their default, such as --github-token from $GITHUB_TOKEN).
func explicitFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// inputAlone refuses what --input cannot be combined with, rather than
// ignoring it: workflow files, and the flags that say how to build a
// document from one (--event, --base, --resolve…), which a recorded
// document already is. What judges the document and how the report is
// printed still apply.
func inputAlone(args []string, explicit map[string]bool) error {
	if len(args) > 0 {
		return fmt.Errorf("--input judges a recorded input document, not workflow files: drop %s", strings.Join(args, " "))
	}
	var others []string
	for name := range explicit {
		if !slices.Contains([]string{"input", "policy", "data", "no-builtin", "allow-builtin", "format"}, name) {
			others = append(others, "--"+name)
		}
	}
	if len(others) > 0 {
		sort.Strings(others)
		verb := "does"
		if len(others) > 1 {
			verb = "do"
		}
		return fmt.Errorf("--input judges a recorded input document, already built: %s %s not apply to it", strings.Join(others, ", "), verb)
	}
	return nil
}

// recorded is an input document read from a file.
type recorded struct {
	name  string // the file, for errors
	value ast.Value
	// path and parseErrors are the document's workflow.path and
	// workflow.parse_errors, for the report.
	path        string
	parseErrors []input.ParseError
}

// readRecorded reads an input document (path, or stdin for "-"): one JSON
// object, at most maxInputFile bytes. It is judged as it is, not normalized
// again: an older version may have written it, and the decision to
// reproduce was made on these bytes.
func readRecorded(path string, stdin io.Reader) (*recorded, error) {
	if path == "" {
		return nil, errors.New("input: --input wants a file (or - for stdin)")
	}
	var b []byte
	var err error
	if path == stdinName {
		b, err = bounded.ReadAll(stdin, maxInputFile)
	} else {
		b, err = readFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // numbers as written, as OPA reads JSON
	var doc any
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("input %s: empty, want a JSON input document", path)
		}
		return nil, fmt.Errorf("input %s: not JSON: %w", path, err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("input %s: not an input document: want a JSON object, got %s", path, jsonKind(doc))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("input %s: more than one JSON value; want one input document", path)
	}
	// Any other JSON object, a decision-log entry passed by mistake, would
	// be judged allowed: the document must have the shape and version of
	// one, field types included (fields it does not know are kept).
	var typed input.Document
	if err := json.Unmarshal(b, &typed); err != nil {
		return nil, fmt.Errorf("input %s: not an input document: %s", path, oneline.Error(err))
	}
	if typed.SchemaVersion != input.SchemaVersion {
		return nil, fmt.Errorf("input %s: not an input document of schema_version %d (it says %d)", path, input.SchemaVersion, typed.SchemaVersion)
	}
	if typed.Workflow.Path == "" {
		return nil, fmt.Errorf("input %s: not an input document: no workflow.path", path)
	}
	v, err := ast.InterfaceToValue(obj)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", path, err)
	}
	return &recorded{name: path, value: v, path: typed.Workflow.Path, parseErrors: typed.Workflow.ParseErrors}, nil
}

// jsonKind names the type of a decoded JSON value, for errors.
func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// judge evaluates the document. The result is reported under the
// workflow's path (the findings' lines are that workflow's), else under
// the file's name. The workflow itself is not at hand: no line is quoted.
func (r *recorded) judge(ctx context.Context, eng *engine.Engine) (result, error) {
	d, err := eng.EvalValue(ctx, r.value)
	if err != nil {
		return result{}, fmt.Errorf("input %s: %s", r.name, oneline.Error(err))
	}
	// The server records the path from the repository root, as code
	// scanning wants it; `runpolicy input` the path it was given.
	file, inRepo := printable(r.path), !filepath.IsAbs(r.path)
	if file == "" {
		file, inRepo = r.name, false
	}
	return result{
		File:        file,
		Allow:       d.Allow,
		Violations:  d.Violations,
		Warnings:    d.Warnings,
		ParseErrors: r.parseErrors,
		inRepo:      inRepo,

		CompromisedExceptions: d.Exceptions,
	}, nil
}
