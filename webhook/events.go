package webhook

import (
	"context"
	"log/slog"
	"time"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// eventHandler processes the deliveries of some events, taken from the
// queue, as palantir/go-githubapp's EventHandler does. New registers one
// per event with the dispatcher; an event no handler names is
// acknowledged and dropped.
type eventHandler interface {
	// Handles names the events (X-GitHub-Event) it processes.
	Handles() []string
	// Wants says whether a delivery is worth persisting: receive
	// acknowledges and drops the others, and the redelivery sweep asks
	// GitHub again only for failed deliveries a handler may want.
	Wants(e envelope) bool
	// Handle processes a persisted delivery. It may run again after a
	// crash at any point: every step checks what is already done.
	Handle(ctx context.Context, d delivery) (outcome, error)
}

// givingUp is a handler that decides a delivery its Handle could not
// process (a run's delivery: no run goes without a decision). decided is
// false when there is nothing to decide.
type givingUp interface {
	GiveUp(ctx context.Context, d delivery, cause error) (o outcome, decided bool, err error)
}

// envelope is what routing reads of a delivery: its payload's top-level
// fields when it arrives; in the redelivery sweep (listed), GitHub's list
// of deliveries, which names only the event and the action.
type envelope struct {
	Event        string `json:"-"`
	Action       string `json:"action"`
	Ref          string `json:"ref"`
	Installation *struct {
		ID int64 `json:"id"`
	} `json:"installation"`
	Repository *struct {
		FullName      string `json:"full_name"`
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
	listed bool
}

// delivery is a persisted delivery as a handler gets it: with the try of
// its queue job and a logger naming it.
type delivery struct {
	*store.Delivery
	attempt     int
	attemptedAt time.Time // zero when the queue does not say
	log         *slog.Logger
}

// withRepository adds the delivery's repository, when it has one, to its
// logger; the run handlers add it with the run instead.
func (d delivery) withRepository() *slog.Logger {
	if d.Repository == "" {
		return d.log
	}
	return d.log.With("repository", d.Repository)
}

// Kinds of outcome of processing a delivery, counted in
// runpolicy_deliveries_processed_total.
const (
	outcomeJudged   = "judged"   // a decision was made and acted on
	outcomeSkipped  = "skipped"  // nothing to do (already judged, already cancelled, GitHub's own workflow)
	outcomeRecorded = "recorded" // installation or ping recorded
	outcomeRefresh  = "refreshed"
	outcomeFailed   = "failed"
)

// outcome is what processing a delivery came to.
type outcome struct {
	kind string
	// detail says more: the decision's outcome, why nothing was done,
	// what was recorded.
	detail string
}

// note is the outcome as the delivery's record keeps it ("judged: deny").
func (o outcome) note() string {
	if o.detail == "" {
		return o.kind
	}
	return o.kind + ": " + o.detail
}

// skipped logs why a delivery needs nothing done and says so.
func skipped(log *slog.Logger, why string) outcome {
	log.Info("nothing to do", "why", why)
	return outcome{kind: outcomeSkipped, detail: why}
}
