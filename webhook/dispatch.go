package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// deliveryStore is what the dispatcher keeps of deliveries (*store.Store).
type deliveryStore interface {
	Delivery(ctx context.Context, id string) (*store.Delivery, error)
	LeaseDelivery(ctx context.Context, id, worker string) (bool, error)
	ReleaseDelivery(ctx context.Context, id, worker string) error
	FinishDelivery(ctx context.Context, id, state, note string) error
	HandBack(ctx context.Context, deliveryID string) (int64, error)
}

// dispatcher takes persisted deliveries from the queue to the handler
// registered for their event, one worker at a time per delivery, and
// records how each ended.
type dispatcher struct {
	handlers map[string]eventHandler
	store    deliveryStore
	// ready holds the queue back until a policy set is active.
	ready         func() bool
	judgeAttempts int
	instance      string
	metrics       *dispatchMetrics
	log           *slog.Logger
}

// newDispatcher registers each handler for the events it names; two for
// one event is a mistake in New.
func newDispatcher(st deliveryStore, ready func() bool, judgeAttempts int, instance string, m *dispatchMetrics,
	log *slog.Logger, handlers ...eventHandler) (*dispatcher, error) {
	d := &dispatcher{handlers: map[string]eventHandler{}, store: st, ready: ready, judgeAttempts: judgeAttempts,
		instance: instance, metrics: m, log: log}
	for _, h := range handlers {
		for _, event := range h.Handles() {
			if _, dup := d.handlers[event]; dup {
				return nil, fmt.Errorf("webhook: two handlers for %s", event)
			}
			d.handlers[event] = h
		}
	}
	return d, nil
}

// wants says whether a delivery is worth persisting: a handler processes
// its event and wants it.
func (d *dispatcher) wants(e envelope) bool {
	h, ok := d.handlers[e.Event]
	return ok && h.Wants(e)
}

// label keeps a metric's event label to the events runpolicy handles.
func (d *dispatcher) label(event string) string {
	if _, ok := d.handlers[event]; ok {
		return event
	}
	return "other"
}

// deliveryArgs is the job that processes one persisted delivery.
// Processing is idempotent, so a delivery queued twice is harmless.
type deliveryArgs struct {
	DeliveryID string `json:"delivery_id"`
}

func (deliveryArgs) Kind() string { return "runpolicy_delivery" }

type deliveryWorker struct {
	river.WorkerDefaults[deliveryArgs]
	d *dispatcher
}

// Work processes a delivery. No run delivery is dropped without a
// decision: once judging has been tried judge_attempts times, or when the
// job will not run again, a run still undecided gets one from the failure
// (giveUp), which is then acted on and reported like any other.
func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[deliveryArgs]) error {
	id := job.Args.DeliveryID
	err := w.d.process(ctx, job.JobRow, id)
	next, final := retryable(err, job.JobRow)
	if err != nil && (final || w.d.outOfTries(err, job.JobRow)) {
		decided, gerr := w.d.giveUp(ctx, job.JobRow, id, err)
		switch {
		case decided && gerr == nil:
			return nil
		case decided: // acting failed: the next try finds the decision and acts on it
			err = gerr
			next, final = retryable(gerr, job.JobRow)
		}
	}
	if final {
		w.d.fail(ctx, id, err)
	}
	return next
}

// outOfTries reports a judging failure on a try past judge_attempts that
// is not a wait (no policy yet, another worker on the delivery, a report
// being written, a shutdown).
func (d *dispatcher) outOfTries(err error, job *rivertype.JobRow) bool {
	return job.Attempt >= d.judgeAttempts && !errors.Is(err, errNotReady) && !errors.Is(err, store.ErrLeased) &&
		!errors.Is(err, errActionPending) && !errors.Is(err, context.Canceled)
}

// lease makes worker the one that acts on a delivery, even when the queue
// hands its job out twice; what an earlier one did on GitHub is found
// through the run's claimed actions (store.Claim), not through the lease.
// release gives it back.
func (d *dispatcher) lease(ctx context.Context, id, worker string) (release func(), err error) {
	if _, err := d.store.LeaseDelivery(ctx, id, worker); err != nil {
		return nil, err
	}
	return func() {
		if err := d.store.ReleaseDelivery(context.WithoutCancel(ctx), id, worker); err != nil {
			d.log.Warn("cannot release delivery; its lease expires", "delivery_id", id, "err", err)
		}
	}, nil
}

// process hands one persisted delivery to its handler and records the
// outcome. It is safe to run again after a crash at any point.
func (d *dispatcher) process(ctx context.Context, job *rivertype.JobRow, id string) error {
	if !d.ready() {
		return errNotReady
	}
	del, err := d.store.Delivery(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		d.log.Warn("queued delivery not in the store", "delivery_id", id)
		return nil
	}
	if err != nil {
		return err
	}
	if del.State != store.DeliveryReceived {
		return nil
	}
	release, err := d.lease(ctx, del.ID, fmt.Sprintf("%s/job-%d/attempt-%d", d.instance, job.ID, job.Attempt))
	if err != nil {
		return err
	}
	defer release()
	in := d.delivery(del, job)
	o := outcome{kind: outcomeSkipped}
	if h, ok := d.handlers[del.Event]; ok {
		o, err = h.Handle(ctx, in)
	}
	if errors.Is(err, errActionPending) {
		in.log.Info("waiting for another decision of the run attempt", "err", err)
		return err
	}
	if err != nil {
		in.log.Warn("processing failed, will retry", "err", err, "attempt", job.Attempt)
		return err
	}
	return d.finish(ctx, del, o)
}

func (d *dispatcher) delivery(del *store.Delivery, job *rivertype.JobRow) delivery {
	in := delivery{Delivery: del, attempt: job.Attempt,
		log: d.log.With("delivery_id", del.ID, "event", del.Event, "action", del.Action)}
	if job.AttemptedAt != nil {
		in.attemptedAt = *job.AttemptedAt
	}
	return in
}

// finish records a processed delivery's outcome.
func (d *dispatcher) finish(ctx context.Context, del *store.Delivery, o outcome) error {
	if err := d.store.FinishDelivery(ctx, del.ID, store.DeliveryProcessed, o.note()); err != nil {
		return err
	}
	d.metrics.processed.WithLabelValues(d.label(del.Event), o.kind).Inc()
	return nil
}

// giveUpTimeout bounds deciding and acting on a run after its judging
// gave up; the job's own context may be over.
const giveUpTimeout = 30 * time.Second

// giveUp has the delivery's handler decide what it could not process,
// when it is one that does (givingUp). decided is false when there is
// nothing to decide: not such a delivery, already processed, or another
// worker's.
func (d *dispatcher) giveUp(ctx context.Context, job *rivertype.JobRow, id string, cause error) (decided bool, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), giveUpTimeout)
	defer cancel()
	del, err := d.store.Delivery(ctx, id)
	if err != nil || del.State != store.DeliveryReceived {
		return false, nil
	}
	h, ok := d.handlers[del.Event].(givingUp)
	if !ok {
		return false, nil
	}
	release, err := d.lease(ctx, id, fmt.Sprintf("%s/job-%d/attempt-%d/give-up", d.instance, job.ID, job.Attempt))
	if err != nil {
		return false, nil
	}
	defer release()
	o, decided, err := h.GiveUp(ctx, d.delivery(del, job), cause)
	if !decided || err != nil {
		return decided, err
	}
	return true, d.finish(ctx, del, o)
}

// fail records that a delivery's processing gave up.
func (d *dispatcher) fail(ctx context.Context, id string, cause error) {
	ctx = context.WithoutCancel(ctx)
	d.log.Error("delivery processing gave up", "delivery_id", id, "err", cause)
	// The event label names an event, as for every other outcome; "other"
	// when the delivery cannot be read back.
	event := "other"
	if del, err := d.store.Delivery(ctx, id); err == nil {
		event = d.label(del.Event)
	}
	d.metrics.processed.WithLabelValues(event, outcomeFailed).Inc()
	if err := d.store.FinishDelivery(ctx, id, store.DeliveryFailed, cause.Error()); err != nil {
		d.log.Error("cannot record failed delivery", "delivery_id", id, "err", err)
	}
	// What its decision claimed and did not finish goes to the next
	// decision of the run attempt that needs it.
	if n, err := d.store.HandBack(ctx, id); err != nil {
		d.log.Error("cannot hand back the actions of a failed delivery; they are taken over when stale", "delivery_id", id, "err", err)
	} else if n > 0 {
		d.log.Warn("handed back unfinished actions of a failed delivery", "delivery_id", id, "actions", n)
	}
}
