package webhook

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// jobHandler judges a queued or waiting job with the runner labels GitHub
// resolved. It also catches a run whose workflow_run delivery never
// arrived: the whole workflow is judged again with the job's context.
type jobHandler struct{ *runs }

func (h jobHandler) Handles() []string { return []string{input.EventWorkflowJob} }

// Wants takes a job before it runs: queued, or waiting for an approval.
func (h jobHandler) Wants(e envelope) bool { return e.Action == "queued" || e.Action == "waiting" }

// judgeJobAction is claimed by the delivery that judges a job of a run
// attempt: a job's delivery replayed under new delivery ids is judged
// once.
func judgeJobAction(jobID int64) string { return "judge:workflow_job:" + strconv.FormatInt(jobID, 10) }

func (h jobHandler) Handle(ctx context.Context, d delivery) (outcome, error) {
	req, ok := jobRequest(d)
	if !ok {
		return skipped(d.log, "workflow_job payload without a job or repository"), nil
	}
	t, job := &req.run, req.context.WorkflowJob
	log := d.log.With("repository", t.Repository, "run_id", t.ID, "run_attempt", t.Attempt, "job", job.Name)
	if h.cancelledAndClaimed(ctx, t.key(), d.ID) {
		return skipped(log, "run attempt already cancelled"), nil
	}
	other, err := h.claim(ctx, t.key(), judgeJobAction(job.ID), d.ID)
	if err != nil {
		return outcome{}, err
	}
	if other != "" {
		return skipped(log, fmt.Sprintf("job %d of the run attempt already judged (delivery %s)", job.ID, other)), nil
	}
	return h.judgeAndAct(ctx, req, log)
}

// GiveUp decides a run whose judging from a job gave up
// (dispatcher.giveUp), unless the run attempt is cancelled already.
func (h jobHandler) GiveUp(ctx context.Context, d delivery, cause error) (outcome, bool, error) {
	req, ok := jobRequest(d)
	if !ok || h.decided(ctx, d.ID) {
		return outcome{}, false, nil
	}
	t := &req.run
	if a, err := h.store.Action(ctx, t.key(), actionCancel); err == nil && a.Done() {
		return outcome{}, false, nil
	}
	if other, err := h.claim(ctx, t.key(), judgeJobAction(req.context.WorkflowJob.ID), d.ID); err != nil || other != "" {
		return outcome{}, false, nil
	}
	return h.giveUp(ctx, req, cause, d.log.With("repository", t.Repository, "run_id", t.ID, "run_attempt", t.Attempt))
}

// cancelledAndClaimed reports a run attempt whose cancel is done and whose
// other actions have owners, when the delivery made no decision yet: its jobs'
// deliveries have nothing left to do. A delivery that decided finishes
// what it claimed (its retry after a failed report must not stop here),
// and an action handed back needs a decision to take it over.
func (h jobHandler) cancelledAndClaimed(ctx context.Context, key store.RunKey, deliveryID string) bool {
	if a, err := h.store.Action(ctx, key, actionCancel); err != nil || !a.Done() {
		return false
	}
	if _, err := h.store.DecisionForDelivery(ctx, deliveryID); !errors.Is(err, store.ErrNotFound) {
		return false
	}
	handedBack, err := h.store.HandedBack(ctx, key)
	return err == nil && !handedBack
}
