package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// absPath is p, relative to this package, made absolute for a binary run
// in another directory.
func absPath(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestEvalInputReproducesTheDecision: the input document of a workflow,
// written to a file as the console downloads it, judged with eval --input
// and the same policy flags, gives the decision and the report the
// workflow got, in every format, with the same exit status. Only what
// needs the workflow's own bytes differs: the quoted lines and the
// columns that point into them.
func TestEvalInputReproducesTheDecision(t *testing.T) {
	event := absPath(t, corpus+"/payloads/workflow_run.completed.with-pull-requests.json")
	tests := []struct {
		name     string
		workflow string   // copied into the checkout at path
		path     string   // the workflow's path in the repository
		flags    []string // policy flags, given to both evaluations
		event    bool     // the run context comes from event
		wantCode int
	}{
		{name: "compromised actions", workflow: corpus + "/workflows/reviewdog__reviewdog__reviewdog.yml", path: ".github/workflows/reviewdog.yml", wantCode: exitDenied},
		// The event names the workflow .github/workflows/test.yml, as the
		// server's document does.
		{name: "run context from an event", workflow: corpus + "/workflows/ossf__scorecard__main.yml", path: ".github/workflows/test.yml", event: true, wantCode: exitOK},
		{name: "settings from --data", workflow: corpus + "/workflows/ossf__scorecard__main.yml", path: ".github/workflows/main.yml",
			flags: []string{"--data", absPath(t, "testdata/enforce-allow-list.yaml")}, wantCode: exitDenied},
		{name: "custom policy", workflow: "testdata/pr-target-checkout.yml", path: ".github/workflows/pr.yml",
			flags: []string{"--policy", absPath(t, "../../examples/custom-policy")}, wantCode: exitDenied},
		{name: "parse errors", workflow: "testdata/parse-error.yml", path: ".github/workflows/broken.yml", wantCode: exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			copyFile(t, absPath(t, tt.workflow), filepath.Join(dir, tt.path))
			var context []string
			if tt.event {
				context = []string{"--event", event}
			}
			code, doc, errOut := runBinaryWith(t, dir, "", append(append([]string{"input"}, context...), tt.path)...)
			if code != exitOK {
				t.Fatalf("input: exit %d: %s", code, errOut)
			}
			mustWrite(t, filepath.Join(dir, "input.json"), doc)

			for _, format := range []string{"json", "text", "github", "sarif"} {
				fileArgs := append(append(append([]string{"eval", "--format", format}, tt.flags...), context...), tt.path)
				inputArgs := append(append([]string{"eval", "--format", format}, tt.flags...), "--input", "input.json")
				fileCode, fromFile, fileErr := runBinaryWith(t, dir, "", fileArgs...)
				inputCode, fromInput, inputErr := runBinaryWith(t, dir, "", inputArgs...)
				if fileCode != tt.wantCode || inputCode != tt.wantCode {
					t.Fatalf("%s: exit %d from the file, %d from --input, want %d\n%s\n%s", format, fileCode, inputCode, tt.wantCode, fileErr, inputErr)
				}
				if inputErr != "" {
					t.Errorf("%s: --input wrote on stderr: %s", format, inputErr)
				}
				if got, want := comparable(t, format, fromInput), comparable(t, format, fromFile); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: --input reports\n%v\nthe workflow file\n%v", format, got, want)
				}
			}
		})
	}
}

// comparable is an eval report without what only the workflow's own
// bytes give: quoted lines, columns, and the count of references not
// looked inside (which is about building the document).
func comparable(t *testing.T, format, out string) any {
	t.Helper()
	switch format {
	case "json", "sarif":
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%s output: %v\n%s", format, err, out)
		}
		return withoutKeys(v, "not_looked_inside", "startColumn", "endColumn")
	case "github":
		return regexp.MustCompile(`,col=\d+`).ReplaceAllString(out, "")
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "  ") && !strings.Contains(l, "not looked inside") {
			lines = append(lines, l)
		}
	}
	return lines
}

func withoutKeys(v any, keys ...string) any {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range keys {
			delete(x, k)
		}
		for k := range x {
			x[k] = withoutKeys(x[k], keys...)
		}
	case []any:
		for i := range x {
			x[i] = withoutKeys(x[i], keys...)
		}
	}
	return v
}

// The document is judged as it is: nothing is read from the workflow it
// names, nor normalized again.
func TestEvalInputJudgesTheDocumentAsIs(t *testing.T) {
	code, out, errOut := runBinary(t, "input", corpus+"/workflows/reviewdog__reviewdog__reviewdog.yml")
	if code != exitOK {
		t.Fatalf("input: exit %d: %s", code, errOut)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	// A path where there is no file, and a use the workflow does not have.
	doc["workflow"].(map[string]any)["path"] = ".github/workflows/elsewhere.yml"
	uses := doc["uses"].([]any)
	for _, u := range uses {
		u := u.(map[string]any)
		if u["raw"] == "reviewdog/action-setup@v1" {
			u["raw"], u["ref"] = "reviewdog/action-setup@v9", "v9"
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "input.json")
	mustWrite(t, file, string(b))
	code, out, errOut = runBinary(t, "eval", "--input", file)
	if code != exitDenied {
		t.Fatalf("exit %d, want %d: %s", code, exitDenied, errOut)
	}
	for _, want := range []string{".github/workflows/elsewhere.yml:", "reviewdog/action-setup@v9 is not on the allowed list"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "action-setup@v1 ") {
		t.Errorf("the report names what the document no longer holds:\n%s", out)
	}
	// Code scanning gets the path in the repository as recorded, not one
	// made relative to the checkout this runs in (this package's folder).
	_, out, _ = runBinary(t, "eval", "--input", file, "--format", "sarif")
	if n := strings.Count(out, `"uri": ".github/workflows/elsewhere.yml"`); n == 0 || n != strings.Count(out, `"uri":`) {
		t.Errorf("SARIF URIs are not the recorded path:\n%s", out)
	}
}

// eval --input refuses, with one line and status 2, a file that is no
// input document and what it cannot be combined with.
func TestEvalInputRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		mustWrite(t, p, body)
		return p
	}
	doc := write("input.json", `{"schema_version": 1, "workflow": {"path": ".github/workflows/ci.yml"}}`)
	workflow := absPath(t, corpus+"/workflows/ossf__scorecard__main.yml")
	tests := []struct {
		name string
		args []string
		want string // in the error line
	}{
		{"not JSON", []string{"--input", write("yaml.json", "schema_version: 1\n")}, "yaml.json: not JSON: invalid character"},
		{"a JSON array", []string{"--input", write("array.json", `[{"schema_version": 1}]`)}, "array.json: not an input document: want a JSON object, got an array"},
		{"two documents", []string{"--input", write("two.json", `{} {}`)}, "two.json: more than one JSON value"},
		{"an empty object", []string{"--input", write("object.json", `{}`)}, "object.json: not an input document of schema_version 1 (it says 0)"},
		{"another version", []string{"--input", write("v99.json", `{"schema_version": 99, "workflow": {"path": "ci.yml"}}`)}, "v99.json: not an input document of schema_version 1 (it says 99)"},
		{"no workflow", []string{"--input", write("nowf.json", `{"schema_version": 1}`)}, "nowf.json: not an input document: no workflow.path"},
		{"a field of the wrong type", []string{"--input", write("jobs.json", `{"schema_version": 1, "workflow": {"path": "ci.yml"}, "jobs": 5}`)},
			"jobs.json: not an input document: json: cannot unmarshal number into Go struct field Document.jobs"},
		{"a decision-log entry", []string{"--input", write("log.json", `{"decision_id": "x", "input": {"schema_version": 1}, "result": {}}`)},
			"log.json: not an input document of schema_version 1 (it says 0)"},
		{"empty", []string{"--input", write("empty.json", "")}, "empty.json: empty"},
		{"a missing file", []string{"--input", filepath.Join(dir, "missing.json")}, "missing.json: no such file or directory"},
		{"a directory", []string{"--input", dir}, "is a directory"},
		{"and a workflow file", []string{"--input", doc, workflow}, "not workflow files: drop " + workflow},
		{"and a workflow file first", []string{workflow, "--input", doc}, "not workflow files"},
		{"and --event", []string{"--input", doc, "--event", workflow}, "--event does not apply"},
		{"and --base", []string{"--input", doc, "--base", workflow}, "--base does not apply"},
		{"and --resolve", []string{"--input", doc, "--resolve", "--repo-root", dir}, "--repo-root, --resolve do not apply"},
		{"no file", []string{"--input="}, "--input wants a file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runBinary(t, append([]string{"eval"}, tt.args...)...)
			if code != exitError {
				t.Errorf("exit %d, want %d", code, exitError)
			}
			if !strings.HasPrefix(errOut, "runpolicy: ") || strings.Count(errOut, "\n") != 1 || !strings.HasSuffix(errOut, "\n") {
				t.Errorf("stderr is not one error line: %q", errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q lacks %q", errOut, tt.want)
			}
			if out != "" {
				t.Errorf("stdout: %q", out)
			}
		})
	}
}

// A file too large is refused before it is read whole.
func TestEvalInputTooLarge(t *testing.T) {
	file := filepath.Join(t.TempDir(), "large.json")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxInputFile + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	code, _, errOut := runBinary(t, "eval", "--input", file)
	if code != exitError || errOut != "runpolicy: input "+file+": larger than 64 MiB\n" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
