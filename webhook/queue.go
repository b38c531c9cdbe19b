package webhook

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// errNotReady holds a job back until a policy set is active.
var errNotReady = errors.New("no policy bundle active yet")

// retryable turns a job's error into what the queue should do with it:
// wait as long as GitHub asked (a rate limit), give up at once on errors a
// retry cannot fix (a 403 for a missing permission, a 404), and otherwise
// retry with backoff. final says the job will not run again.
func retryable(err error, job *rivertype.JobRow) (next error, final bool) {
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

// queueStore is what requeue needs of the store (*store.Store).
type queueStore interface {
	DeliveriesWithoutJob(ctx context.Context, kind string, cutoff time.Time, limit int) ([]string, error)
	Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
}

// requeue queues the deliveries received before cutoff whose job is
// missing: a process died between saving one and queuing it.
func requeue(ctx context.Context, st queueStore, log *slog.Logger, cutoff time.Time) error {
	ids, err := st.DeliveriesWithoutJob(ctx, deliveryArgs{}.Kind(), cutoff, 10000)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := st.Enqueue(ctx, deliveryArgs{DeliveryID: id}, nil); err != nil {
			return err
		}
	}
	if len(ids) > 0 {
		log.Warn("queued deliveries whose job was lost", "deliveries", len(ids))
	}
	return nil
}
