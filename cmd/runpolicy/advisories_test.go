package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runAdvisoriesCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runAdvisories(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// The corpus advisories and the example overlay give the golden list of
// the advisory package, through the command line.
func TestAdvisoriesImportGolden(t *testing.T) {
	want, err := os.ReadFile("../../policies/advisory/testdata/import.golden")
	if err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(t.TempDir(), "data.json")
	code, stdout, stderr := runAdvisoriesCmd(t, "import", corpus+"/advisories", "--overlay", "../../policies/advisory/testdata/overlay.yaml", "-o", outFile)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	got, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("output differs from the golden list:\n%s", got)
	}
	if !strings.Contains(stderr, "4 files read, 5 GitHub Actions packages imported (4 compromised, 1 vulnerable), 0 malformed") {
		t.Errorf("stderr = %q", stderr)
	}
}

// A malformed record is reported with its file name and skipped; the rest
// is still written and the exit status is 1.
func TestAdvisoriesImportMalformed(t *testing.T) {
	dir := t.TempDir()
	good, _ := os.ReadFile(corpus + "/advisories/GHSA-qmg3-hpqr-gqvc.json")
	os.WriteFile(filepath.Join(dir, "good.json"), good, 0o644)
	os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"id": "GHSA-x", "affected": [`), 0o644)
	code, stdout, stderr := runAdvisoriesCmd(t, "import", dir)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr, filepath.Join(dir, "broken.json")+": not an OSV record") {
		t.Errorf("stderr does not name the broken file: %q", stderr)
	}
	if !strings.Contains(stdout, `"reviewdog/action-setup"`) {
		t.Errorf("the good record was lost: %s", stdout)
	}
}

func TestAdvisoriesUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", nil, "Usage: runpolicy advisories import"},
		{"unknown subcommand", []string{"export"}, "Usage: runpolicy advisories import"},
		{"no files", []string{"import"}, "no advisory file or directory given"},
		{"missing path", []string{"import", "does-not-exist"}, "does-not-exist"},
		{"bad overlay", []string{"import", corpus + "/advisories", "--overlay", corpus + "/compromised.md"}, "overlay " + corpus + "/compromised.md"},
		{"unwritable output", []string{"import", corpus + "/advisories", "-o", "/nonexistent-dir/x.json"}, "advisories import:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runAdvisoriesCmd(t, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

// Importing advisories never weakens the compromised list. GHSA-mcph-m25j-8j63
// is an ordinary command injection in tj-actions/changed-files (fixed in 41);
// imported alone or beside the compromise GHSA-mrrh-fwg8-r2c3 and loaded with
// --data, it used to replace the built-in entry's range, and @v44 passed. Now
// @v44 stays denied by compromised_actions, and @v40 gets a vulnerable_actions
// dry-run finding with the fix, never "rotate every secret".
func TestImportedAdvisoriesNeverWeakenTheList(t *testing.T) {
	dir := t.TempDir()
	wf := filepath.Join(dir, "ci.yml")
	mustWrite(t, wf, `on: push
jobs:
  changed:
    runs-on: ubuntu-latest
    steps:
      - uses: tj-actions/changed-files@v44
      - uses: tj-actions/changed-files@v40
      - uses: tj-actions/changed-files@v46.0.1
`)
	tests := []struct {
		name  string
		files []string
	}{
		{"the vulnerability alone", []string{"GHSA-mcph-m25j-8j63.json"}},
		{"beside the compromise", []string{"GHSA-mcph-m25j-8j63.json", "GHSA-mrrh-fwg8-r2c3.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"import", "-o", filepath.Join(dir, "advisories.json")}
			for _, f := range tt.files {
				args = append(args, corpus+"/advisories/"+f)
			}
			if code, _, stderr := runAdvisoriesCmd(t, args...); code != 0 {
				t.Fatalf("import: exit %d: %s", code, stderr)
			}
			code, out, errOut := runBinary(t, "eval", "--data", filepath.Join(dir, "advisories.json"), wf)
			if code != exitDenied {
				t.Fatalf("exit %d, want %d\n%s%s", code, exitDenied, out, errOut)
			}
			for _, want := range []string{
				"ci.yml:6: DENY compromised_actions: tj-actions/changed-files@v44 is compromised (GHSA-mrrh-fwg8-r2c3, CVE-2025-30066): tag v44 is in the affected range (up to 45.0.7)",
				"ci.yml:7: DENY compromised_actions: tj-actions/changed-files@v40 is compromised",
				"ci.yml:7: DRY-RUN vulnerable_actions: tj-actions/changed-files@v40 has a known vulnerability (GHSA-mcph-m25j-8j63, CVE-2023-51664): tag v40 is in the affected range (before 41). Upgrade to 41 or later",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "vulnerable_actions") && strings.Contains(line, "rotate") {
					t.Errorf("a vulnerability asks to rotate secrets: %s", line)
				}
				listed := strings.Contains(line, "compromised_actions") || strings.Contains(line, "vulnerable_actions")
				if listed && (strings.Contains(line, ":8: ") || (strings.Contains(line, "vulnerable_actions") && strings.Contains(line, "@v44"))) {
					t.Errorf("unexpected finding: %s", line)
				}
			}
		})
	}
}
