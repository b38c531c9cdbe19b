package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/webhook/store"
)

var approvableWorkflow = []byte("on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: approvable/action@v1\n")

// TestJudgeHonoursCoveringApprovals: a run denied only by approvable
// findings is judged again with the approvals of its version; an approval
// of another version covers nothing, and a run with a finding no approval
// waives does not ask the store.
func TestJudgeHonoursCoveringApprovals(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		workflow []byte
		digest   func(string) string // the approved digest of the workflow, from the current one
		allow    bool
		lookups  int
	}{
		{"approved version", approvableWorkflow, func(d string) string { return d }, true, 1},
		{"another version", approvableWorkflow, func(string) string { return strings.Repeat("0", 64) }, false, 1},
		{"not approvable", deniedWorkflow, func(d string) string { return d }, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh, st, eng := newFakeGitHub(), newMemStore(), &fakeEngine{}
			gh.files[testRepo+"/"+testPath+"@"+testSHA] = tc.workflow
			j := newTestJudge(gh, st, eng)
			j.approvals = st
			st.approvals = []store.Approval{{ID: "click-1", Repository: testRepo, WorkflowPath: testPath,
				Files:    map[string]string{testPath: tc.digest(digest(tc.workflow))},
				Policies: []string{"harden_runner", "allowed_actions"}, Approver: "mona", CreatedAt: time.Now()}}
			req := mustRequest(t, runRequest, runDeliveryOf(t, "d1", runObject(42, 2, testPath, testRepo, 7)))
			v, err := j.decide(ctx, req, discard())
			if err != nil {
				t.Fatal(err)
			}
			if v.Result.Allow != tc.allow || st.lookups != tc.lookups {
				t.Errorf("allow %v after %d lookups, want %v after %d", v.Result.Allow, st.lookups, tc.allow, tc.lookups)
			}
			if tc.allow && (len(v.Input.Approvals) != 1 || v.Input.Approvals[0].Approver != "mona") {
				t.Errorf("input.approvals = %+v", v.Input.Approvals)
			}
		})
	}
}

// TestCoveringApprovals: an approval covers a version when every file the
// decision covers has the approved digest; an unreadable file is covered
// by none; an extra approved file does not matter.
func TestCoveringApprovals(t *testing.T) {
	sum := func(s string) *string { return &s }
	doc := docWith("wf", map[string]*string{"a/action.yml": sum("aa")})
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{"same", map[string]string{testPath: "wf", "a/action.yml": "aa"}, true},
		{"extra file", map[string]string{testPath: "wf", "a/action.yml": "aa", "b/action.yml": "bb"}, true},
		{"edited callee", map[string]string{testPath: "wf", "a/action.yml": "zz"}, false},
		{"callee missing", map[string]string{testPath: "wf"}, false},
		{"edited workflow", map[string]string{testPath: "xx", "a/action.yml": "aa"}, false},
	} {
		got := coveringApprovals(doc, []store.Approval{{ID: "a", Repository: testRepo, WorkflowPath: testPath, Files: tc.files}})
		if (len(got) == 1) != tc.want {
			t.Errorf("%s: covered %v, want %v", tc.name, len(got) == 1, tc.want)
		}
	}
	unreadable := docWith("wf", map[string]*string{"a/action.yml": nil})
	if got := coveringApprovals(unreadable, []store.Approval{{Repository: testRepo, WorkflowPath: testPath,
		Files: map[string]string{testPath: "wf", "a/action.yml": ""}}}); len(got) != 0 {
		t.Errorf("an unreadable file is covered: %+v", got)
	}
}

// approveFixture is a cancelled run whose enforced finding is approvable,
// reported on its check run and pull request 7, with its decision (and
// document) on record.
func approveFixture(t *testing.T, approvable bool) (*fakeGitHub, *memStore, approveHandler, *verdict) {
	t.Helper()
	gh, st := newFakeGitHub(), newMemStore()
	a := newTestActor(gh, st)
	v := testVerdict("decision-1", true, 7)
	v.Result.Violations[0].Approvable = approvable
	v.Input = docWith(digest(approvableWorkflow), nil)
	if _, err := st.SaveDecision(context.Background(), v.decision()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.act(context.Background(), v, discard()); err != nil {
		t.Fatal(err)
	}
	h := approveHandler{clients: func(int64) approveClient { return gh }, store: st, actor: a, role: "maintain", instance: "test"}
	return gh, st, h, v
}

func clickDelivery(t *testing.T, id, sender string) delivery {
	body, _ := json.Marshal(map[string]any{"action": "requested_action",
		"check_run":        map[string]any{"id": 101, "external_id": "run-42-attempt-1", "head_sha": testSHA},
		"requested_action": map[string]any{"identifier": approveIdentifier},
		"repository":       repoObject(), "sender": map[string]any{"login": sender}})
	d := testDelivery(id, "check_run", body)
	d.Action = "requested_action"
	return d
}

// TestApproveHandler: a maintainer's click records the approval of the
// version the decision covered, re-runs the run once and says so in the
// reports; a reader's click is refused with a note naming who may approve.
func TestApproveHandler(t *testing.T) {
	ctx := context.Background()
	gh, st, h, _ := approveFixture(t, true)
	gh.roles["rita"], gh.roles["mona"] = "triage", "maintain"

	o, err := h.Handle(ctx, clickDelivery(t, "click-rita", "rita"))
	if err != nil || o.note() != "recorded: refused" || len(st.approvals) != 0 || gh.count("rerun") != 0 {
		t.Fatalf("reader's click: %q, %v; approvals %d, calls %q", o.note(), err, len(st.approvals), gh.calls)
	}
	cr := gh.checks[101]
	if !strings.Contains(cr.Summary, "@rita asked to approve") || !strings.Contains(cr.Summary, "the maintain or admin permission") ||
		len(cr.Actions) != 1 || cr.Conclusion != "failure" {
		t.Errorf("check run after a refused click: %+v", cr)
	}

	for range 2 { // a redelivered click does it once
		o, err = h.Handle(ctx, clickDelivery(t, "click-mona", "mona"))
		if err != nil || o.note() != "recorded: approved" {
			t.Fatalf("maintainer's click: %q, %v", o.note(), err)
		}
	}
	if len(st.approvals) != 1 || gh.count("rerun 42") != 1 {
		t.Fatalf("approvals %+v, calls %q; want one approval, one re-run", st.approvals, gh.calls)
	}
	ap := st.approvals[0]
	if ap.Approver != "mona" || ap.Files[testPath] != digest(approvableWorkflow) || len(ap.Policies) != 1 || ap.Policies[0] != "allowed_actions" ||
		ap.DecisionID != "decision-1" || ap.RunID != 42 {
		t.Errorf("approval %+v", ap)
	}
	cr = gh.checks[101]
	if cr.Conclusion != "success" || !strings.Contains(cr.Title, "approved by @mona") || cr.Actions != nil {
		t.Errorf("check run after the approval: %+v", cr)
	}
	var comment string
	for _, c := range gh.comments {
		comment = c.body
	}
	if len(gh.comments) != 1 || !strings.Contains(comment, "Approved by @mona") {
		t.Errorf("comments %+v", gh.comments)
	}
}

// TestApproveHandlerNeverForTheUnapprovable: a click on a run whose
// findings are not all approvable (a compromised action) changes nothing,
// whoever clicks.
func TestApproveHandlerNeverForTheUnapprovable(t *testing.T) {
	gh, st, h, _ := approveFixture(t, false)
	gh.roles["mona"] = "admin"
	o, err := h.Handle(context.Background(), clickDelivery(t, "click-mona", "mona"))
	if err != nil || !strings.HasPrefix(o.note(), "skipped") || len(st.approvals) != 0 || gh.count("rerun") != 0 || gh.count("permission") != 0 {
		t.Errorf("click: %q, %v; approvals %d, calls %q", o.note(), err, len(st.approvals), gh.calls)
	}
}

// docWith is a document of testPath in testRepo with the workflow's digest
// and modified callees (nil: unreadable).
func docWith(workflow string, callees map[string]*string) *input.Document {
	doc := &input.Document{Repository: input.Repository{FullName: testRepo},
		Workflow: input.Workflow{Path: testPath, SHA256: workflow, Modified: true}}
	doc.Workflow.ModifiedFiles = []input.ModifiedFile{{Path: testPath, Change: input.ChangeDiffers, SHA256: &workflow}}
	for path, sum := range callees {
		doc.Workflow.ModifiedFiles = append(doc.Workflow.ModifiedFiles, input.ModifiedFile{Path: path, Uses: "./" + path,
			Change: input.ChangeDiffers, SHA256: sum})
	}
	return doc
}

// TestApproveHandlerExpiry: approval_expiry dates the approval a click
// records: it holds for that long after the click, or, without one, until
// it is revoked.
func TestApproveHandlerExpiry(t *testing.T) {
	for _, expiry := range []time.Duration{0, 24 * time.Hour} {
		gh, st, h, _ := approveFixture(t, true)
		gh.roles["mona"] = "maintain"
		h.expiry = expiry
		if o, err := h.Handle(context.Background(), clickDelivery(t, "click-mona", "mona")); err != nil || o.note() != "recorded: approved" {
			t.Fatalf("expiry %s: click %q, %v", expiry, o.note(), err)
		}
		if len(st.approvals) != 1 {
			t.Fatalf("expiry %s: %d approvals, want 1", expiry, len(st.approvals))
		}
		ap := st.approvals[0]
		later := ap.CreatedAt.Add(25 * time.Hour)
		if expiry == 0 && (!ap.ExpiresAt.IsZero() || !ap.Active(later)) {
			t.Errorf("no expiry: expires at %s, active a day later %v; want it never to expire", ap.ExpiresAt, ap.Active(later))
		}
		if expiry > 0 && (!ap.ExpiresAt.Equal(ap.CreatedAt.Add(expiry)) || !ap.Active(ap.CreatedAt.Add(time.Hour)) || ap.Active(later)) {
			t.Errorf("expiry %s: created %s, expires %s; want it to hold for %s", expiry, ap.CreatedAt, ap.ExpiresAt, expiry)
		}
	}
}

// TestApproveHandlerReadsTheRaisedReport: a dry-run decision writes the
// check run, a later deny of the run attempt (a job's at queue time)
// cancels the run and raises the check run to a cancelled report with the
// button; a maintainer's click approves what that report shows: the deny
// decision's waived findings and the files it judged, not the dry run's.
func TestApproveHandlerReadsTheRaisedReport(t *testing.T) {
	ctx := context.Background()
	gh, st := newFakeGitHub(), newMemStore()
	a := newTestActor(gh, st)
	gh.roles["mona"] = "maintain"
	sum := func(s string) *string { return &s }

	dry := testVerdict("decision-1", false, 7)
	dry.Input = docWith(strings.Repeat("1", 64), nil)
	job := testVerdict("decision-2", true, 7)
	job.Event = "workflow_job"
	job.Result.Violations[0] = engine.Violation{Policy: "harden_runner", Mode: engine.ModeEnforce, Approvable: true,
		Message: "job build does not harden its runner"}
	job.Input = docWith(digest(approvableWorkflow), map[string]*string{"a/action.yml": sum("aa")})
	for _, v := range []*verdict{dry, job} {
		if _, err := st.SaveDecision(ctx, v.decision()); err != nil {
			t.Fatal(err)
		}
		if _, err := a.act(ctx, v, discard()); err != nil {
			t.Fatal(err)
		}
	}
	if cr := gh.checks[101]; gh.count("update check run 101 failure") != 1 || len(cr.Actions) != 1 {
		t.Fatalf("calls %q, check run %+v: want the dry-run report raised to a cancelled one with the button", gh.calls, cr)
	}

	h := approveHandler{clients: func(int64) approveClient { return gh }, store: st, actor: a, role: "maintain", instance: "test"}
	o, err := h.Handle(ctx, clickDelivery(t, "click-mona", "mona"))
	if err != nil || o.note() != "recorded: approved" {
		t.Fatalf("maintainer's click on the raised report: %q, %v", o.note(), err)
	}
	if len(st.approvals) != 1 || gh.count("rerun 42") != 1 {
		t.Fatalf("approvals %+v, calls %q; want one approval, one re-run", st.approvals, gh.calls)
	}
	ap := st.approvals[0]
	wantFiles := map[string]string{testPath: digest(approvableWorkflow), "a/action.yml": "aa"}
	if ap.DecisionID != "decision-2" || !maps.Equal(ap.Files, wantFiles) || !slices.Equal(ap.Policies, []string{"harden_runner"}) ||
		!slices.Equal(ap.Findings, []string{"job build does not harden its runner"}) {
		t.Errorf("approval %+v; want decision-2's findings and files %v", ap, wantFiles)
	}
	cr := gh.checks[101]
	if cr.Conclusion != "success" || !strings.Contains(cr.Title, "approved by @mona") || cr.Actions != nil ||
		!strings.Contains(cr.Summary, "harden_runner") || !strings.Contains(cr.Summary, "Decision `decision-2`") {
		t.Errorf("check run after the approval: %+v; want decision-2's report, approved", cr)
	}
}

// saveFails is a store whose SaveDecision fails the first fails times.
type saveFails struct {
	*memStore
	fails int
}

func (s *saveFails) SaveDecision(ctx context.Context, d store.Decision) (store.Decision, error) {
	if s.fails > 0 {
		s.fails--
		return store.Decision{}, errors.New("database unreachable")
	}
	return s.memStore.SaveDecision(ctx, d)
}

// TestRevokeIsAlwaysLogged: a revoke whose event could not be written to
// the decision log is written by the retry, which finds the approval
// revoked already, as the first revoke did it (who, when); once, however
// often it is asked again.
func TestRevokeIsAlwaysLogged(t *testing.T) {
	ctx := context.Background()
	st := &saveFails{memStore: newMemStore(), fails: 1}
	st.approvals = []store.Approval{{ID: "click-1", Repository: testRepo, WorkflowPath: testPath, Approver: "mona", RunID: 42,
		DecisionID: "decision-1", CreatedAt: time.Now()}}
	if _, _, err := RevokeApproval(ctx, st, "test", "click-1", "security"); err == nil {
		t.Fatal("a revoke whose event was not logged: no error")
	}
	for _, by := range []string{"retry", "again"} {
		ap, revoked, err := RevokeApproval(ctx, st, "test", "click-1", by)
		if err != nil || revoked || ap.RevokedBy != "security" {
			t.Fatalf("revoke by %s: %+v, %v, %v; want already revoked by security", by, ap, revoked, err)
		}
	}
	d, err := st.DecisionForDelivery(ctx, "revoke-click-1")
	if err != nil || len(st.decisions) != 1 {
		t.Fatalf("decision log %+v, %v; want the revoke once", st.decisions, err)
	}
	var l approvalLog
	if err := d.DecodeLog(&l); err != nil {
		t.Fatal(err)
	}
	if l.Event != eventRevoke || l.Outcome != outcomeRevoked || l.By != "security" || !l.Timestamp.Equal(st.approvals[0].RevokedAt) {
		t.Errorf("revoke event %+v; want the revoke by security at %s", l, st.approvals[0].RevokedAt)
	}
}

// TestApproveHandlerReadsTheShownDecision: the decision a check run shows
// is read by its id, however many decisions its run has had since (a
// large matrix's job deliveries, later attempts).
func TestApproveHandlerReadsTheShownDecision(t *testing.T) {
	ctx := context.Background()
	gh, st, h, v := approveFixture(t, true)
	gh.roles["mona"] = "maintain"
	for i := range 1000 {
		later := testVerdict(fmt.Sprintf("job-decision-%d", i), false)
		later.Event, later.Run.Attempt, later.Timestamp = "workflow_job", 2, v.Timestamp.Add(time.Duration(i+1)*time.Second)
		if _, err := st.SaveDecision(ctx, later.decision()); err != nil {
			t.Fatal(err)
		}
	}
	o, err := h.Handle(ctx, clickDelivery(t, "click-mona", "mona"))
	if err != nil || o.note() != "recorded: approved" || len(st.approvals) != 1 || st.approvals[0].DecisionID != "decision-1" {
		t.Errorf("click: %q, %v; approvals %+v; want decision-1 approved", o.note(), err, st.approvals)
	}
}
