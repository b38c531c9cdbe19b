package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runpolicy/runpolicy/test/fakegithub"
)

// TestEvalResolve follows a remote composite action and a local one through
// a fake GitHub API, as `eval --resolve --github-token` does against
// github.com: neither workflow names a compromised action itself, and both
// are denied once the resolver has looked inside. The local one is read
// from the checkout without --resolve too.
func TestEvalResolve(t *testing.T) {
	gh := fakegithub.New(fakegithub.Options{})
	defer gh.Close()
	gh.AddPersonalToken("ghp_test")
	const lintSHA = "1111111111111111111111111111111111111111"
	gh.SetRef("acme/lint", "v2", lintSHA)
	gh.SetFile("acme/lint", lintSHA, "action.yml", []byte(`name: lint
runs:
  using: composite
  steps:
    - uses: reviewdog/action-setup@v1
    - run: reviewdog -h
      shell: bash
`))

	repo := t.TempDir()
	mustWrite(t, filepath.Join(repo, ".github/workflows/remote.yml"), `on: push
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: acme/lint@v2
`)
	mustWrite(t, filepath.Join(repo, ".github/workflows/local.yml"), `on: push
jobs:
  changed:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./.github/actions/changed
`)
	mustWrite(t, filepath.Join(repo, ".github/workflows/self.yml"), `on: push
jobs:
  changed:
    runs-on: ubuntu-latest
    steps:
      - uses: $/.github/actions/changed
`)
	mustWrite(t, filepath.Join(repo, ".github/actions/changed/action.yml"), `name: changed
runs:
  using: composite
  steps:
    - uses: tj-actions/changed-files@v45
`)
	flags := []string{"--github-api-url", gh.URL(), "--github-token", "ghp_test"}
	tests := []struct {
		name, file string
		offline    int // exit code without --resolve
		want       []string
	}{
		{"remote composite", "remote.yml", exitOK, []string{"remote.yml:6: DENY compromised_actions", "acme/lint@v2 → reviewdog/action-setup@v1"}},
		{"local composite", "local.yml", exitDenied, []string{"local.yml:7: DENY compromised_actions", "tj-actions/changed-files@v45"}},
		{"self-repository composite", "self.yml", exitDenied, []string{"self.yml:6: DENY compromised_actions", "$/.github/actions/changed → tj-actions/changed-files@v45"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wf := filepath.Join(repo, ".github/workflows", tt.file)
			if code, out, errOut := runBinary(t, "eval", wf); code != tt.offline {
				t.Fatalf("without --resolve: exit %d, want %d (only the checkout is read)\n%s%s", code, tt.offline, out, errOut)
			}
			code, out, errOut := runBinary(t, append(append([]string{"eval", "--resolve"}, flags...), wf)...)
			if code != exitDenied {
				t.Fatalf("with --resolve: exit %d, want %d\n%s%s", code, exitDenied, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestEvalResolveBadToken(t *testing.T) {
	gh := fakegithub.New(fakegithub.Options{})
	defer gh.Close()
	wf := filepath.Join(t.TempDir(), "ci.yml")
	mustWrite(t, wf, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: acme/lint@v2\n")
	code, _, errOut := runBinary(t, "eval", "--resolve", "--github-api-url", gh.URL(), "--github-token", "wrong", wf)
	if code != exitError || !strings.Contains(errOut, "ci.yml") || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
		t.Fatalf("bad token: exit %d, want %d with one line naming the file: %q", code, exitError, errOut)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// eval --resolve runs the impostor check too: actions/checkout pinned to a
// commit of a fork (served under actions/checkout, as GitHub does) is denied.
func TestEvalResolveImpostorCommit(t *testing.T) {
	gh := fakegithub.New(fakegithub.Options{})
	defer gh.Close()
	gh.AddPersonalToken("ghp_test")
	root, fork := strings.Repeat("1", 40), strings.Repeat("f", 40)
	gh.AddCommit("actions/checkout", root)
	gh.SetBranch("actions/checkout", "main", root)
	gh.AddFork("attacker/checkout", "actions/checkout")
	gh.AddCommit("attacker/checkout", fork, root)
	gh.SetFile("attacker/checkout", fork, "action.yml", []byte("runs:\n  using: node20\n  main: steal.js\n"))
	gh.SetFile("actions/checkout", root, "action.yml", []byte("runs:\n  using: node20\n  main: index.js\n"))
	dir := t.TempDir()
	for _, tt := range []struct {
		ref  string
		code int
	}{{fork, exitDenied}, {root, exitOK}} {
		wf := filepath.Join(dir, ".github/workflows", tt.ref[:1]+".yml")
		mustWrite(t, wf, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@"+tt.ref+"\n")
		code, out, errOut := runBinary(t, "eval", "--resolve", "--github-api-url", gh.URL(), "--github-token", "ghp_test", wf)
		if code != tt.code {
			t.Errorf("actions/checkout@%s: exit %d, want %d\n%s%s", tt.ref[:7], code, tt.code, out, errOut)
		}
		if denied := strings.Contains(out, "DENY impostor_commits"); denied != (tt.code == exitDenied) {
			t.Errorf("actions/checkout@%s: output %q", tt.ref[:7], out)
		}
	}
}
