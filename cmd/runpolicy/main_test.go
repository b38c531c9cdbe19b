package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/runpolicy/runpolicy/engine"
)

// corpus is the repo's copy of the shared corpus.
const corpus = "../../test/testdata/corpus"

// binary is the runpolicy binary built once for the tests that run it as a
// user would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runpolicy-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "runpolicy")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runBinary runs the built binary and returns its exit code and output.
func runBinary(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runBinaryWith(t, "", "", args...)
}

func TestEvalBinaryExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		// wantOut must appear in stdout.
		wantOut []string
	}{
		{
			name:     "compromised reviewdog action is denied",
			args:     []string{"eval", corpus + "/workflows/reviewdog__reviewdog__reviewdog.yml"},
			wantCode: exitDenied,
			wantOut:  []string{"reviewdog__reviewdog__reviewdog.yml:", "DENY compromised_actions", "reviewdog/action-setup@v1", "GHSA-qmg3-hpqr-gqvc", "1 denied"},
		},
		{
			name:     "pinned, hardened workflow is allowed",
			args:     []string{"eval", corpus + "/workflows/ossf__scorecard__main.yml"},
			wantCode: exitOK,
			wantOut:  []string{"1 workflow, allowed: 0 enforced violations"},
		},
		{
			name:     "flags after the file",
			args:     []string{"eval", corpus + "/workflows/ossf__scorecard__main.yml", "--format", "json"},
			wantCode: exitOK,
			wantOut:  []string{`"allow": true`},
		},
		{
			name:     "custom policy from a directory",
			args:     []string{"eval", "--policy", "../../examples/custom-policy", "testdata/pr-target-checkout.yml"},
			wantCode: exitDenied,
			wantOut:  []string{"pr-target-checkout.yml:7: DENY no_pr_target_checkout"},
		},
		{
			name:     "custom policy not loaded",
			args:     []string{"eval", "testdata/pr-target-checkout.yml"},
			wantCode: exitOK,
		},
		{
			name:     "data file turns a dry-run policy into enforce",
			args:     []string{"eval", "--data", "testdata/enforce-allow-list.yaml", corpus + "/workflows/ossf__scorecard__main.yml"},
			wantCode: exitDenied,
			wantOut:  []string{"DENY allowed_actions: step-security/harden-runner@"},
		},
		{
			name:     "any denied workflow denies the call",
			args:     []string{"eval", corpus + "/workflows/ossf__scorecard__main.yml", corpus + "/workflows/reviewdog__reviewdog__reviewdog.yml"},
			wantCode: exitDenied,
			wantOut:  []string{"2 workflows, 1 denied"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runBinary(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestEvalJSONIsTheDecision(t *testing.T) {
	code, out, errOut := runBinary(t, "eval", "--format", "json", corpus+"/workflows/reviewdog__reviewdog__reviewdog.yml")
	if code != exitDenied {
		t.Fatalf("exit code = %d, want %d: %s", code, exitDenied, errOut)
	}
	var results []result
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(results) != 1 || results[0].Allow {
		t.Fatalf("want one denied result, got %+v", results)
	}
	var found bool
	for _, v := range results[0].Violations {
		if v.Policy == "compromised_actions" && v.Mode == "enforce" && v.Line > 0 && strings.Contains(v.Uses, "reviewdog/action-setup") {
			found = true
		}
	}
	if !found {
		t.Errorf("no enforced compromised_actions violation with a line for reviewdog/action-setup: %+v", results[0].Violations)
	}
}

// An exception that takes an entry off the compromised list is said on
// stderr in every format, and listed in the JSON decision, as the App logs
// and records it: a run it lets through must not pass unseen.
func TestEvalSaysCompromisedExceptions(t *testing.T) {
	dir := t.TempDir()
	wf := filepath.Join(dir, "ci.yml")
	settings := filepath.Join(dir, "settings.yaml")
	mustWrite(t, wf, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: tj-actions/changed-files@v44\n")
	mustWrite(t, settings, "runpolicy:\n  settings:\n    compromised_actions:\n      exceptions: [{advisory: GHSA-mrrh-fwg8-r2c3, reason: vendored copy reviewed}]\n")
	if code, _, _ := runBinary(t, "eval", wf); code != exitDenied {
		t.Fatalf("without the exception: exit %d, want %d (denied)", code, exitDenied)
	}
	// The same through the workflow's input document (eval --input).
	code, doc, errOut := runBinary(t, "input", wf)
	if code != exitOK {
		t.Fatalf("input: exit %d: %s", code, errOut)
	}
	recorded := filepath.Join(dir, "input.json")
	mustWrite(t, recorded, doc)
	const line = "runpolicy: compromised-list exception for GHSA-mrrh-fwg8-r2c3 in force (reason: vendored copy reviewed): tj-actions/changed-files not checked against the compromised list\n"
	for _, judged := range [][]string{{wf}, {"--input", recorded}} {
		for _, format := range []string{"text", "json", "sarif", "github"} {
			code, out, errOut := runBinary(t, append([]string{"eval", "--format", format, "--data", settings}, judged...)...)
			if code != exitOK {
				t.Fatalf("%v %s: exit %d, want %d\nstderr: %s", judged, format, code, exitOK, errOut)
			}
			if strings.Count(errOut, line) != 1 {
				t.Errorf("%v %s: stderr lacks, once, %q:\n%s", judged, format, line, errOut)
			}
			if format != "json" {
				continue
			}
			var results []result
			if err := json.Unmarshal([]byte(out), &results); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			want := []engine.Exception{{Advisory: "GHSA-mrrh-fwg8-r2c3", Reason: "vendored copy reviewed", Actions: []string{"tj-actions/changed-files"}}}
			if len(results) != 1 || !reflect.DeepEqual(results[0].CompromisedExceptions, want) {
				t.Errorf("%v: compromised_exceptions = %+v, want %+v", judged, results, want)
			}
		}
	}
}

func TestEvalSARIF(t *testing.T) {
	_, out, _ := runBinary(t, "eval", "--format", "sarif", corpus+"/workflows/reviewdog__reviewdog__reviewdog.yml")
	var doc struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc.Version != "2.1.0" || len(doc.Runs) != 1 {
		t.Fatalf("not a SARIF 2.1.0 log: %s", out)
	}
	var errorLevel bool
	for _, r := range doc.Runs[0].Results {
		if r.RuleID == "compromised_actions" && r.Level == "error" {
			errorLevel = true
		}
	}
	if !errorLevel {
		t.Errorf("no error-level compromised_actions result: %s", out)
	}
}

// TestBadInput checks that every kind of bad input gets exit code 2 and a
// single line naming the file and the cause.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var bomb strings.Builder
	bomb.WriteString("on: push\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	for i := 'b'; i <= 'j'; i++ {
		prev := string(i - 1)
		bomb.WriteString(string(i) + ": &" + string(i) + " [*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + "]\n")
	}
	bomb.WriteString("jobs:\n  x:\n    runs-on: *j\n    steps: [{run: echo}]\n")
	huge := bytes.Repeat([]byte("# padding line for a very large workflow file\n"), 20<<20/46)
	huge = append([]byte("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n"), huge...)

	payload := write("payload.json", []byte(`{"action": "created", "comment": {}}`))
	good := corpus + "/workflows/ossf__scorecard__main.yml"
	tests := []struct {
		name string
		args []string
		// named must appear in the one-line error.
		named string
	}{
		{"not YAML", []string{"eval", write("bad.yml", []byte("on: [push\njobs: {"))}, "bad.yml"},
		{"YAML but not a workflow", []string{"eval", write("list.yml", []byte("- a\n- b\n"))}, "list.yml"},
		{"empty file", []string{"eval", write("empty.yml", nil)}, "empty.yml"},
		{"binary file", []string{"eval", write("bin.yml", []byte{0x7f, 'E', 'L', 'F', 0, 1, 2, 0xff, 0xfe})}, "bin.yml"},
		{"20 MB file", []string{"eval", write("huge.yml", huge)}, "huge.yml"},
		{"alias bomb", []string{"eval", write("bomb.yml", []byte(bomb.String()))}, "bomb.yml"},
		{"deep nesting", []string{"eval", write("deep.yml", []byte("on: push\njobs: "+strings.Repeat("[", 10000)+strings.Repeat("]", 10000)+"\n"))}, "deep.yml"},
		{"missing file", []string{"eval", filepath.Join(dir, "nope.yml")}, "nope.yml"},
		{"payload not JSON", []string{"eval", "--event", write("p.json", []byte("not json")), good}, "p.json"},
		{"payload not a workflow event", []string{"eval", "--event", payload, good}, "payload.json"},
		{"unknown format", []string{"eval", "--format", "xml", good}, "xml"},
		{"bad data file", []string{"eval", "--data", write("settings.yaml", []byte("runpolicy: [")), good}, "settings.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runBinary(t, tt.args...)
			if code != exitError {
				t.Fatalf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, exitError, out, errOut)
			}
			msg := strings.TrimRight(errOut, "\n")
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans several lines:\n%s", errOut)
			}
			if !strings.Contains(msg, tt.named) {
				t.Errorf("error %q does not name %q", msg, tt.named)
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
				t.Errorf("stack trace on stderr:\n%s", errOut)
			}
		})
	}
}

func TestInputPrintsDocument(t *testing.T) {
	code, out, errOut := runBinary(t, "input", "--event", corpus+"/payloads/workflow_run.requested.json", corpus+"/workflows/ossf__scorecard__main.yml")
	if code != exitOK {
		t.Fatalf("exit code %d: %s", code, errOut)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc["schema_version"] != float64(1) {
		t.Errorf("schema_version = %v", doc["schema_version"])
	}
	ev, _ := doc["event"].(map[string]any)
	if ev["name"] != "workflow_run" || ev["action"] != "requested" {
		t.Errorf("event = %v, want workflow_run/requested", ev)
	}
}

func TestTestCommandRunsBuiltinTests(t *testing.T) {
	code, out, errOut := runBinary(t, "test")
	if code != exitOK {
		t.Fatalf("exit code %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "PASS:") {
		t.Errorf("no PASS summary:\n%s", out)
	}
}

func TestTestCommandReportsFailure(t *testing.T) {
	dir := t.TempDir()
	policy := `package runpolicy.policies.team_rule

import rego.v1

deny contains {"message": "always"} if input.workflow.name == "CI"
`
	test := `package runpolicy.policies.team_rule_test

import rego.v1

import data.runpolicy.policies.team_rule

test_denies_ci if count(team_rule.deny) == 1 with input as {"workflow": {"name": "CI"}}

test_wrong if count(team_rule.deny) == 0 with input as {"workflow": {"name": "CI"}}
`
	os.WriteFile(filepath.Join(dir, "rule.rego"), []byte(policy), 0o644)
	os.WriteFile(filepath.Join(dir, "rule_test.rego"), []byte(test), 0o644)
	code, out, errOut := runBinary(t, "test", dir)
	if code != exitTestFail {
		t.Fatalf("exit code = %d, want %d\n%s\n%s", code, exitTestFail, out, errOut)
	}
	if !strings.Contains(out, "test_wrong") || !strings.Contains(out, "FAIL: 1/2") {
		t.Errorf("output does not report the failing test:\n%s", out)
	}
}

// TestEvalSecretExfiltration runs a real payload moved to a feature branch:
// a workflow that reads secrets is denied while it differs from the default
// branch's copy, and allowed when --base shows it is unchanged.
func TestEvalSecretExfiltration(t *testing.T) {
	raw, err := os.ReadFile(corpus + "/payloads/workflow_run.requested.json")
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(raw, &payload); err != nil {
		t.Fatal(err)
	}
	payload["workflow_run"].(map[string]any)["head_branch"] = "feature/exfil"
	b, _ := json.Marshal(payload)
	event := filepath.Join(t.TempDir(), "feature.json")
	if err := os.WriteFile(event, b, 0o644); err != nil {
		t.Fatal(err)
	}
	workflow := corpus + "/workflows/palantir__policy-bot__build.yml"

	code, out, errOut := runBinary(t, "eval", "--event", event, workflow)
	if code != exitDenied || !strings.Contains(out, "DENY secret_exfiltration") {
		t.Fatalf("modified workflow on a feature branch: exit %d, want %d with a secret_exfiltration deny\n%s%s", code, exitDenied, out, errOut)
	}
	code, out, errOut = runBinary(t, "eval", "--event", event, "--base", workflow, workflow)
	if code != exitOK || strings.Contains(out, "secret_exfiltration") {
		t.Fatalf("unchanged workflow: exit %d, want %d without secret_exfiltration\n%s%s", code, exitOK, out, errOut)
	}
}
