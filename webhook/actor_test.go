package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/webhook/store"
)

func newTestActor(gh *fakeGitHub, st *memStore) *actor {
	return &actor{clients: gh.actorClients, actions: st, escalation: time.Minute, comment: testTemplate(),
		metrics: newActMetrics(), log: discard()}
}

// testVerdict is a decision on run 42 attempt 1 of acme/api: a deny with
// an enforced finding, or an allow with a dry-run one.
func testVerdict(id string, deny bool, prs ...int) *verdict {
	v := &verdict{ID: id, DeliveryID: "delivery-" + id, Event: "workflow_run", Outcome: store.OutcomeAllow,
		Run: target{Repository: testRepo, ID: 42, Attempt: 1, HeadRepository: testRepo, HeadSHA: testSHA, DefaultBranch: "main",
			Path: testPath, PullRequests: prs, Installation: 7},
		Result:    &engine.Decision{Allow: true, Violations: []engine.Violation{{Policy: "allowed_actions", Mode: engine.ModeDryRun, Message: "shady/action@v1 is not allowed"}}},
		Revisions: map[string]string{"builtin": "test"}, receivedAt: time.Now()}
	if deny {
		v.Outcome, v.Cancel, v.Result.Allow = store.OutcomeDeny, true, false
		v.Result.Violations[0].Mode = engine.ModeEnforce
	}
	return v
}

var testKey = store.RunKey{Repository: testRepo, RunID: 42, Attempt: 1}

// TestActorCancelsAndReportsOnce: a denied run is cancelled, its
// force-cancel scheduled, and reported on its check run and each pull
// request, once per run attempt whichever decision of it acts, and again.
func TestActorCancelsAndReportsOnce(t *testing.T) {
	ctx := context.Background()
	gh, st := newFakeGitHub(), newMemStore()
	a := newTestActor(gh, st)
	first := testVerdict("decision-1", true, 8, 7)
	before := time.Now()
	o, err := a.act(ctx, first, discard())
	if err != nil {
		t.Fatal(err)
	}
	if o.note() != "judged: deny" {
		t.Errorf("outcome %q, want judged: deny", o.note())
	}
	if gh.count("cancel 42") != 1 || gh.count("create check run run-42-attempt-1 failure") != 1 || gh.count("create comment ") != 2 {
		t.Errorf("calls %q: want one cancel, one failed check run, a comment on each pull request", gh.calls)
	}
	if a, ok := st.done(testKey, actionCancel); !ok || a.Ref != string(github.CancelAccepted) {
		t.Errorf("cancel %+v, want done, accepted", a)
	}
	if len(st.jobs) != 1 {
		t.Fatalf("%d jobs scheduled, want the force-cancel", len(st.jobs))
	}
	esc, ok := st.jobs[0].args.(escalateArgs)
	if !ok || esc.DecisionID != "decision-1" || esc.DeliveryID != "delivery-decision-1" || esc.RunID != 42 || esc.InstallationID != 7 ||
		st.jobs[0].at.Before(before.Add(time.Minute)) || st.jobs[0].at.After(time.Now().Add(time.Minute)) {
		t.Errorf("scheduled %+v at %s, want the force-cancel of decision-1 a minute after the cancel", st.jobs[0].args, st.jobs[0].at)
	}

	calls := len(gh.calls)
	for _, v := range []*verdict{testVerdict("decision-2", true, 7, 8), first} {
		if _, err := a.act(ctx, v, discard()); err != nil {
			t.Fatal(err)
		}
	}
	if len(gh.calls) != calls || len(st.jobs) != 1 {
		t.Errorf("another decision and a retry called %q and scheduled %d jobs; want nothing more", gh.calls[calls:], len(st.jobs)-1)
	}
}

// TestActorRaisesAReport: a dry-run report is written without a cancel,
// and a later deny of the run attempt (a job's, say) cancels it and
// rewrites the report: the check run and the pull request's comment.
func TestActorRaisesAReport(t *testing.T) {
	ctx := context.Background()
	gh, st := newFakeGitHub(), newMemStore()
	a := newTestActor(gh, st)
	a.commentOn = CommentOnFindings
	if o, err := a.act(ctx, testVerdict("decision-1", false, 7), discard()); err != nil || o.note() != "judged: allow" {
		t.Fatalf("dry run: %q, %v", o.note(), err)
	}
	if gh.count("cancel ") != 0 || gh.count("create check run run-42-attempt-1 neutral") != 1 || gh.count("create comment 7") != 1 {
		t.Errorf("calls %q: want a neutral check run, a comment, no cancel", gh.calls)
	}
	first, _ := onlyComment(t, gh, 7)
	job := testVerdict("decision-2", true, 7)
	job.Event = "workflow_job"
	if _, err := a.act(ctx, job, discard()); err != nil {
		t.Fatal(err)
	}
	if gh.count("cancel 42") != 1 || gh.count("create check run ") != 1 || gh.count("update check run 101 failure") != 1 {
		t.Errorf("calls %q: want the cancel and the check run rewritten as failed", gh.calls)
	}
	if id, body := onlyComment(t, gh, 7); id != first || !strings.HasPrefix(body, "### :no_entry: runpolicy: Run cancelled: 1 policy violation") {
		t.Errorf("comment %d (first %d), want the first one rewritten as cancelled:\n%s", id, first, body)
	}
	if a, _ := st.Action(ctx, testKey, actionCheckRun); a.Level != levelCancelled || a.Owner != "decision-1" || a.Shows() != "decision-2" {
		t.Errorf("check run claim %+v, want raised to the cancelled level, still decision-1's, showing decision-2's report", a)
	}
}

// TestActorSilentOnlyWhenAllowed: an allow without findings does nothing
// on GitHub; a run on_error let go is reported all the same.
func TestActorSilentOnlyWhenAllowed(t *testing.T) {
	ctx := context.Background()
	gh, st := newFakeGitHub(), newMemStore()
	a := newTestActor(gh, st)
	v := testVerdict("decision-1", false, 7)
	v.Result.Violations = nil
	if o, err := a.act(ctx, v, discard()); err != nil || o.note() != "judged: allow" || len(gh.calls) != 0 {
		t.Errorf("allow: %q, %v, calls %q; want nothing done", o.note(), err, gh.calls)
	}
	v = testVerdict("decision-2", false, 7)
	v.Result, v.Outcome = nil, store.OutcomeError
	v.Error = &judgeError{Code: "github_unavailable", Message: "502", OnError: OnErrorAllow}
	if o, err := a.act(ctx, v, discard()); err != nil || o.note() != "judged: error" {
		t.Fatalf("not judged: %q, %v", o.note(), err)
	}
	if gh.count("cancel ") != 0 || gh.count("create check run run-42-attempt-1 neutral") != 1 || gh.count("create comment 7") != 1 {
		t.Errorf("calls %q: want a neutral check run and a comment, no cancel", gh.calls)
	}
}

// TestActorCancelRefused: a cancel GitHub refused, or that never left (no
// installation token, no connection), is recorded as not sent and asked
// again on the next try; one that may have reached GitHub is not.
func TestActorCancelRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		ref  string
	}{
		{"refused", &github.StatusError{Status: http.StatusInternalServerError}, refCancelRefused},
		{"no token", fmt.Errorf("cancel run 42 of acme/api: %w: %w", github.ErrNoToken, io.EOF), refCancelRefused},
		{"no connection", &url.Error{Op: "Post", URL: "https://api.github.com/repos/acme/api/actions/runs/42/cancel",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}, refCancelRefused},
		{"timed out", fmt.Errorf("cancel run 42 of acme/api: %w", context.DeadlineExceeded), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			gh, st := newFakeGitHub(), newMemStore()
			a := newTestActor(gh, st)
			gh.fail = func(call string) error {
				if call == "cancel" {
					return tc.err
				}
				return nil
			}
			v := testVerdict("decision-1", true)
			if _, err := a.act(ctx, v, discard()); err == nil {
				t.Fatal("a failed cancel: no error for the queue to retry")
			}
			if c, _ := st.Action(ctx, testKey, actionCancel); c.Done() || c.Ref != tc.ref {
				t.Errorf("cancel %+v, want not done, ref %q", c, tc.ref)
			}
			if tc.ref != refCancelRefused {
				return // maybe sent: TestActorCancelMaybeSent
			}
			gh.fail = nil
			if _, err := a.act(ctx, v, discard()); err != nil {
				t.Fatal(err)
			}
			if _, ok := st.done(testKey, actionCancel); !ok || gh.count("cancel 42") != 2 || gh.count("run 42") != 0 {
				t.Errorf("calls %q: want the cancel asked again without a look at the run", gh.calls)
			}
		})
	}
}

// TestActorCancelMaybeSent: a try after one that may have sent the cancel
// looks at the run first, and sends no second cancel to a run in
// progress: its force-cancel ends it.
func TestActorCancelMaybeSent(t *testing.T) {
	for _, tc := range []struct {
		status, conclusion, ref string
		scheduled               int
	}{
		{"in_progress", "", refCancelUnconfirmed, 1},
		{"completed", "success", string(github.CancelFinished), 0},
		// Ended cancelled: the cancel the earlier try sent was accepted.
		{"completed", "cancelled", string(github.CancelAccepted), 0},
	} {
		t.Run(tc.status+" "+tc.conclusion, func(t *testing.T) {
			ctx := context.Background()
			gh, st := newFakeGitHub(), newMemStore()
			a := newTestActor(gh, st)
			gh.status[42], gh.conclusion[42] = tc.status, tc.conclusion
			// An earlier try claimed the cancel and may have sent it.
			claim, _ := st.Claim(ctx, testKey, actionCancel, "decision-1", 1)
			if err := a.cancel(ctx, testVerdict("decision-1", true), discard()); err != nil {
				t.Fatal(err)
			}
			c, ok := st.done(testKey, actionCancel)
			if !ok || c.Ref != tc.ref || gh.count("cancel ") != 0 || len(st.jobs) != tc.scheduled {
				t.Errorf("cancel %+v, calls %q, %d jobs; want done as %s, no second cancel, %d force-cancel", c, gh.calls, len(st.jobs), tc.ref, tc.scheduled)
			}
			if tc.scheduled > 0 && !st.jobs[0].at.Equal(claim.CreatedAt.Add(time.Minute)) {
				t.Errorf("force-cancel at %s, want a minute after the first try's claim (%s)", st.jobs[0].at, claim.CreatedAt)
			}
		})
	}
}

// TestActorWaitsForAnotherDecision: an action another decision claimed
// and has not finished is waited for, not done twice.
func TestActorWaitsForAnotherDecision(t *testing.T) {
	ctx := context.Background()
	gh, st := newFakeGitHub(), newMemStore()
	a := newTestActor(gh, st)
	if _, err := st.Claim(ctx, testKey, actionCancel, "decision-1", 1); err != nil {
		t.Fatal(err)
	}
	_, err := a.act(ctx, testVerdict("decision-2", true), discard())
	if !errors.Is(err, errActionPending) || gh.count("cancel ") != 0 {
		t.Errorf("act: %v, calls %q; want errActionPending and no cancel", err, gh.calls)
	}
}

// TestActorEscalate: a run still in progress after its cancel is
// force-cancelled once; one that is over is left alone.
func TestActorEscalate(t *testing.T) {
	ctx := context.Background()
	gh, st := newFakeGitHub(), newMemStore()
	a := newTestActor(gh, st)
	args := escalateArgs{Repository: testRepo, RunID: 42, Attempt: 1, InstallationID: 7, DecisionID: "decision-1"}
	gh.status[42] = "in_progress"
	for range 2 {
		if err := a.escalate(ctx, args); err != nil {
			t.Fatal(err)
		}
	}
	if f, ok := st.done(testKey, actionForceCancel); !ok || f.Ref != string(github.CancelAccepted) || gh.count("force-cancel 42") != 1 {
		t.Errorf("force-cancel %+v, calls %q; want one, accepted", f, gh.calls)
	}
	gh.status[43] = "completed"
	args.RunID = 43
	if err := a.escalate(ctx, args); err != nil {
		t.Fatal(err)
	}
	if gh.count("force-cancel 43") != 0 {
		t.Errorf("a finished run was force-cancelled: %q", gh.calls)
	}
}

// TestEscalateLeavesTheReRun: a maintainer approves the cancelled run
// within cancel_escalation_delay, and the run is re-run; the force-cancel
// then due is for the first attempt, which is over: it cancels nothing,
// whether GET run already shows the re-run or not yet, and the check run
// keeps saying the run was approved.
func TestEscalateLeavesTheReRun(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shown int // the attempt GitHub's GET run shows after the re-run
	}{
		{"re-run shown", 2},
		{"re-run not shown yet", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			gh, st, h, _ := approveFixture(t, true)
			gh.roles["mona"] = "maintain"
			if o, err := h.Handle(ctx, clickDelivery(t, "click-mona", "mona")); err != nil || o.note() != "recorded: approved" {
				t.Fatalf("click: %q, %v", o.note(), err)
			}
			gh.attempt[42] = tc.shown
			if len(st.jobs) != 1 {
				t.Fatalf("%d jobs, want the cancel's force-cancel", len(st.jobs))
			}
			calls := len(gh.calls)
			if err := h.actor.escalate(ctx, st.jobs[0].args.(escalateArgs)); err != nil {
				t.Fatal(err)
			}
			for _, c := range gh.calls[calls:] {
				if strings.HasPrefix(c, "force-cancel ") || strings.HasPrefix(c, "update ") {
					t.Errorf("calls after the approval %q: want no force-cancel, the reports left alone", gh.calls[calls:])
					break
				}
			}
			if f, ok := st.done(testKey, actionForceCancel); !ok || f.Ref != string(github.CancelFinished) {
				t.Errorf("force-cancel %+v, want done: the attempt was over", f)
			}
			if cr := gh.checks[101]; cr.Conclusion != "success" || !strings.Contains(cr.Title, "approved by @mona") {
				t.Errorf("check run %q (%s), want it approved", cr.Title, cr.Conclusion)
			}
		})
	}
}

// TestCancelRetryLeavesAReRun: a try after one that may have sent the
// cancel finds the run re-run (a newer attempt): the attempt it was to
// cancel is over, and neither a cancel nor a force-cancel goes to the
// re-run.
func TestCancelRetryLeavesAReRun(t *testing.T) {
	ctx := context.Background()
	gh, st := newFakeGitHub(), newMemStore()
	a := newTestActor(gh, st)
	gh.status[42], gh.attempt[42] = "in_progress", 2
	if _, err := st.Claim(ctx, testKey, actionCancel, "decision-1", 1); err != nil {
		t.Fatal(err)
	}
	if err := a.cancel(ctx, testVerdict("decision-1", true), discard()); err != nil {
		t.Fatal(err)
	}
	if c, ok := st.done(testKey, actionCancel); !ok || c.Ref != string(github.CancelFinished) || gh.count("cancel ") != 0 || len(st.jobs) != 0 {
		t.Errorf("cancel %+v, calls %q, %d jobs; want done as over, no cancel, no force-cancel", c, gh.calls, len(st.jobs))
	}
}
