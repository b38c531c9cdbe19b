package webhook

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/runpolicy/runpolicy/github"
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

// Work processes a delivery. No run delivery is dropped without a
// decision: once judging has been tried judge_attempts times, or when the
// job will not run again, a run still undecided gets one from the failure
// (giveUp), which is then acted on and reported like any other.
func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	id := job.Args.DeliveryID
	err := w.s.process(ctx, job.JobRow, id)
	next, final := w.s.retryable(err, job.JobRow)
	if err != nil && (final || w.s.outOfTries(err, job.JobRow)) {
		decided, gerr := w.s.giveUp(ctx, job.JobRow, id, err)
		switch {
		case decided && gerr == nil:
			return nil
		case decided: // acting failed: the next try finds the decision and acts on it
			err = gerr
			next, final = w.s.retryable(gerr, job.JobRow)
		}
	}
	if final {
		w.s.failDelivery(ctx, id, err)
	}
	return next
}

// outOfTries reports a judging failure on a try past judge_attempts that
// is not a wait (no policy yet, another worker on the delivery, a report
// being written, a shutdown).
func (s *Server) outOfTries(err error, job *rivertype.JobRow) bool {
	return job.Attempt >= s.opts.JudgeAttempts && !errors.Is(err, errNotReady) && !errors.Is(err, store.ErrLeased) &&
		!errors.Is(err, errActionPending) && !errors.Is(err, context.Canceled)
}

// giveUpTimeout bounds deciding and acting on a run after its judging
// gave up; the job's own context may be over.
const giveUpTimeout = 30 * time.Second

// giveUp decides a run delivery that judging could not: on_error for a
// failure outside the author's control, a deny for one in it (authored),
// and acts on the decision. decided is false when there is nothing to
// decide: not a run delivery, already decided or processed, or another
// delivery's or worker's to judge.
func (s *Server) giveUp(ctx context.Context, job *rivertype.JobRow, id string, cause error) (decided bool, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), giveUpTimeout)
	defer cancel()
	d, err := s.store.Delivery(ctx, id)
	if err != nil || d.State != store.DeliveryReceived || (d.Event != "workflow_run" && d.Event != "workflow_job") {
		return false, nil
	}
	if _, err := s.store.DecisionForDelivery(ctx, id); !errors.Is(err, store.ErrNotFound) {
		return false, nil // decided (the retries act on it), or the store cannot say
	}
	worker := fmt.Sprintf("%s/job-%d/attempt-%d/give-up", s.instance, job.ID, job.Attempt)
	if _, err := s.store.LeaseDelivery(ctx, id, worker); err != nil {
		return false, nil
	}
	defer func() {
		if err := s.store.ReleaseDelivery(context.WithoutCancel(ctx), id, worker); err != nil {
			s.log.Warn("cannot release delivery; its lease expires", "delivery_id", id, "err", err)
		}
	}()
	log := s.log.With("delivery_id", id, "event", d.Event, "action", d.Action)
	var (
		t     *target
		in    *installationObject
		claim string
	)
	switch d.Event {
	case "workflow_run":
		var ok bool
		if t, in, ok = runDelivery(d); !ok || dynamicWorkflow(t.Path) {
			return false, nil
		}
		claim = actionJudge
	default:
		jd, ok := readJobDelivery(d)
		if !ok {
			return false, nil
		}
		t, in, claim = jd.t, jd.installation, judgeJobAction(jd.job.ID)
		if a, err := s.store.Action(ctx, t.key(), actionCancel); err == nil && a.Done() {
			return false, nil
		}
	}
	log = log.With("repository", t.Repository, "run_id", t.ID, "run_attempt", t.Attempt)
	if a, err := s.store.Claim(ctx, t.key(), claim, id, 0); err != nil || a.Owner != id {
		return false, nil
	}
	if t.Installation, err = s.installationOf(ctx, d, in, t.Repository); err != nil {
		return false, fmt.Errorf("give up judging delivery %s: %w", id, err)
	}
	if t.Path == "" {
		// A job's delivery does not name the workflow file; the report
		// does better with it, when GitHub answers (and goes without it
		// when not).
		_, _ = s.fillRun(ctx, t)
	}
	log.Warn("judging gave up; deciding from the failure", "err", cause, "attempt", job.Attempt)
	v, err := s.decide(ctx, t, d.Event, nil, nil, cause, map[string]int64{}, log)
	if err != nil {
		return true, err
	}
	note, err := s.act(ctx, job, v, log.With("decision_id", v.ID))
	if err != nil {
		return true, err
	}
	if err := s.store.FinishDelivery(ctx, id, store.DeliveryProcessed, note); err != nil {
		return true, err
	}
	outcome, _, _ := strings.Cut(note, ":")
	s.metrics.processed.WithLabelValues(eventLabel(d.Event), outcome).Inc()
	return true, nil
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
