package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/runpolicy/runpolicy/engine"
)

// TestEvalTextQuotesTheLine checks that each finding is followed by the
// workflow line it is about, with carets under the reference, and that the
// finding's first line is unchanged for those who grep it.
func TestEvalTextQuotesTheLine(t *testing.T) {
	code, out, errOut := runBinary(t, "eval", "--policy", "../../examples/custom-policy", "testdata/pr-target-checkout.yml")
	if code != exitDenied {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitDenied, out, errOut)
	}
	want := "testdata/pr-target-checkout.yml:7: DENY no_pr_target_checkout: job build checks out the pull request head" +
		" (ref: ${{ github.event.pull_request.head.sha }}) in a pull_request_target workflow," +
		" where it runs with this repository's secrets: check out the base branch, or build the pull request in a pull_request workflow\n" +
		"  7 |       - uses: actions/checkout@v4\n" +
		"    |               ^^^^^^^^^^^^^^^^^^^\n"
	if !strings.Contains(out, want) {
		t.Errorf("stdout lacks\n%s\ngot:\n%s", want, out)
	}
	// A job-level finding points at the job's key.
	if !strings.Contains(out, "testdata/pr-target-checkout.yml:4: DRY-RUN harden_runner: job build has no step-security/harden-runner step") ||
		!strings.Contains(out, "  4 |   build:\n    |   ^^^^^^\n") {
		t.Errorf("job-level finding not quoted at the job key:\n%s", out)
	}
}

// TestEvalParseErrorsQuoted checks that actionlint's parse errors are
// quoted at their column in text, and reported, without denying, in the
// other formats.
func TestEvalParseErrorsQuoted(t *testing.T) {
	code, out, errOut := runBinary(t, "eval", "testdata/parse-error.yml")
	if code != exitOK {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitOK, out, errOut)
	}
	want := "testdata/parse-error.yml:5:22: parse error: expecting a single ${{...}} expression or float number literal, but found plain text node\n" +
		"  5 |     timeout-minutes: abc\n" +
		"    |                      ^\n"
	if !strings.Contains(out, want) {
		t.Errorf("stdout lacks\n%s\ngot:\n%s", want, out)
	}
	_, out, _ = runBinary(t, "eval", "--format", "github", "--repo-root", "../..", "testdata/parse-error.yml")
	if !strings.Contains(out, "::warning file=cmd/runpolicy/testdata/parse-error.yml,line=9,col=9,title=runpolicy parse error::unexpected key \"bogus\"") {
		t.Errorf("no parse error warning with the path from the repository root:\n%s", out)
	}
	_, out, _ = runBinary(t, "eval", "--format", "sarif", "--repo-root", "../..", "testdata/parse-error.yml")
	var log sarifLog
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	var n int
	for _, r := range log.Runs[0].Results {
		if r.RuleID == "parse_error" {
			n++
			if r.Level != "warning" || r.Locations[0].PhysicalLocation.ArtifactLocation.URI != "cmd/runpolicy/testdata/parse-error.yml" {
				t.Errorf("parse error result %+v", r)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d parse_error results, want 2:\n%s", n, out)
	}
}

func TestSpan(t *testing.T) {
	src := []string{"      - uses: a/b@v10 # not a/b@v1", "  build:", "", "      - uses: a/b@v1"}
	tests := []struct {
		v          engine.Violation
		col, width int
	}{
		{engine.Violation{Line: 1, Uses: "a/b@v1"}, 29, 6},
		{engine.Violation{Line: 1, Uses: "a/b@v10"}, 15, 7},
		{engine.Violation{Line: 1, Uses: "c/d@v1"}, 9, 26},
		{engine.Violation{Line: 2}, 3, 6},
		{engine.Violation{Line: 3}, 0, 0},
		{engine.Violation{Line: 4, Uses: "a/b@v1"}, 15, 6},
		{engine.Violation{Line: 5}, 0, 0},
		{engine.Violation{}, 0, 0},
	}
	for _, tt := range tests {
		if col, width := span(src, tt.v); col != tt.col || width != tt.width {
			t.Errorf("span(%+v) = %d, %d, want %d, %d", tt.v, col, width, tt.col, tt.width)
		}
	}
}

// TestEvalTextQuoteIsPrintable checks that the quoted line cannot carry
// control characters to the terminal and that carets count characters,
// not bytes.
func TestEvalTextQuoteIsPrintable(t *testing.T) {
	dir := t.TempDir()
	wf := filepath.Join(dir, "ci.yml")
	src := "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - {name: \"été\",\tuses: tj-actions/changed-files@v44}\n"
	if err := os.WriteFile(wf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out, errOut := runBinary(t, "eval", wf)
	want := "  6 |       - {name: \"été\", uses: tj-actions/changed-files@v44}\n" +
		"    |                             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
	if !strings.Contains(out, want) {
		t.Errorf("stdout lacks\n%s\ngot:\n%s%s", want, out, errOut)
	}
	if got := printable("a\x1b[31mb\x7fc\td"); got != "a?[31mb?c d" {
		t.Errorf("printable = %q", got)
	}
}

// escapePolicy is a custom policy whose message and title need escaping in
// workflow commands, with a METADATA severity.
const escapePolicy = `# METADATA
# title: Escapes
# description: Reports a message that would end a workflow command.
# related_resources:
#   - ref: https://example.com/escapes
# custom:
#   severity: high
package runpolicy.policies.escapes

deny contains {"message": "100% bad,\nsecond: line\r", "line": 1} if {
	input.workflow
}
`

func writeEscapePolicy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "escapes.rego"), []byte(escapePolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestEvalGitHubFormat(t *testing.T) {
	dir := t.TempDir()
	// A file name with the characters that end a property value.
	wf := filepath.Join(dir, "a,b:c%.yml")
	src, err := os.ReadFile("testdata/pr-target-checkout.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wf, src, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runBinary(t, "eval", "--format", "github", "--repo-root", dir,
		"--policy", "../../examples/custom-policy", "--policy", writeEscapePolicy(t), wf)
	if code != exitDenied {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitDenied, out, errOut)
	}
	for _, want := range []string{
		"::error file=a%2Cb%3Ac%25.yml,line=7,col=15,title=runpolicy DENY no_pr_target_checkout::job build checks out the pull request head (ref: ${{ github.event.pull_request.head.sha }}) in",
		"::warning file=a%2Cb%3Ac%25.yml,line=4,col=3,title=runpolicy DRY-RUN harden_runner::job build has no",
		"::error file=a%2Cb%3Ac%25.yml,line=1,col=1,title=runpolicy DENY escapes::100%25 bad,%0Asecond: line%0D\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(line, "::error ") && !strings.HasPrefix(line, "::warning ") && !strings.HasPrefix(line, "::notice ") {
			t.Errorf("not a workflow command: %q", line)
		}
	}
}

func TestEscapeWorkflowCommand(t *testing.T) {
	tests := []struct{ in, data, prop string }{
		{"plain", "plain", "plain"},
		{"100%", "100%25", "100%25"},
		{"a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"k:v,w", "k:v,w", "k%3Av%2Cw"},
		{"%0A", "%250A", "%250A"},
		{"::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"},
	}
	for _, tt := range tests {
		if got := escapeData(tt.in); got != tt.data {
			t.Errorf("escapeData(%q) = %q, want %q", tt.in, got, tt.data)
		}
		if got := escapeProperty(tt.in); got != tt.prop {
			t.Errorf("escapeProperty(%q) = %q, want %q", tt.in, got, tt.prop)
		}
	}
}

// sarifLog is the part of a SARIF log the tests read.
type sarifLog struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Rules []struct {
					ID               string `json:"id"`
					ShortDescription struct {
						Text string `json:"text"`
					} `json:"shortDescription"`
					FullDescription *struct {
						Text string `json:"text"`
					} `json:"fullDescription"`
					Help *struct {
						Text     string `json:"text"`
						Markdown string `json:"markdown"`
					} `json:"help"`
					HelpURI    string         `json:"helpUri"`
					Properties map[string]any `json:"properties"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Level     string `json:"level"`
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
					Region struct {
						StartLine   int `json:"startLine"`
						StartColumn int `json:"startColumn"`
						EndColumn   int `json:"endColumn"`
					} `json:"region"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
		} `json:"results"`
	} `json:"runs"`
}

// TestEvalSARIFSchema validates the SARIF output against the SARIF 2.1.0
// JSON schema (testdata/sarif/SOURCE.md), with OPA's json.match_schema so
// no validator is added to the module graph.
func TestEvalSARIFSchema(t *testing.T) {
	schema, err := os.ReadFile("testdata/sarif/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{corpus + "/workflows/reviewdog__reviewdog__reviewdog.yml"},
		{"--policy", writeEscapePolicy(t), "testdata/pr-target-checkout.yml"},
		{corpus + "/workflows/ossf__scorecard__main.yml"},
		{"testdata/parse-error.yml"},
	} {
		_, out, errOut := runBinary(t, append([]string{"eval", "--format", "sarif"}, args...)...)
		var doc, sch any
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v: not JSON: %v\n%s", args, err, errOut)
		}
		if err := json.Unmarshal(schema, &sch); err != nil {
			t.Fatal(err)
		}
		rs, err := rego.New(
			rego.Query("x := json.match_schema(input.doc, input.schema)"),
			rego.Input(map[string]any{"doc": doc, "schema": sch}),
		).Eval(context.Background())
		if err != nil || len(rs) != 1 {
			t.Fatalf("match_schema: %v %v", rs, err)
		}
		res := rs[0].Bindings["x"].([]any)
		if ok, _ := res[0].(bool); !ok {
			t.Errorf("%v: SARIF output does not match the schema: %v", args, res[1])
		}
	}
	// The validator must reject what the schema forbids, or the check
	// above proves nothing.
	rs, err := rego.New(
		rego.Query(`x := json.match_schema({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}, input)`),
		rego.Input(func() any { var s any; _ = json.Unmarshal(schema, &s); return s }()),
	).Eval(context.Background())
	if err != nil || len(rs) != 1 {
		t.Fatalf("match_schema: %v %v", rs, err)
	}
	if ok, _ := rs[0].Bindings["x"].([]any)[0].(bool); ok {
		t.Error("a driver without a name matched the schema")
	}
}

// TestEvalSARIFForCodeScanning checks what GitHub code scanning needs:
// URIs from the repository root, fingerprints that do not move with the
// line, rule help and security-severity from METADATA, and columns.
func TestEvalSARIFForCodeScanning(t *testing.T) {
	repo := t.TempDir()
	wfDir := filepath.Join(repo, ".github", "workflows")
	if err := os.MkdirAll(wfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("testdata/pr-target-checkout.yml")
	if err != nil {
		t.Fatal(err)
	}
	wf := filepath.Join(wfDir, "ci.yml")
	if err := os.WriteFile(wf, src, 0o644); err != nil {
		t.Fatal(err)
	}
	eval := func() sarifLog {
		t.Helper()
		_, out, errOut := runBinary(t, "eval", "--format", "sarif", "--repo-root", repo,
			"--policy", "../../examples/custom-policy", "--policy", writeEscapePolicy(t), wf)
		var log sarifLog
		if err := json.Unmarshal([]byte(out), &log); err != nil || len(log.Runs) != 1 {
			t.Fatalf("not a SARIF log: %v\n%s%s", err, out, errOut)
		}
		return log
	}
	log := eval()
	run := log.Runs[0]
	rules := map[string]int{}
	for i, r := range run.Tool.Driver.Rules {
		rules[r.ID] = i
	}
	// Every loaded policy is a rule, with help from its METADATA.
	for _, id := range []string{"compromised_actions", "harden_runner", "no_pr_target_checkout", "escapes", "workflow_syntax"} {
		i, ok := rules[id]
		if !ok {
			t.Fatalf("no rule %s", id)
		}
		r := run.Tool.Driver.Rules[i]
		if r.ShortDescription.Text == "" || r.FullDescription == nil || r.Help == nil || !strings.HasPrefix(r.HelpURI, "https://") {
			t.Errorf("rule %s lacks help from its METADATA: %+v", id, r)
		}
		if s, _ := r.Properties["security-severity"].(string); s == "" {
			t.Errorf("rule %s has no security-severity", id)
		}
	}
	cp := run.Tool.Driver.Rules[rules["no_pr_target_checkout"]]
	if cp.ShortDescription.Text != "No pull request checkout in pull_request_target" ||
		cp.HelpURI != "https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/" {
		t.Errorf("custom policy's rule not from its METADATA: %+v", cp)
	}
	if s := run.Tool.Driver.Rules[rules["escapes"]].Properties["security-severity"]; s != "8.0" {
		t.Errorf("custom.severity high gave security-severity %v, want 8.0", s)
	}
	if s := run.Tool.Driver.Rules[rules["compromised_actions"]].Properties["security-severity"]; s != "9.8" {
		t.Errorf("compromised_actions security-severity %v, want 9.8", s)
	}
	var found bool
	fps := map[string]bool{}
	for _, r := range run.Results {
		loc := r.Locations[0].PhysicalLocation
		if loc.ArtifactLocation.URI != ".github/workflows/ci.yml" {
			t.Errorf("%s: uri %q, want .github/workflows/ci.yml", r.RuleID, loc.ArtifactLocation.URI)
		}
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("%s: ruleIndex %d names %s", r.RuleID, r.RuleIndex, run.Tool.Driver.Rules[r.RuleIndex].ID)
		}
		fp := r.PartialFingerprints["runpolicyFinding/v1"]
		if fp == "" || fps[fp] {
			t.Errorf("%s: fingerprint %q missing or not unique", r.RuleID, fp)
		}
		fps[fp] = true
		if r.RuleID == "no_pr_target_checkout" {
			found = true
			if loc.Region.StartLine != 7 || loc.Region.StartColumn != 15 || loc.Region.EndColumn != 34 {
				t.Errorf("region %+v, want line 7, columns 15-34 (actions/checkout@v4)", loc.Region)
			}
			if r.Level != "error" {
				t.Errorf("level %s, want error", r.Level)
			}
		}
	}
	if !found {
		t.Fatal("no no_pr_target_checkout result")
	}
	// A line added above every finding moves them, not their fingerprints.
	if err := os.WriteFile(wf, append([]byte("# a comment\n"), src...), 0o644); err != nil {
		t.Fatal(err)
	}
	moved := eval()
	for _, r := range moved.Runs[0].Results {
		if !fps[r.PartialFingerprints["runpolicyFinding/v1"]] {
			t.Errorf("%s: fingerprint changed when the line moved", r.RuleID)
		}
	}
}

// A finding's message carries text from the workflow (here an escape
// sequence in a uses: reference): the text format cannot pass it to the
// terminal, any more than the quoted line.
func TestEvalTextMessageIsPrintable(t *testing.T) {
	wf := filepath.Join(t.TempDir(), "ci.yml")
	src := "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: \"evil\\e[2J/x@v1\"\n"
	if err := os.WriteFile(wf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out, errOut := runBinary(t, "eval", wf)
	if strings.ContainsRune(out, '\x1b') || !strings.Contains(out, "evil?[2J/x@v1") {
		t.Errorf("stdout carries the escape, or lacks the finding:\n%q\n%s", out, errOut)
	}
}
