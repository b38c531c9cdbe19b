package test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runpolicy/runpolicy/test/harness"
)

// Issue 14, end to end: a run using actions/checkout pinned to a commit
// that exists only in a fork (which GitHub serves under actions/checkout)
// is cancelled by impostor_commits; the same action pinned to a commit of
// its own history passes.
func TestImpostorCommitIsCancelled(t *testing.T) {
	s := newStack(t, nil)
	root, v4, head, fork := sha(0xc0), sha(0xc4), sha(0xc5), sha(0xf0)
	f := s.gh.Fake
	f.AddCommit("actions/checkout", root)
	f.AddCommit("actions/checkout", v4, root)
	f.AddCommit("actions/checkout", head, v4)
	f.SetBranch("actions/checkout", "main", head)
	f.SetTag("actions/checkout", "v4", v4)
	f.AddFork("attacker/checkout", "actions/checkout")
	f.AddCommit("attacker/checkout", fork, v4)
	node := []byte("name: checkout\nruns:\n  using: node20\n  main: dist/index.js\n")
	f.SetFile("actions/checkout", root, "action.yml", node)
	f.SetFile("attacker/checkout", fork, "action.yml", []byte("name: checkout\nruns:\n  using: node20\n  main: dist/steal.js\n"))

	workflow := func(ref string) []byte {
		return []byte(fmt.Sprintf("name: build\non: pull_request\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@%s\n      - run: make test\n", ref))
	}
	t.Run("fork-only commit", func(t *testing.T) {
		s.t = t
		r := harness.Run{Repo: "acme/api", ID: 1401, HeadSHA: sha(1401), Path: ".github/workflows/build.yml", PullRequests: []int{14}, Installation: installation}
		src := workflow(fork)
		s.requested(r, src, src, "impostor-1")
		s.processed("impostor-1")
		d := s.only("impostor-1")
		if d.Result == nil {
			t.Fatalf("decision = %s", jsonOf(d))
		}
		var enforced []string
		for _, v := range d.Result.Violations {
			if v.Mode == "enforce" {
				enforced = append(enforced, fmt.Sprintf("%s:%d", v.Policy, v.Line))
			}
		}
		if d.Outcome != "deny" || !d.Cancel || fmt.Sprint(enforced) != "[impostor_commits:7]" {
			t.Errorf("decision = %s; want a denial by impostor_commits at line 7", jsonOf(d))
		}
		if n := s.calls("POST", cancelPath(r.Repo, r.ID)); n != 1 {
			t.Errorf("cancel calls = %d, want 1", n)
		}
		uses, _ := d.Input["uses"].([]any)
		if len(uses) != 1 || uses[0].(map[string]any)["impostor"] != true {
			t.Errorf("input.uses = %s; want impostor: true", jsonOf(uses))
		}
		if cs := s.gh.Fake.CheckRuns(); len(cs) != 1 || !strings.Contains(cs[0].Summary, "impostor commit") {
			t.Errorf("check runs = %s", jsonOf(cs))
		}
	})
	// Pinned to an annotated tag object (what `git rev-parse v4` prints):
	// GitHub runs the commit it points to, which is checked in its stead.
	f.SetFile("actions/checkout", v4, "action.yml", node)
	release := f.AddTagObject("actions/checkout", "v4", v4, "commit")
	forged := f.AddTagObject("attacker/checkout", "v4", fork, "commit")
	for i, tt := range []struct {
		name, tag, commit, outcome string
		impostor                   bool
	}{
		{"annotated tag object of a release", release, v4, "allow", false},
		{"a fork's annotated tag object", forged, fork, "deny", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s.t = t
			id := fmt.Sprintf("impostor-tag-%d", i)
			r := harness.Run{Repo: "acme/api", ID: int64(1403 + i), HeadSHA: sha(1403 + i), Path: ".github/workflows/build.yml", PullRequests: []int{16 + i}, Installation: installation}
			src := workflow(tt.tag)
			s.requested(r, src, src, id)
			s.processed(id)
			d := s.only(id)
			if d.Outcome != tt.outcome || d.Cancel != tt.impostor {
				t.Errorf("decision = %s; want %s", jsonOf(d), tt.outcome)
			}
			uses, _ := d.Input["uses"].([]any)
			if len(uses) != 1 || uses[0].(map[string]any)["impostor"] != tt.impostor || uses[0].(map[string]any)["resolved_sha"] != tt.commit {
				t.Errorf("input.uses = %s; want impostor: %v, resolved_sha %s", jsonOf(uses), tt.impostor, tt.commit)
			}
			if s.calls("GET", "/repos/actions/checkout/git/tags/"+tt.tag) == 0 {
				t.Errorf("the tag object %s was not looked up", tt.tag)
			}
		})
	}
	t.Run("commit of the repository's own history", func(t *testing.T) {
		s.t = t
		r := harness.Run{Repo: "acme/api", ID: 1402, HeadSHA: sha(1402), Path: ".github/workflows/build.yml", PullRequests: []int{15}, Installation: installation}
		src := workflow(root)
		s.requested(r, src, src, "impostor-2")
		s.processed("impostor-2")
		d := s.only("impostor-2")
		if d.Cancel || d.Outcome != "allow" {
			t.Errorf("decision = %s; want allowed", jsonOf(d))
		}
		uses, _ := d.Input["uses"].([]any)
		if len(uses) != 1 || uses[0].(map[string]any)["impostor"] != false {
			t.Errorf("input.uses = %s; want impostor: false", jsonOf(uses))
		}
		for _, p := range []string{"/repos/actions/checkout/tags", "/repos/actions/checkout/branches", "/repos/actions/checkout/compare/" + head + "..." + root} {
			if s.calls("GET", p) == 0 {
				t.Errorf("no call to %s", p)
			}
		}
	})
}

// Issue 15, end to end: a tag moved to a malicious commit after a run was
// requested is seen when the run's job is queued: the workflow_job
// delivery is judged on what the tag points to then, not on a cached
// lookup, and the run is cancelled.
func TestTagMovedBeforeTheJobIsJudgedOnTheNewCommit(t *testing.T) {
	s := newStack(t, nil)
	const malicious = "0e58ed8671d6b60d0890c21b07f8835ace038e67" // tj-actions/changed-files, March 2025
	good := sha(0x600d)
	f := s.gh.Fake
	f.SetTag("tj-actions/changed-files", "v46", good)
	f.SetFile("tj-actions/changed-files", good, "action.yml", []byte("name: changed\nruns:\n  using: node20\n  main: dist/index.js\n"))
	f.SetFile("tj-actions/changed-files", malicious, "action.yml", []byte("name: changed\nruns:\n  using: node20\n  main: dist/index.js\n"))
	src := []byte("name: changes\non: pull_request\njobs:\n  changes:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: tj-actions/changed-files@v46\n")
	r := harness.Run{Repo: "acme/api", ID: 1501, HeadSHA: sha(1501), Path: ".github/workflows/changes.yml", PullRequests: []int{16}, Installation: installation}
	s.requested(r, src, src, "moved-1")
	s.processed("moved-1")
	if d := s.only("moved-1"); d.Cancel || d.Result == nil {
		t.Fatalf("before the move: %s; want allowed", jsonOf(d))
	}

	f.SetTag("tj-actions/changed-files", "v46", malicious)
	job, err := harness.WorkflowJob(r, "queued", 1502, "changes", []string{"ubuntu-latest"})
	if err != nil {
		t.Fatal(err)
	}
	s.send("workflow_job", "moved-2", job)
	s.processed("moved-2")
	d := s.only("moved-2")
	denied := false
	for _, v := range d.Result.Violations {
		denied = denied || (v.Policy == "compromised_actions" && v.Mode == "enforce")
	}
	if !d.Cancel || !denied {
		t.Errorf("after the move: %s; want a denial by compromised_actions", jsonOf(d))
	}
	uses, _ := d.Input["uses"].([]any)
	if len(uses) == 0 || uses[0].(map[string]any)["resolved_sha"] != malicious {
		t.Errorf("input.uses = %s; want resolved_sha %s", jsonOf(uses), malicious)
	}
	if n := s.calls("POST", cancelPath(r.Repo, r.ID)); n != 1 {
		t.Errorf("cancel calls = %d, want 1", n)
	}
}
