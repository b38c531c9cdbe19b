package webhook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/github"
)

// onlyComment returns the one comment of a pull request, failing when
// there is none or more.
func onlyComment(t *testing.T, gh *fakeGitHub, pr int) (int64, string) {
	t.Helper()
	var ids []int64
	var body string
	for id, c := range gh.comments {
		if c.pr == pr {
			ids, body = append(ids, id), c.body
		}
	}
	if len(ids) != 1 {
		t.Fatalf("pull request %d has %d comments, want 1", pr, len(ids))
	}
	return ids[0], body
}

// TestActorOneCommentPerPullRequest: a later run of the pull request
// updates runpolicy's comment, found by its marker, instead of adding one.
func TestActorOneCommentPerPullRequest(t *testing.T) {
	ctx := context.Background()
	gh, st := newFakeGitHub(), newMemStore()
	a := newTestActor(gh, st)
	if _, err := a.act(ctx, testVerdict("decision-1", true, 7), discard()); err != nil {
		t.Fatal(err)
	}
	first, _ := onlyComment(t, gh, 7)
	later := testVerdict("decision-2", true, 7)
	later.Run.ID = 43
	if _, err := a.act(ctx, later, discard()); err != nil {
		t.Fatal(err)
	}
	id, body := onlyComment(t, gh, 7)
	if id != first || !strings.Contains(body, "workflow run 43") || gh.count("create comment") != 1 {
		t.Errorf("comment %d (first %d), calls %q: want the first comment updated to run 43:\n%s", id, first, gh.calls, body)
	}
}

// TestActorCommentOn: comment_on decides which verdicts comment; the
// check run is written whatever it says.
func TestActorCommentOn(t *testing.T) {
	for _, tc := range []struct {
		commentOn string
		deny      bool
		comments  int
	}{
		{CommentOnDeny, true, 1}, {CommentOnDeny, false, 0},
		{CommentOnFindings, true, 1}, {CommentOnFindings, false, 1},
		{CommentOnNever, true, 0}, {CommentOnNever, false, 0},
	} {
		gh, st := newFakeGitHub(), newMemStore()
		a := newTestActor(gh, st)
		a.commentOn = tc.commentOn
		if _, err := a.act(context.Background(), testVerdict("decision-1", tc.deny, 7), discard()); err != nil {
			t.Fatal(err)
		}
		if gh.count("create comment") != tc.comments || gh.count("create check run") != 1 {
			t.Errorf("comment_on %s, deny %v: calls %q, want %d comments and a check run", tc.commentOn, tc.deny, gh.calls, tc.comments)
		}
	}
}

// TestActorReportsWarnings: a run allowed with warnings only gets a check
// run that lists them, and no comment under comment_on: deny.
func TestActorReportsWarnings(t *testing.T) {
	gh, st := newFakeGitHub(), newMemStore()
	a := newTestActor(gh, st)
	v := testVerdict("decision-1", false, 7)
	v.Result.Violations = nil
	v.Result.Warnings = []engine.Violation{{Policy: "runner_labels", Message: "job build picks its runner at run time", Job: "build", Line: 9}}
	if _, err := a.act(context.Background(), v, discard()); err != nil {
		t.Fatal(err)
	}
	if gh.count("create check run run-42-attempt-1 neutral") != 1 || gh.count("create comment") != 0 {
		t.Fatalf("calls %q: want a neutral check run, no comment", gh.calls)
	}
	for _, cr := range gh.checks {
		if !strings.Contains(cr.Summary, "### Warnings") || !strings.Contains(cr.Summary, "picks its runner at run time") ||
			cr.Title != "1 warning, run not cancelled" || cr.Name != "runpolicy / "+testPath ||
			len(cr.Annotations) != 1 || cr.Annotations[0].GetAnnotationLevel() != "notice" || cr.Annotations[0].GetStartLine() != 9 {
			t.Errorf("check run %+v", cr)
		}
	}
}

// TestForceCancelSaidInReports: the reports say a cancel GitHub accepted,
// and once the run was force-cancelled, that too; never more than was
// done.
func TestForceCancelSaidInReports(t *testing.T) {
	ctx := context.Background()
	gh, st := newFakeGitHub(), newMemStore()
	a := newTestActor(gh, st)
	v := testVerdict("decision-1", true, 7)
	if _, err := st.SaveDecision(ctx, v.decision()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.act(ctx, v, discard()); err != nil {
		t.Fatal(err)
	}
	_, body := onlyComment(t, gh, 7)
	if !strings.Contains(body, "GitHub accepted the cancel request") || strings.Contains(body, "force") || strings.Contains(body, "harm") {
		t.Errorf("comment after the cancel:\n%s", body)
	}
	gh.status[42] = "in_progress"
	if err := a.escalate(ctx, escalateArgs{Repository: testRepo, RunID: 42, Attempt: 1, InstallationID: 7,
		DeliveryID: v.DeliveryID, DecisionID: v.ID}); err != nil {
		t.Fatal(err)
	}
	_, body = onlyComment(t, gh, 7)
	if !strings.Contains(body, "**force-cancelled**") {
		t.Errorf("comment after the force-cancel:\n%s", body)
	}
	for _, cr := range gh.checks {
		if !strings.Contains(cr.Summary, "**force-cancelled**") {
			t.Errorf("check run after the force-cancel:\n%s", cr.Summary)
		}
	}
}

// TestJobLines: a finding made at queue time names the job as GitHub does;
// it gets the job's line when one job fits.
func TestJobLines(t *testing.T) {
	doc := &input.Document{Jobs: map[string]*input.Job{
		"build": {Name: "Build", Line: 5}, "test": {Name: "", Line: 20}, "a": {Name: "same", Line: 30}, "b": {Name: "same", Line: 40},
	}}
	result := &engine.Decision{Violations: []engine.Violation{
		{Policy: "p", Job: "Build"}, {Policy: "p", Job: "test (ubuntu-latest, 18)"}, {Policy: "p", Job: "build", Line: 7},
		{Policy: "p", Job: "same"}, {Policy: "p", Job: "nope"},
	}, Warnings: []engine.Violation{{Policy: "p", Job: "Build (x)"}}}
	jobLines(result, doc)
	var got []int
	for _, x := range append(result.Violations, result.Warnings...) {
		got = append(got, x.Line)
	}
	if want := []int{5, 20, 7, 0, 0, 5}; !slices.Equal(got, want) {
		t.Errorf("lines %v, want %v", got, want)
	}
}

// TestActorCommentWaitsForAnotherRun: while another run's decision is
// writing the pull request's comment, a second one waits for it instead
// of writing a second comment; then it updates that comment.
func TestActorCommentWaitsForAnotherRun(t *testing.T) {
	ctx := context.Background()
	gh, st := newFakeGitHub(), newMemStore()
	a := newTestActor(gh, st)
	if _, err := st.Claim(ctx, prKey(testRepo, 7), actionPullRequestComment, "other-run-decision", 0); err != nil {
		t.Fatal(err)
	}
	v := testVerdict("decision-1", true, 7)
	if _, err := a.act(ctx, v, discard()); !errors.Is(err, errActionPending) || gh.count("create comment") != 0 {
		t.Fatalf("act = %v, calls %q; want it to wait for the other run's comment", err, gh.calls)
	}
	id, err := gh.CreateComment(ctx, "acme", "api", 7, "other run's report\n"+commentMarker)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Complete(ctx, prKey(testRepo, 7), actionPullRequestComment, "other-run-decision", github.FormatID(id)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.act(ctx, v, discard()); err != nil {
		t.Fatal(err)
	}
	got, body := onlyComment(t, gh, 7)
	if got != id || !strings.Contains(body, "workflow run 42") {
		t.Errorf("comment %d: %s; want the other run's comment %d updated", got, body, id)
	}
}

// TestReportSaysWhatWasDone: the check run's title, the comment's heading
// and their text say what came of the cancel and the force-cancel, and no
// more: a run is "cancelled" or "stopped" only when GitHub accepted one.
func TestReportSaysWhatWasDone(t *testing.T) {
	accepted, over := string(github.CancelAccepted), string(github.CancelFinished)
	for _, tc := range []struct {
		name           string
		cancel, force  string
		notJudged      bool
		title, done    string
		stoppedSection bool
	}{
		{"accepted", accepted, "", false, "Run cancelled: 1 policy violation", "GitHub accepted the cancel request.", true},
		{"force-cancelled", accepted, accepted, false, "Run force-cancelled: 1 policy violation", "runpolicy **force-cancelled** it.", true},
		{"over before the force-cancel", accepted, over, false, "Run cancelled: 1 policy violation", "The run was over before a force-cancel was needed.", true},
		{"already over", over, "", false, "Denied: 1 policy violation; the run was already over", "; the run was already over.", false},
		{"unconfirmed", refCancelUnconfirmed, "", false, "Denied: 1 policy violation; cancel not confirmed", "; GitHub has not confirmed the cancel.", false},
		{"not done yet", "", "", false, "Denied: 1 policy violation; cancel not confirmed", "; GitHub has not confirmed the cancel.", false},
		{"unconfirmed, force-cancelled", refCancelUnconfirmed, accepted, false, "Run force-cancelled: 1 policy violation", "has not confirmed the cancel. The run kept going", true},
		{"unconfirmed, then over", refCancelUnconfirmed, over, false, "Denied: 1 policy violation; cancel not confirmed", "The run was over before a force-cancel was needed.", false},
		{"not judged, cancelled", accepted, "", true, "Run cancelled: it could not be judged", "GitHub accepted the cancel request.", true},
		{"not judged, already over", over, "", true, "Denied: it could not be judged; the run was already over", "; the run was already over.", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := sampleVerdict(true)
			v.cancelResult, v.forceResult = tc.cancel, tc.force
			if tc.notJudged {
				v.Result = nil
				v.Error = &judgeError{Code: "github_unavailable", Message: "502", OnError: OnErrorCancel}
			}
			cr := checkRun(v)
			comment, err := commentBody(testTemplate(), v)
			if err != nil {
				t.Fatal(err)
			}
			heading, _, _ := strings.Cut(comment, "\n")
			if cr.Title != tc.title || heading != "### :no_entry: runpolicy: "+tc.title || cr.Conclusion != "failure" {
				t.Errorf("title %q, heading %q, conclusion %s; want %q", cr.Title, heading, cr.Conclusion, tc.title)
			}
			for name, text := range map[string]string{"check run": cr.Summary, "comment": comment} {
				if !strings.Contains(text, tc.done) {
					t.Errorf("%s does not say %q:\n%s", name, tc.done, text)
				}
				if !tc.notJudged && strings.Contains(text, "Findings that stopped the run") != tc.stoppedSection {
					t.Errorf("%s: findings that stopped the run %v, want %v:\n%s", name, !tc.stoppedSection, tc.stoppedSection, text)
				}
				if !tc.stoppedSection && (strings.Contains(text, "stopped") || strings.Contains(text, "**cancelled**")) {
					t.Errorf("%s claims the run was stopped:\n%s", name, text)
				}
			}
		})
	}
}

// TestRewriteLeavesALaterRunsComment: a click on an older run's approve
// action, or its force-cancel, rewrites that run's check run; the pull
// request's one comment, which a later run of it now shows, keeps the
// later run's report.
func TestRewriteLeavesALaterRunsComment(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		rewrite func(t *testing.T, gh *fakeGitHub, h approveHandler, v *verdict)
		says    string // in run 42's check run after it
	}{
		{"approval", func(t *testing.T, gh *fakeGitHub, h approveHandler, v *verdict) {
			gh.roles["mona"] = "maintain"
			if o, err := h.Handle(ctx, clickDelivery(t, "click-mona", "mona")); err != nil || o.note() != "recorded: approved" {
				t.Fatalf("click: %q, %v", o.note(), err)
			}
		}, "approved by @mona"},
		{"force-cancel", func(t *testing.T, gh *fakeGitHub, h approveHandler, v *verdict) {
			gh.status[42] = "in_progress"
			if err := h.actor.escalate(ctx, escalateArgs{Repository: testRepo, RunID: 42, Attempt: 1, InstallationID: 7,
				DeliveryID: v.DeliveryID, DecisionID: v.ID}); err != nil {
				t.Fatal(err)
			}
		}, "**force-cancelled**"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh, _, h, v := approveFixture(t, true)
			first, _ := onlyComment(t, gh, 7)
			later := testVerdict("decision-2", true, 7)
			later.Run.ID = 43
			if _, err := h.actor.act(ctx, later, discard()); err != nil {
				t.Fatal(err)
			}
			if _, body := onlyComment(t, gh, 7); !strings.Contains(body, "workflow run 43") {
				t.Fatalf("the later run did not update the comment:\n%s", body)
			}
			tc.rewrite(t, gh, h, v)
			cr := gh.checks[101] // run 42's
			if !strings.Contains(cr.Title+cr.Summary, tc.says) || !strings.Contains(cr.Summary, "workflow run 42") {
				t.Errorf("run 42's check run does not say %q:\n%s\n%s", tc.says, cr.Title, cr.Summary)
			}
			id, body := onlyComment(t, gh, 7)
			if id != first || !strings.Contains(body, "workflow run 43") || strings.Contains(body, "workflow run 42") {
				t.Errorf("comment %d after run 42's rewrite, want run 43's report in comment %d:\n%s", id, first, body)
			}
		})
	}
}

// TestJobCancelUpdatesTheComment: a later run of the pull request cancelled
// when its job is queued (a workflow_job delivery) updates runpolicy's one
// comment on it, written by an earlier run's workflow_run, instead of
// adding a second.
func TestJobCancelUpdatesTheComment(t *testing.T) {
	ctx := context.Background()
	gh, st := newFakeGitHub(), newMemStore()
	gh.files[testRepo+"/"+testPath+"@"+testSHA] = deniedWorkflow
	shared := &runs{store: st, judge: newTestJudge(gh, st, &fakeEngine{}), actor: newTestActor(gh, st)}
	if o, err := (runHandler{shared}).Handle(ctx, runDeliveryOf(t, "d1", runObject(42, 1, testPath, testRepo, 7))); err != nil ||
		o.note() != "judged: deny" {
		t.Fatalf("run 42: %q, %v", o.note(), err)
	}
	first, _ := onlyComment(t, gh, 7)

	gh.runs[43] = runObject(43, 1, testPath, testRepo, 7)
	if o, err := (jobHandler{shared}).Handle(ctx, jobDeliveryOf(t, "d2", 555, 43, 1)); err != nil || o.note() != "judged: deny" {
		t.Fatalf("job of run 43: %q, %v", o.note(), err)
	}
	id, body := onlyComment(t, gh, 7)
	if id != first || gh.count("cancel 43") != 1 || gh.count("create comment") != 1 || gh.count(fmt.Sprintf("update comment %d", id)) != 1 ||
		!strings.Contains(body, "workflow run 43") || strings.Contains(body, "workflow run 42") {
		t.Errorf("comment %d (first %d), calls %q; want the first comment updated to run 43:\n%s", id, first, gh.calls, body)
	}
}

// TestActorReportsWhatTheCancelCameTo: the reports of a run the actor
// cancels say what GitHub answered: a run already over, or, after a try
// that may have sent the cancel, a cancel GitHub has not confirmed.
func TestActorReportsWhatTheCancelCameTo(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		earlierTry   bool // an earlier try claimed the cancel and may have sent it
		title, done  string
	}{
		{"already over", "completed", false, "Denied: 1 policy violation; the run was already over", "the run was already over."},
		{"not confirmed", "in_progress", true, "Denied: 1 policy violation; cancel not confirmed", "GitHub has not confirmed the cancel."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			gh, st := newFakeGitHub(), newMemStore()
			a := newTestActor(gh, st)
			gh.status[42] = tc.status
			if tc.earlierTry {
				if _, err := st.Claim(ctx, testKey, actionCancel, "decision-1", 1); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := a.act(ctx, testVerdict("decision-1", true, 7), discard()); err != nil {
				t.Fatal(err)
			}
			_, body := onlyComment(t, gh, 7)
			cr := gh.checks[101]
			if cr.Title != tc.title || !strings.Contains(cr.Summary, tc.done) || !strings.Contains(body, tc.title) ||
				!strings.Contains(body, tc.done) || strings.Contains(body+cr.Summary, "stopped") {
				t.Errorf("check run %q:\n%s\ncomment:\n%s\nwant %q, %q", cr.Title, cr.Summary, body, tc.title, tc.done)
			}
		})
	}
}

// TestForceCancelRewritesWhatTheCheckRunShows: the decision that cancelled
// the run wrote no report before a second decision of the run attempt
// wrote the check run; the force-cancel rewrites the check run with the
// report it shows, the second decision's, whose findings a click approves.
func TestForceCancelRewritesWhatTheCheckRunShows(t *testing.T) {
	ctx := context.Background()
	gh, st := newFakeGitHub(), newMemStore()
	a := newTestActor(gh, st)
	first := testVerdict("decision-1", true, 7)
	job := testVerdict("decision-2", true, 7)
	job.Event = "workflow_job"
	job.Result.Violations[0].Message = "job build runs evil/action@v1"
	for _, v := range []*verdict{first, job} {
		if _, err := st.SaveDecision(ctx, v.decision()); err != nil {
			t.Fatal(err)
		}
	}
	// decision-1 cancels the run and stops there (its process ends);
	// decision-2 finds the cancel done and writes the reports.
	if err := a.cancel(ctx, first, discard()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.act(ctx, job, discard()); err != nil {
		t.Fatal(err)
	}
	if act, _ := st.Action(ctx, testKey, actionCheckRun); act.Shows() != "decision-2" || len(st.jobs) != 1 {
		t.Fatalf("check run %+v, %d jobs: want decision-2's report and decision-1's force-cancel", act, len(st.jobs))
	}
	gh.status[42] = "in_progress"
	if err := a.escalate(ctx, st.jobs[0].args.(escalateArgs)); err != nil {
		t.Fatal(err)
	}
	cr := gh.checks[101]
	_, body := onlyComment(t, gh, 7)
	for name, text := range map[string]string{"check run": cr.Summary, "comment": body} {
		if !strings.Contains(text, "**force-cancelled**") || !strings.Contains(text, "job build runs evil/action@v1") ||
			strings.Contains(text, "shady/action@v1") {
			t.Errorf("%s after the force-cancel, want decision-2's report, force-cancelled:\n%s", name, text)
		}
	}
	if !strings.Contains(cr.Summary, "Decision `decision-2`") {
		t.Errorf("check run names another decision:\n%s", cr.Summary)
	}
}

// TestRewriteAnUnmarkedComment: a comment written before runpolicy marked
// which run a pull request's comment shows (or by an older replica) has no
// mark; the force-cancel rewrites it, as it did before the marks.
func TestRewriteAnUnmarkedComment(t *testing.T) {
	ctx := context.Background()
	gh, st := newFakeGitHub(), newMemStore()
	a := newTestActor(gh, st)
	v := testVerdict("decision-1", true, 7)
	if _, err := st.SaveDecision(ctx, v.decision()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.act(ctx, v, discard()); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	delete(st.actions, actionKey(prKey(testRepo, 7), actionCommentShows))
	st.mu.Unlock()
	gh.status[42] = "in_progress"
	if err := a.escalate(ctx, st.jobs[0].args.(escalateArgs)); err != nil {
		t.Fatal(err)
	}
	if _, body := onlyComment(t, gh, 7); !strings.Contains(body, "**force-cancelled**") {
		t.Errorf("unmarked comment after the force-cancel, calls %q:\n%s", gh.calls, body)
	}
}

// TestEscalateConfirmsAMaybeSentCancel: after a try that may have sent the
// cancel, the reports say GitHub has not confirmed it; when the
// force-cancel finds the run over, they say how it ended: cancelled (the
// cancel was sent and accepted) or over by itself.
func TestEscalateConfirmsAMaybeSentCancel(t *testing.T) {
	for _, tc := range []struct {
		conclusion, ref, title string
	}{
		{"cancelled", string(github.CancelAccepted), "Run cancelled: 1 policy violation"},
		{"failure", string(github.CancelFinished), "Denied: 1 policy violation; the run was already over"},
	} {
		t.Run(tc.conclusion, func(t *testing.T) {
			ctx := context.Background()
			gh, st := newFakeGitHub(), newMemStore()
			a := newTestActor(gh, st)
			v := testVerdict("decision-1", true, 7)
			if _, err := st.SaveDecision(ctx, v.decision()); err != nil {
				t.Fatal(err)
			}
			gh.status[42] = "in_progress"
			if _, err := st.Claim(ctx, testKey, actionCancel, "decision-1", 1); err != nil { // an earlier try
				t.Fatal(err)
			}
			if _, err := a.act(ctx, v, discard()); err != nil {
				t.Fatal(err)
			}
			if cr := gh.checks[101]; cr.Title != "Denied: 1 policy violation; cancel not confirmed" || len(st.jobs) != 1 {
				t.Fatalf("check run %q, %d jobs; want the cancel not confirmed and its force-cancel", cr.Title, len(st.jobs))
			}
			gh.status[42], gh.conclusion[42] = "completed", tc.conclusion
			if err := a.escalate(ctx, st.jobs[0].args.(escalateArgs)); err != nil {
				t.Fatal(err)
			}
			if c, _ := st.Action(ctx, testKey, actionCancel); c.Ref != tc.ref || gh.count("force-cancel ") != 0 {
				t.Errorf("cancel %+v, calls %q; want %s, no force-cancel", c, gh.calls, tc.ref)
			}
			cr := gh.checks[101]
			_, body := onlyComment(t, gh, 7)
			if cr.Title != tc.title || !strings.Contains(body, tc.title) || strings.Contains(cr.Summary+body, "not confirmed") {
				t.Errorf("check run %q:\n%s\ncomment:\n%s\nwant %q", cr.Title, cr.Summary, body, tc.title)
			}
		})
	}
}
