package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every command answers -h and --help with its usage on stdout and status 0,
// as linters and opa do; a CI step running `runpolicy eval -h` must not fail.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"--help"}, {"help"},
		{"eval", "-h"}, {"eval", "--help"}, {"eval", "ci.yml", "-h"},
		{"input", "-h"}, {"test", "-h"}, {"test", "--help"},
		{"serve", "-h"}, {"advisories", "-h"}, {"advisories", "import", "-h"},
		{"inventory", "-h"}, {"replay", "--help"},
	} {
		code, out, errOut := runBinary(t, args...)
		if code != 0 {
			t.Errorf("%v: exit %d, want 0\nstderr: %s", args, code, errOut)
		}
		if !strings.Contains(out, "Usage") {
			t.Errorf("%v: stdout lacks the usage:\n%s", args, out)
		}
	}
}

// A bad flag is still a usage error.
func TestBadFlagFails(t *testing.T) {
	code, _, errOut := runBinary(t, "eval", "--no-such-flag")
	if code != exitError || !strings.Contains(errOut, "no-such-flag") {
		t.Errorf("exit %d, stderr %q; want %d naming the flag", code, errOut, exitError)
	}
}

// The top-level usage lists every flag of every command, so `runpolicy -h`
// is a complete reference.
func TestUsageListsEveryFlag(t *testing.T) {
	_, top, _ := runBinary(t, "-h")
	flagName := regexp.MustCompile(`(?m)^  -(\S+)`)
	for _, cmd := range [][]string{{"eval"}, {"input"}, {"test"}, {"serve"}, {"advisories", "import"}, {"inventory"}, {"replay"}} {
		_, out, _ := runBinary(t, append(cmd, "-h")...)
		names := flagName.FindAllStringSubmatch(out, -1)
		if len(names) == 0 {
			t.Fatalf("%v -h lists no flags:\n%s", cmd, out)
		}
		for _, m := range names {
			dash := "--"
			if len(m[1]) == 1 {
				dash = "-"
			}
			if !strings.Contains(top, "["+dash+m[1]) && !strings.Contains(top, " "+dash+m[1]+" ") {
				t.Errorf("top-level usage lacks %v's flag %s%s", cmd, dash, m[1])
			}
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, errOut := runBinary(t, "version")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !regexp.MustCompile(`(?m)^runpolicy \S+`).MatchString(out) || !regexp.MustCompile(`(?m)^built-in policies builtin-[0-9a-f]+`).MatchString(out) {
		t.Errorf("version output lacks the module version or the bundle revision:\n%s", out)
	}
}

// Every load error is printed with its file:line, not a count of them.
func TestTestPrintsEveryLoadError(t *testing.T) {
	code, _, errOut := runBinary(t, "test", "testdata/test-load-errors")
	if code != exitTestError {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", code, exitTestError, errOut)
	}
	for _, want := range []string{"test-load-errors/a.rego:", "test-load-errors/b.rego:", "rego_parse_error"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "more lines") || strings.Contains(errOut, "errors occurred") {
		t.Errorf("stderr summarizes instead of listing:\n%s", errOut)
	}
}

// A policy repository whose .manifest roots do not cover its packages
// passes its own tests but is refused by eval and serve: test must refuse
// it too, or CI lets the mistake through.
func TestTestChecksManifestRoots(t *testing.T) {
	code, out, errOut := runBinary(t, "test", "testdata/test-wrong-roots")
	if code != exitTestError {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitTestError, out, errOut)
	}
	if !strings.Contains(errOut, "manifest roots [teamx] do not permit") {
		t.Errorf("stderr does not name the roots:\n%s", errOut)
	}
	// A bundle in a folder of the repository is checked too.
	repo := t.TempDir()
	for _, f := range []string{".manifest", "no_pr_target_checkout.rego", "no_pr_target_checkout_test.rego"} {
		copyFile(t, filepath.Join("testdata/test-wrong-roots", f), filepath.Join(repo, "policy", f))
	}
	code, _, errOut = runBinary(t, "test", repo)
	if code != exitTestError || !strings.Contains(errOut, "manifest roots [teamx] do not permit") {
		t.Errorf("nested bundle: exit %d, stderr:\n%s", code, errOut)
	}
	// The example repository, whose roots are right, still passes.
	if code, out, errOut := runBinary(t, "test", "../../examples/policy-repo"); code != exitOK {
		t.Errorf("examples/policy-repo: exit %d\n%s%s", code, out, errOut)
	}
}

// TestTestAppliesMetadataDefaults: runpolicy test sets the defaults a
// policy's METADATA declares, as eval and serve do; stock opa does not.
func TestTestAppliesMetadataDefaults(t *testing.T) {
	if code, out, errOut := runBinary(t, "test", "testdata/test-metadata-defaults"); code != exitOK {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}

// --format json and --coverage print what `opa test` prints, so tools
// written for opa read them; coverage counts the files under test only.
func TestTestJSONAndCoverage(t *testing.T) {
	const dir = "testdata/test-coverage"
	code, out, errOut := runBinary(t, "test", "--format", "json", dir)
	if code != exitOK {
		t.Fatalf("--format json: exit %d\n%s", code, errOut)
	}
	var results []struct {
		Package string `json:"package"`
		Name    string `json:"name"`
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil || len(results) != 1 || results[0].Name != "test_double" || results[0].Package != "data.cov_test" {
		t.Errorf("--format json: %v %+v\n%s", err, results, out)
	}

	code, out, errOut = runBinary(t, "test", "--coverage", dir)
	if code != exitOK {
		t.Fatalf("--coverage: exit %d\n%s", code, errOut)
	}
	var report struct {
		Files           map[string]json.RawMessage `json:"files"`
		CoveredLines    int                        `json:"covered_lines"`
		NotCoveredLines int                        `json:"not_covered_lines"`
		Coverage        float64                    `json:"coverage"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("--coverage: %v\n%s", err, out)
	}
	if len(report.Files) != 2 || report.Files[dir+"/cov.rego"] == nil {
		t.Errorf("--coverage files: %v, want only the two under test", keys(report.Files))
	}
	if report.CoveredLines != 2 || report.NotCoveredLines != 1 {
		t.Errorf("--coverage: covered %d, not covered %d; want 2 and 1 (triple is untested)", report.CoveredLines, report.NotCoveredLines)
	}

	code, _, errOut = runBinary(t, "test", "--threshold", "90", dir)
	if code != exitTestFail || !strings.Contains(errOut, "threshold not met") {
		t.Errorf("--threshold 90: exit %d, stderr %q; want %d and the threshold error", code, errOut, exitTestFail)
	}
	if code, _, errOut := runBinary(t, "test", "--threshold", "60", dir); code != exitOK {
		t.Errorf("--threshold 60: exit %d: %s", code, errOut)
	}
	if code, _, _ := runBinary(t, "test", "--format", "xml", dir); code != exitTestError {
		t.Errorf("--format xml: exit %d, want %d", code, exitTestError)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
