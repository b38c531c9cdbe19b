package webhook

import (
	"context"
	"errors"
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
