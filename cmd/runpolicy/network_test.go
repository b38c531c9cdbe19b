package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPoliciesGetNoNetwork: `runpolicy eval` and `runpolicy test` refuse a
// policy that calls http.send unless --allow-builtin names it.
func TestPoliciesGetNoNetwork(t *testing.T) {
	dir := t.TempDir()
	policy := `package runpolicy.policies.caller

deny contains "x" if count(http.send({"method": "GET", "url": "http://127.0.0.1:1/"})) == 0
`
	test := `package runpolicy.policies.caller_test

test_nothing if true
`
	wf := filepath.Join(dir, "ci.yml")
	os.MkdirAll(filepath.Join(dir, "p"), 0o755)
	os.WriteFile(filepath.Join(dir, "p", "caller.rego"), []byte(policy), 0o644)
	os.WriteFile(filepath.Join(dir, "p", "caller_test.rego"), []byte(test), 0o644)
	os.WriteFile(wf, []byte("name: CI\non: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n"), 0o644)
	for _, args := range [][]string{
		{"eval", "--policy", filepath.Join(dir, "p"), wf},
		{"test", filepath.Join(dir, "p")},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, out, errOut := runBinary(t, args...)
			if code == exitOK || !strings.Contains(out+errOut, "http.send") {
				t.Fatalf("exit %d, want http.send refused\n%s\n%s", code, out, errOut)
			}
			code, out, errOut = runBinary(t, append(args, "--allow-builtin", "http.send")...)
			if strings.Contains(out+errOut, "undefined function") {
				t.Fatalf("allowed http.send still refused (exit %d)\n%s\n%s", code, out, errOut)
			}
		})
	}
}
