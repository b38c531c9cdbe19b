package webhook

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/runpolicy/runpolicy/webhook/github"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// deliveryArgs is the job that processes one persisted delivery.
// Processing is idempotent, so a delivery queued twice is harmless.
type deliveryArgs struct {
	DeliveryID string `json:"delivery_id"`
}

func (deliveryArgs) Kind() string { return "runpolicy_delivery" }

type deliveryWorker struct {
	river.WorkerDefaults[deliveryArgs]
	s *Server
}

func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	err := w.s.process(ctx, job.JobRow, job.Args.DeliveryID)
	next, final := w.s.retryable(err, job.JobRow)
	if final {
		w.s.failDelivery(ctx, job.Args.DeliveryID, err)
	}
	return next
}

// escalateArgs is the job that force-cancels a run still in progress a
// while after its cancel was accepted.
type escalateArgs struct {
	Repository     string `json:"repository"`
	RunID          int64  `json:"run_id"`
	Attempt        int    `json:"attempt"`
	InstallationID int64  `json:"installation_id"`
	DeliveryID     string `json:"delivery_id"`
	DecisionID     string `json:"decision_id"`
}

func (escalateArgs) Kind() string { return "runpolicy_escalate" }

func (escalateArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type escalateWorker struct {
	river.WorkerDefaults[escalateArgs]
	s *Server
}

func (w *escalateWorker) Work(ctx context.Context, job *river.Job[escalateArgs]) error {
	err, _ := w.s.retryable(w.s.escalate(ctx, job.Args), job.JobRow)
	return err
}

// redeliverArgs is the periodic sweep of failed deliveries.
type redeliverArgs struct{}

func (redeliverArgs) Kind() string { return "runpolicy_redeliver" }

type redeliverWorker struct {
	river.WorkerDefaults[redeliverArgs]
	s *Server
}

func (w *redeliverWorker) Work(ctx context.Context, job *river.Job[redeliverArgs]) error {
	return w.s.redeliver(ctx)
}

// errNotReady holds a job back until a policy set is active.
var errNotReady = errors.New("no policy bundle active yet")

// retryable turns a job's error into what the queue should do with it:
// wait as long as GitHub asked (a rate limit), give up at once on errors a
// retry cannot fix (a 403 for a missing permission, a 404), and otherwise
// retry with backoff. final says the job will not run again.
func (s *Server) retryable(err error, job *rivertype.JobRow) (next error, final bool) {
	if err == nil {
		return nil, false
	}
	if errors.Is(err, errNotReady) {
		return river.JobSnooze(time.Second), false
	}
	if errors.Is(err, store.ErrLeased) || errors.Is(err, errActionPending) {
		// Another worker has the delivery, or another decision an action
		// this one needs done: look again once it is done, without using
		// up an attempt.
		return river.JobSnooze(time.Second + jitter(time.Second)), false
	}
	temporary, wait := github.Temporary(err)
	switch {
	case temporary && wait > 0:
		return river.JobSnooze(min(wait, time.Hour) + jitter(time.Second)), false
	case permanent(err):
		return river.JobCancel(err), true
	}
	return err, job.Attempt >= job.MaxAttempts
}

// permanent reports errors from GitHub that no retry fixes.
func permanent(err error) bool {
	if errors.Is(err, github.ErrNotFound) {
		return true
	}
	var se *github.StatusError
	if errors.As(err, &se) {
		temporary, _ := github.Temporary(err)
		return !temporary
	}
	return false
}

// backoff is the queue's retry policy: exponential from base, capped at
// max, with full jitter so that a burst of failures does not retry in step.
type backoff struct{ base, max time.Duration }

func (b backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := b.base
	for i := 1; i < job.Attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	return time.Now().Add(d/2 + jitter(d/2))
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}
