package webhook

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/runpolicy/runpolicy/webhook/github"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// Actions done at most once per run attempt (store.Claim).
const (
	actionJudge    = "judge:workflow_run" // owner: the delivery that judges it
	actionCancel   = "cancel"
	actionCheckRun = "check_run"
	actionComment  = "comment:" // + pull request number
)

// act enforces and reports a verdict: cancel first, as every second counts,
// then the check run and the pull request comments.
func (s *Server) act(ctx context.Context, job *rivertype.JobRow, v *verdict, log *slog.Logger) (string, error) {
	if v.Cancel {
		if err := s.cancel(ctx, job, v, log); err != nil {
			return "", err
		}
	}
	// A run that could not be judged is reported even when on_error lets
	// it go on: it is never allowed in silence.
	if v.Cancel || len(v.violations()) > 0 || v.log.Error != nil {
		if err := s.report(ctx, job, v, log); err != nil {
			return "", err
		}
	}
	return outcomeJudged + ": " + v.Outcome, nil
}

// cancel cancels the run unless another decision already did. A retry
// (after a crash or a failed write) first asks whether the run is over,
// so that one cancel is sent, not two.
func (s *Server) cancel(ctx context.Context, job *rivertype.JobRow, v *verdict, log *slog.Logger) error {
	t := v.log.Run
	a, err := s.store.Claim(ctx, t.key(), actionCancel, v.ID, 1)
	if err != nil {
		return err
	}
	if a.Owner != v.ID || a.Done() {
		return nil
	}
	owner, name := t.owner()
	client := s.app.Installation(t.Installation)
	if t.resumed {
		if run, err := client.Run(ctx, owner, name, t.ID); err == nil && run.GetStatus() == "completed" {
			log.Info("run already over", "conclusion", run.GetConclusion())
			return s.store.Complete(ctx, t.key(), actionCancel, v.ID, string(github.CancelFinished))
		}
	}
	res, err := client.CancelRun(ctx, owner, name, t.ID)
	if err != nil {
		return err
	}
	s.metrics.cancels.WithLabelValues("cancel", string(res)).Inc()
	if res == github.CancelAccepted {
		if !t.receivedAt.IsZero() {
			s.metrics.toCancel.Observe(time.Since(t.receivedAt).Seconds())
		}
		if s.opts.CancelEscalation > 0 {
			err := s.store.Enqueue(ctx, escalateArgs{Repository: t.Repository, RunID: t.ID, Attempt: t.Attempt,
				InstallationID: t.Installation, DeliveryID: t.deliveryID, DecisionID: v.ID},
				&river.InsertOpts{ScheduledAt: time.Now().Add(s.opts.CancelEscalation)})
			if err != nil {
				return err
			}
		}
	}
	log.Info("run cancelled", "result", res)
	return s.store.Complete(ctx, t.key(), actionCancel, v.ID, string(res))
}

// escalate force-cancels a run that is still going a while after its
// cancel was accepted (jobs with always() steps can hold it open).
func (s *Server) escalate(ctx context.Context, a escalateArgs) error {
	log := s.log.With("delivery_id", a.DeliveryID, "repository", a.Repository, "run_id", a.RunID,
		"run_attempt", a.Attempt, "decision_id", a.DecisionID)
	owner, name := split(a.Repository)
	client := s.app.Installation(a.InstallationID)
	run, err := client.Run(ctx, owner, name, a.RunID)
	if errors.Is(err, github.ErrNotFound) {
		log.Warn("cancelled run is gone")
		return nil
	}
	if err != nil {
		return err
	}
	if run.GetStatus() == "completed" {
		log.Debug("cancelled run is over", "conclusion", run.GetConclusion())
		return nil
	}
	res, err := client.ForceCancelRun(ctx, owner, name, a.RunID)
	if err != nil {
		return err
	}
	s.metrics.cancels.WithLabelValues("force_cancel", string(res)).Inc()
	log.Warn("run kept going after its cancel, force-cancelled", "status", run.GetStatus(), "result", res)
	return nil
}

// key is the run attempt a verdict acts on.
func (v *verdict) key() store.RunKey { return v.log.Run.key() }
