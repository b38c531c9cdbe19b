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
	if !strings.Contains(stderr, "3 files read, 4 GitHub Actions packages imported, 0 malformed") {
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
