package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"text/template"
	"time"

	gh "github.com/google/go-github/v62/github"
	"github.com/riverqueue/river"

	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// actorClient is what the actor asks GitHub, as one installation
// (*github.Client).
type actorClient interface {
	Run(ctx context.Context, owner, repo string, id int64) (*gh.WorkflowRun, error)
	CancelRun(ctx context.Context, owner, repo string, id int64) (github.CancelResult, error)
	ForceCancelRun(ctx context.Context, owner, repo string, id int64) (github.CancelResult, error)
	FindCheckRun(ctx context.Context, owner, repo, sha, name, externalID string) (int64, error)
	CreateCheckRun(ctx context.Context, owner, repo string, cr github.CheckRun) (int64, error)
	UpdateCheckRun(ctx context.Context, owner, repo string, id int64, cr github.CheckRun) error
	FindComment(ctx context.Context, owner, repo string, pr int, marker string) (int64, error)
	CreateComment(ctx context.Context, owner, repo string, pr int, body string) (int64, error)
	UpdateComment(ctx context.Context, owner, repo string, id int64, body string) error
}

// actionStore is where the actor claims and completes what it does to a
// run attempt, and schedules force-cancels (*store.Store).
type actionStore interface {
	Claim(ctx context.Context, key store.RunKey, name, owner string, level int) (store.Action, error)
	Action(ctx context.Context, key store.RunKey, name string) (store.Action, error)
	TakeOver(ctx context.Context, key store.RunKey, name, from, owner string, level int) (bool, error)
	SetRef(ctx context.Context, key store.RunKey, name, owner, ref string) error
	Complete(ctx context.Context, key store.RunKey, name, owner, ref string) error
	Raise(ctx context.Context, key store.RunKey, name, by string, level int) (bool, error)
	Mark(ctx context.Context, key store.RunKey, name, owner, ref string) error
	Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
	DecisionByID(ctx context.Context, id string) (*store.Decision, error)
}

// actor acts on verdicts: it cancels a denied run, force-cancels one that
// keeps going (cancel.go), and writes the check run and the pull request
// comments (report.go). Each is done once per run attempt, by whichever
// decision claims it first.
type actor struct {
	clients func(installation int64) actorClient
	actions actionStore
	// escalation is cancel_escalation_delay: 0 never force-cancels.
	escalation time.Duration
	comment    *template.Template
	// commentOn and approveRole are comment_on and approve_permission.
	commentOn   string
	approveRole string
	metrics     *actMetrics
	log         *slog.Logger
}

// Actions done at most once per run attempt (store.Claim).
const (
	actionCancel      = "cancel"
	actionForceCancel = "force_cancel" // owner: the decision whose cancel it escalates
	actionCheckRun    = "check_run"
	actionComment     = "comment:" // + pull request number
)

// errActionPending makes a decision that needs an action another decision
// of the run attempt claimed and has not finished wait for it: the action
// is done only when GitHub confirmed it, and a claim handed back is taken
// over.
var errActionPending = errors.New("another decision of this run attempt has not finished it yet")

// claimStale is how long an unfinished action is left to its owner: one
// gone without handing it back (a job the queue discarded) is taken over
// after it.
const claimStale = 10 * time.Minute

// act enforces and reports a verdict: cancel first, as every second counts,
// then the check run and the pull request comments.
func (a *actor) act(ctx context.Context, v *verdict, log *slog.Logger) (outcome, error) {
	if v.Cancel {
		if err := a.cancel(ctx, v, log); err != nil {
			return outcome{}, err
		}
	}
	// A run that could not be judged is reported even when on_error lets
	// it go on: it is never allowed in silence.
	if v.Cancel || len(v.violations()) > 0 || v.Error != nil || len(v.warnings()) > 0 {
		if err := a.report(ctx, v, log); err != nil {
			return outcome{}, err
		}
	}
	return outcome{kind: outcomeJudged, detail: v.Outcome}, nil
}

// take claims an action of a run attempt for decision id. mine says id
// must do it now; otherwise the action is done (by id or another decision,
// whose level the returned action tells), or err is errActionPending. An
// action handed back, or left unfinished for claimStale, is taken over:
// not fresh, so the taker looks for what the previous owner did before
// doing it again.
func (a *actor) take(ctx context.Context, key store.RunKey, name, id string, level int, log *slog.Logger) (act store.Action, mine bool, err error) {
	act, err = a.actions.Claim(ctx, key, name, id, level)
	switch {
	case err != nil:
		return act, false, err
	case act.Owner == id:
		return act, !act.Done(), nil
	case act.Done():
		return act, false, nil
	case act.Owner != "" && time.Since(act.CreatedAt) < claimStale:
		return act, false, fmt.Errorf("%s of %s by decision %s: %w", name, key, act.Owner, errActionPending)
	}
	ok, err := a.actions.TakeOver(ctx, key, name, act.Owner, id, level)
	if err != nil {
		return act, false, err
	}
	if !ok {
		return act, false, fmt.Errorf("%s of %s: %w", name, key, errActionPending)
	}
	log.Warn("took over an unfinished action", "action", name, "previous_decision", act.Owner, "claimed_at", act.CreatedAt)
	act.Owner, act.Level, act.Fresh = id, level, false
	return act, true, nil
}
