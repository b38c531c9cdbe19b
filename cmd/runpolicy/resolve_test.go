package main

import (
	"os"
	"path/filepath"
	"slices"
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

// The fixed version of every advisory on the built-in compromised list is
// allowed once the resolver has followed it into the actions it calls: the
// list must never block an advisory's own remedy. trivy-action v0.35.0 (the
// one tag GHSA-69fq-xp46-6x23 calls safe) pins setup-trivy at e6c2c5e3, an
// ordinary commit of setup-trivy's main branch; the action files are the
// real ones (test/testdata/corpus/SOURCES.md).
func TestEvalResolveFixedVersionsAreAllowed(t *testing.T) {
	gh := fakegithub.New(fakegithub.Options{})
	defer gh.Close()
	gh.AddPersonalToken("ghp_test")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(corpus, "actions", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// A commit published without a tag is one of its repository's main
	// branch (setup-trivy's e6c2c5e3 is), so that the impostor check finds
	// every commit where GitHub would.
	mainline := map[string][]string{}
	publish := func(repo, tag, sha, path string, content []byte) {
		if tag != "" {
			gh.SetRef(repo, tag, sha)
		} else if !slices.Contains(mainline[repo], sha) {
			mainline[repo] = append(mainline[repo], sha)
		}
		gh.SetFile(repo, sha, path, content)
	}
	node := []byte("name: x\nruns:\n  using: node20\n  main: index.js\n")
	publish("aquasecurity/trivy-action", "v0.35.0", "57a97c7e7821a5776cebc9bb87c984fa69cba8f1", "action.yaml", read("aquasecurity__trivy-action__v0.35.0__action.yaml"))
	publish("aquasecurity/setup-trivy", "", "e6c2c5e321ed9123bda567646e2f96565e34abe1", "action.yaml", read("aquasecurity__setup-trivy__e6c2c5e3__action.yaml"))
	publish("aquasecurity/setup-trivy", "v0.2.6", "3fb12ec12f41e471780db15c232d5dd185dcb514", "action.yaml", read("aquasecurity__setup-trivy__v0.2.6__action.yaml"))
	publish("tj-actions/changed-files", "v47.0.5", "22103cc46bda19c2b464ffe86db46df6922fd323", "action.yml", read("tj-actions__changed-files__v47.0.5__action.yml"))
	publish("tj-actions/changed-files", "v46.0.1", "2f7c5bfce28377bc069a65ba478de0a74aa0ca32", "action.yml", read("tj-actions__changed-files__v46.0.1__action.yml"))
	publish("reviewdog/action-setup", "v1.3.0", "3f401fe1d58fe77e10d665ab713057375e39b887", "action.yml", read("reviewdog__action-setup__3f401fe1__action.yml"))
	// What the setup-trivy commits call, pinned by SHA: node actions here.
	for _, ref := range []string{
		"actions/cache@0400d5f644dc74513175e3cd8d07132dd4860809", "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8",
		"actions/checkout@8e8c483db84b4bee98b60c0593521ed34d9990e8",
	} {
		repo, sha, _ := strings.Cut(ref, "@")
		publish(repo, "", sha, "action.yml", node)
	}
	for _, dir := range []string{"restore", "save"} {
		publish("actions/cache", "", "9255dc7a253b0ccc959486e2bca901246202afeb", dir+"/action.yml", node)
	}
	for repo, commits := range mainline {
		for i, sha := range commits {
			if i == 0 {
				gh.AddCommit(repo, sha)
			} else {
				gh.AddCommit(repo, sha, commits[i-1])
			}
		}
		gh.SetBranch(repo, "main", commits[len(commits)-1])
	}

	dir := t.TempDir()
	wf := filepath.Join(dir, "ci.yml")
	mustWrite(t, wf, `on: push
jobs:
  scan:
    runs-on: ubuntu-latest
    steps:
      - uses: aquasecurity/trivy-action@v0.35.0
      - uses: aquasecurity/setup-trivy@v0.2.6
      - uses: tj-actions/changed-files@v46.0.1
      - uses: tj-actions/changed-files@22103cc46bda19c2b464ffe86db46df6922fd323 # v47.0.5
      - uses: reviewdog/action-setup@v1.3.0
`)
	flags := []string{"eval", "--resolve", "--github-api-url", gh.URL(), "--github-token", "ghp_test"}
	code, out, errOut := runBinary(t, append(flags, wf)...)
	if code != exitOK || strings.Contains(out, "compromised_actions") || strings.Contains(out, "impostor_commits") {
		t.Fatalf("exit %d, want %d with no compromised_actions or impostor_commits finding (denied, or a callee left unchecked)\n%s%s", code, exitOK, out, errOut)
	}

	// The resolver did look inside: listing e6c2c5e3 again, as an addition,
	// denies trivy-action v0.35.0 through it.
	relisted := filepath.Join(dir, "relisted.yaml")
	mustWrite(t, relisted, `runpolicy:
  compromised_additions:
    actions:
      aquasecurity/setup-trivy:
        advisories: [GHSA-test]
        summary: ""
        all_versions: false
        commits: {e6c2c5e321ed9123bda567646e2f96565e34abe1: true}
        versions: {}
        ranges: []
`)
	code, out, errOut = runBinary(t, append(append(flags, "--data", relisted), wf)...)
	want := "ci.yml:6: DENY compromised_actions: aquasecurity/trivy-action@v0.35.0 → aquasecurity/setup-trivy@e6c2c5e321ed9123bda567646e2f96565e34abe1 is compromised"
	if code != exitDenied || !strings.Contains(out, want) {
		t.Fatalf("exit %d, want %d and %q\n%s%s", code, exitDenied, want, out, errOut)
	}
}
