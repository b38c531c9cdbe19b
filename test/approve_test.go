package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/test/fakegithub"
	"github.com/runpolicy/runpolicy/test/harness"
)

// secretsWorkflow reads a secret: secret_exfiltration (enforce, approvable)
// denies it on a branch where it differs from the default branch's copy.
var secretsWorkflow = []byte(`name: Publish
on: pull_request
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: step-security/harden-runner@0634a2670c59f64b4a01f0f96f84700a4088b9f0
        with:
          egress-policy: audit
      - uses: actions/checkout@v4
      - run: npm publish
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
`)

// compromisedWithSecrets is denied by compromised_actions (never
// approvable) and by secret_exfiltration.
var compromisedWithSecrets = []byte(`name: Changes
on: pull_request
jobs:
  changes:
    runs-on: ubuntu-latest
    steps:
      - uses: step-security/harden-runner@0634a2670c59f64b4a01f0f96f84700a4088b9f0
        with:
          egress-policy: audit
      - uses: tj-actions/changed-files@v45
      - run: echo ${{ secrets.NPM_TOKEN }}
`)

// click is the check_run requested_action delivery GitHub sends when
// sender clicks the approve button of the check run reporting r's attempt.
func click(r harness.Run, checkRunID int64, sender string) []byte {
	owner, name, _ := strings.Cut(r.Repo, "/")
	body, _ := json.Marshal(map[string]any{
		"action": "requested_action",
		"check_run": map[string]any{"id": checkRunID, "external_id": fmt.Sprintf("run-%d-attempt-%d", r.ID, max(r.Attempt, 1)),
			"head_sha": r.HeadSHA, "name": "runpolicy / Publish", "status": "completed", "conclusion": "failure"},
		"requested_action": map[string]any{"identifier": "approve"},
		"repository": map[string]any{"full_name": r.Repo, "name": name, "owner": map[string]any{"login": owner},
			"default_branch": "main"},
		"sender":       map[string]any{"login": sender, "type": "User"},
		"installation": map[string]any{"id": installation},
	})
	return body
}

// checkRunOf returns the check run of a run attempt.
func checkRunOf(t *testing.T, s *stack, r harness.Run) fakegithub.CheckRun {
	t.Helper()
	ext := fmt.Sprintf("run-%d-attempt-%d", r.ID, max(r.Attempt, 1))
	for _, c := range s.gh.Fake.CheckRuns() {
		if c.Repo == r.Repo && c.ExternalID == ext {
			return c
		}
	}
	t.Fatalf("no check run %s", ext)
	return fakegithub.CheckRun{}
}

func commentsOn(s *stack, repo string, pr int) []fakegithub.Comment {
	var out []fakegithub.Comment
	for _, c := range s.gh.Fake.Comments() {
		if c.Repo == repo && c.Issue == pr {
			out = append(out, c)
		}
	}
	return out
}

// TestApproval: a maintainer's click approves the version of a workflow a
// run was cancelled for and re-runs it, and the re-run is allowed; a
// reader's click is refused; an edit of the workflow is a version the
// approval does not cover; a compromised action is never approvable; the
// pull request has one comment, updated; a forged click is refused.
func TestApproval(t *testing.T) {
	s := newStack(t, nil)
	s.gh.Fake.SetPermission("acme/pub", "mona", "maintain")
	s.gh.Fake.SetPermission("acme/pub", "rita", "read")
	base := []byte("name: Publish\non: pull_request\njobs: {}\n")
	r := harness.Run{Repo: "acme/pub", ID: 2001, HeadSHA: sha(2001), Path: ".github/workflows/publish.yml",
		PullRequests: []int{21}, Installation: installation}

	s.requested(r, secretsWorkflow, base, "pub-1")
	s.processed("pub-1")
	if d := s.only("pub-1"); d.Outcome != "deny" || !d.Cancel {
		t.Fatalf("first run: %s, want a cancelled deny", jsonOf(d))
	}
	cr := checkRunOf(t, s, r)
	if cr.Name != "runpolicy / Publish" || len(cr.Actions) != 1 || cr.Actions[0].Identifier != "approve" ||
		!strings.Contains(cr.Summary, "may approve") {
		t.Fatalf("check run of the cancelled run: %s, want the approve action", jsonOf(cr))
	}
	if c := commentsOn(s, "acme/pub", 21); len(c) != 1 {
		t.Fatalf("comments %s, want one", jsonOf(c))
	}

	t.Run("a forged click is refused", func(t *testing.T) {
		code, err := s.gh.SendWith(context.Background(), s.srv.URL, harness.Delivery{Event: "check_run", ID: "forged-1",
			Body: click(r, cr.ID, "mona")}, http.Header{"X-Hub-Signature-256": {signWith("not-the-secret", click(r, cr.ID, "mona"))}})
		if err != nil || code != 401 {
			t.Errorf("forged click: %d, %v; want 401", code, err)
		}
		var d delivery
		if code, _ := s.srv.Get(context.Background(), "/admin/deliveries/forged-1", adminToken, &d); code != 404 {
			t.Errorf("forged click recorded: %d %+v", code, d)
		}
	})

	t.Run("a reader's click is refused", func(t *testing.T) {
		if code := s.send("check_run", "click-rita", click(r, cr.ID, "rita")); code != 202 {
			t.Fatalf("click: %d", code)
		}
		if d := s.processed("click-rita"); d.Note != "recorded: refused" {
			t.Errorf("reader's click: %+v", d)
		}
		if n := s.calls("POST", fmt.Sprintf("/repos/acme/pub/actions/runs/%d/rerun", r.ID)); n != 0 {
			t.Errorf("%d re-runs after a reader's click", n)
		}
		cr := checkRunOf(t, s, r)
		if !strings.Contains(cr.Summary, "@rita asked to approve") || !strings.Contains(cr.Summary, "maintain or admin") ||
			len(cr.Actions) != 1 {
			t.Errorf("check run after a refused click: %s", jsonOf(cr))
		}
	})

	t.Run("a maintainer's click approves and re-runs; the re-run is allowed", func(t *testing.T) {
		reran := make(chan fakegithub.Run, 1)
		s.gh.Fake.OnRerun(func(run fakegithub.Run) { reran <- run })
		if code := s.send("check_run", "click-mona", click(r, cr.ID, "mona")); code != 202 {
			t.Fatalf("click: %d", code)
		}
		if d := s.processed("click-mona"); d.Note != "recorded: approved" {
			t.Fatalf("maintainer's click: %+v", d)
		}
		var again fakegithub.Run
		select {
		case again = <-reran:
		case <-time.After(10 * time.Second):
			t.Fatal("the run was not re-run")
		}
		cr := checkRunOf(t, s, r)
		if cr.Conclusion != "success" || !strings.Contains(cr.Title, "approved by @mona") || len(cr.Actions) != 0 {
			t.Errorf("check run after the approval: %s", jsonOf(cr))
		}
		comments := commentsOn(s, "acme/pub", 21)
		if len(comments) != 1 || !strings.Contains(comments[0].Body, "Approved by @mona") {
			t.Errorf("comments after the approval: %s", jsonOf(comments))
		}

		r2 := r
		r2.Attempt = again.Attempt
		s.requested(r2, secretsWorkflow, base, "pub-2")
		s.processed("pub-2")
		d := s.only("pub-2")
		if d.Outcome != "allow" || d.Cancel || d.Run.Attempt != 2 {
			t.Errorf("re-run: %s, want allowed", jsonOf(d))
		}
		if approvals, _ := d.Input["approvals"].([]any); len(approvals) != 1 {
			t.Errorf("re-run's input.approvals = %s, want the approval", jsonOf(d.Input["approvals"]))
		}
		if n := s.calls("POST", cancelPath("acme/pub", r.ID)); n != 1 {
			t.Errorf("%d cancels, want the first attempt's only", n)
		}
		var list []struct {
			Approval struct {
				Approver string            `json:"approver"`
				Files    map[string]string `json:"files"`
				Policies []string          `json:"policies"`
			} `json:"approval"`
			Active bool `json:"active"`
		}
		if code, err := s.srv.Get(context.Background(), "/admin/approvals?repository=acme/pub", adminToken, &list); err != nil || code != 200 ||
			len(list) != 1 || !list[0].Active || list[0].Approval.Approver != "mona" || list[0].Approval.Files[r.Path] == "" {
			t.Errorf("admin approvals: %d %v %+v", code, err, list)
		}
		events := s.decisions(url.Values{"repository": {"acme/pub"}, "run_id": {fmt.Sprint(r.ID)}})
		outcomes := map[string]int{}
		for _, e := range events {
			outcomes[e.Outcome]++
		}
		if outcomes["approved"] != 1 || outcomes["refused"] != 1 {
			t.Errorf("decision log outcomes %v, want an approval and a refusal", outcomes)
		}
	})

	t.Run("a later edit of the workflow is not covered", func(t *testing.T) {
		r3 := harness.Run{Repo: "acme/pub", ID: 2002, HeadSHA: sha(2002), Path: r.Path, PullRequests: []int{21}, Installation: installation}
		s.requested(r3, harness.Numbered(secretsWorkflow, 3), base, "pub-3")
		s.processed("pub-3")
		if d := s.only("pub-3"); d.Outcome != "deny" || !d.Cancel {
			t.Errorf("edited workflow: %s, want denied", jsonOf(d))
		}
		if n := s.calls("POST", cancelPath("acme/pub", r3.ID)); n != 1 {
			t.Errorf("edited workflow cancelled %d times, want 1", n)
		}
		comments := commentsOn(s, "acme/pub", 21)
		if len(comments) != 1 || !strings.Contains(comments[0].Body, "workflow run 2002") || commentsOf(s, "acme/pub", 21) != 1 {
			t.Errorf("comments: %s; want the one comment, updated to run 2002", jsonOf(comments))
		}
	})

	t.Run("a compromised action is never approvable", func(t *testing.T) {
		r4 := harness.Run{Repo: "acme/pub", ID: 2003, HeadSHA: sha(2003), Path: ".github/workflows/changes.yml",
			PullRequests: []int{22}, Installation: installation}
		s.requested(r4, compromisedWithSecrets, base, "pub-4")
		s.processed("pub-4")
		cr := checkRunOf(t, s, r4)
		if cr.Conclusion != "failure" || len(cr.Actions) != 0 || strings.Contains(cr.Summary, "may approve") {
			t.Errorf("check run of a compromised action: %s, want no approve action", jsonOf(cr))
		}
		if code := s.send("check_run", "click-compromised", click(r4, cr.ID, "mona")); code != 202 {
			t.Fatalf("click: %d", code)
		}
		if d := s.processed("click-compromised"); !strings.HasPrefix(d.Note, "skipped") {
			t.Errorf("click on a compromised action's run: %+v, want skipped", d)
		}
		if n := s.calls("POST", fmt.Sprintf("/repos/acme/pub/actions/runs/%d/rerun", r4.ID)); n != 0 {
			t.Errorf("%d re-runs of a compromised action's run", n)
		}
	})

	t.Run("a revoked approval covers nothing", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/admin/approvals/click-mona/revoke?by=security", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := harness.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
		r5 := harness.Run{Repo: "acme/pub", ID: 2005, HeadSHA: sha(2005), Path: r.Path, PullRequests: []int{23}, Installation: installation}
		s.requested(r5, secretsWorkflow, base, "pub-5")
		s.processed("pub-5")
		if d := s.only("pub-5"); d.Outcome != "deny" || !d.Cancel {
			t.Errorf("the approved version after the revoke: %s, want denied", jsonOf(d))
		}
		events := s.decisions(url.Values{"repository": {"acme/pub"}})
		revoked := 0
		for _, e := range events {
			if e.Outcome == "revoked" && e.Event == "approval_revoke" {
				revoked++
			}
		}
		if revoked != 1 {
			t.Errorf("%d revoke events in the decision log, want 1", revoked)
		}
	})
}
