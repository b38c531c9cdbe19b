package webhook

import (
	"context"

	"github.com/runpolicy/runpolicy/engine/input"
)

// runHandler judges a requested workflow run as a whole.
type runHandler struct{ *runs }

func (h runHandler) Handles() []string { return []string{input.EventWorkflowRun} }

// Wants takes a run when it is requested: its jobs have not started.
func (h runHandler) Wants(e envelope) bool { return e.Action == "requested" }

func (h runHandler) Handle(ctx context.Context, d delivery) (outcome, error) {
	req, ok := runRequest(d)
	if !ok {
		return skipped(d.log, "workflow_run payload without a run or repository"), nil
	}
	t := &req.run
	log := d.log.With("repository", t.Repository, "run_id", t.ID, "run_attempt", t.Attempt)
	if dynamicWorkflow(t.Path) {
		return skipped(log, "GitHub-managed workflow "+t.Path), nil
	}
	other, err := h.claim(ctx, t.key(), actionJudge, d.ID)
	if err != nil {
		return outcome{}, err
	}
	if other != "" {
		return skipped(log, "run attempt already judged (delivery "+other+")"), nil
	}
	return h.judgeAndAct(ctx, req, log)
}

// GiveUp decides a run whose judging gave up (dispatcher.giveUp).
func (h runHandler) GiveUp(ctx context.Context, d delivery, cause error) (outcome, bool, error) {
	req, ok := runRequest(d)
	if !ok || dynamicWorkflow(req.run.Path) || h.decided(ctx, d.ID) {
		return outcome{}, false, nil
	}
	t := &req.run
	if other, err := h.claim(ctx, t.key(), actionJudge, d.ID); err != nil || other != "" {
		return outcome{}, false, nil
	}
	return h.giveUp(ctx, req, cause, d.log.With("repository", t.Repository, "run_id", t.ID, "run_attempt", t.Attempt))
}
