package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/riverqueue/river/rivertype"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// Outcomes of processing a delivery, kept in the store's note and counted
// in runpolicy_deliveries_processed_total.
const (
	outcomeJudged   = "judged"   // a decision was made and acted on
	outcomeSkipped  = "skipped"  // nothing to do (already judged, already cancelled, GitHub's own workflow)
	outcomeRecorded = "recorded" // installation or ping recorded
	outcomeRefresh  = "refreshed"
	outcomeFailed   = "failed"
)

// process handles one persisted delivery from the queue. It is safe to run
// again after a crash at any point: every step checks what is already done.
func (s *Server) process(ctx context.Context, job *rivertype.JobRow, id string) error {
	if !s.policy.Ready() {
		return errNotReady
	}
	d, err := s.store.Delivery(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		s.log.Warn("queued delivery not in the store", "delivery_id", id)
		return nil
	}
	if err != nil {
		return err
	}
	if d.State != store.DeliveryReceived {
		return nil
	}
	// One worker at a time acts on a delivery, even when the queue hands
	// its job out twice; what an earlier one did on GitHub is found through
	// the run's claimed actions (store.Claim), not through the lease.
	worker := fmt.Sprintf("%s/job-%d/attempt-%d", s.instance, job.ID, job.Attempt)
	_, err = s.store.LeaseDelivery(ctx, d.ID, worker)
	if err != nil {
		return err
	}
	defer func() {
		if err := s.store.ReleaseDelivery(context.WithoutCancel(ctx), d.ID, worker); err != nil {
			s.log.Warn("cannot release delivery; its lease expires", "delivery_id", d.ID, "err", err)
		}
	}()
	log := s.log.With("delivery_id", d.ID, "event", d.Event, "action", d.Action)
	if d.Repository != "" && d.Event != "workflow_run" && d.Event != "workflow_job" {
		log = log.With("repository", d.Repository) // the run handlers add it with the run
	}
	var note string
	switch d.Event {
	case "workflow_run":
		note, err = s.onWorkflowRun(ctx, job, d, log)
	case "workflow_job":
		note, err = s.onWorkflowJob(ctx, job, d, log)
	case "installation":
		note, err = s.onInstallation(ctx, d, log)
	case "installation_repositories":
		note, err = s.onInstallationRepositories(ctx, d, log)
	case "push":
		note, err = s.onPush(ctx, d, log)
	case "ping":
		note = outcomeRecorded
		log.Info("ping received")
	default:
		note = outcomeSkipped
	}
	if errors.Is(err, errActionPending) {
		log.Info("waiting for another decision of the run attempt", "err", err)
		return err
	}
	if err != nil {
		log.Warn("processing failed, will retry", "err", err, "attempt", job.Attempt)
		return err
	}
	if err := s.store.FinishDelivery(ctx, d.ID, store.DeliveryProcessed, note); err != nil {
		return err
	}
	outcome, _, _ := strings.Cut(note, ":")
	s.metrics.processed.WithLabelValues(eventLabel(d.Event), outcome).Inc()
	return nil
}

// failDelivery records that a delivery's processing gave up.
func (s *Server) failDelivery(ctx context.Context, id string, cause error) {
	s.log.Error("delivery processing gave up", "delivery_id", id, "err", cause)
	// The event label names an event, as for every other outcome; "other"
	// when the delivery cannot be read back.
	event := "other"
	if d, err := s.store.Delivery(context.WithoutCancel(ctx), id); err == nil {
		event = eventLabel(d.Event)
	}
	s.metrics.processed.WithLabelValues(event, outcomeFailed).Inc()
	if err := s.store.FinishDelivery(context.WithoutCancel(ctx), id, store.DeliveryFailed, cause.Error()); err != nil {
		s.log.Error("cannot record failed delivery", "delivery_id", id, "err", err)
	}
	// What its decision claimed and did not finish goes to the next
	// decision of the run attempt that needs it.
	if n, err := s.store.HandBack(context.WithoutCancel(ctx), id); err != nil {
		s.log.Error("cannot hand back the actions of a failed delivery; they are taken over when stale", "delivery_id", id, "err", err)
	} else if n > 0 {
		s.log.Warn("handed back unfinished actions of a failed delivery", "delivery_id", id, "actions", n)
	}
}

// skip logs why a delivery needs nothing done and returns its note.
func skip(log *slog.Logger, why string) string {
	log.Info("nothing to do", "why", why)
	return outcomeSkipped + ": " + why
}
