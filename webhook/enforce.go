package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// Actions done at most once per run attempt (store.Claim).
const (
	actionJudge       = "judge:workflow_run" // owner: the delivery that judges it
	actionCancel      = "cancel"
	actionForceCancel = "force_cancel" // owner: the decision whose cancel it escalates
	actionCheckRun    = "check_run"
	actionComment     = "comment:" // + pull request number
)

// Refs of a cancel that is not done yet.
const (
	// refCancelRefused: GitHub answered the last cancel request with an
	// error, so it did not cancel; the next try asks again.
	refCancelRefused = "refused"
	// refCancelUnconfirmed: a cancel may have been sent and the run is
	// still in progress; the force-cancel after the escalation delay ends
	// it.
	refCancelUnconfirmed = "unconfirmed"
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

// take claims an action of a run attempt for decision id. mine says id
// must do it now; otherwise the action is done (by id or another decision,
// whose level a tells), or err is errActionPending. An action handed back,
// or left unfinished for claimStale, is taken over: not fresh, so the
// taker looks for what the previous owner did before doing it again.
func (s *Server) take(ctx context.Context, key store.RunKey, name, id string, level int, log *slog.Logger) (a store.Action, mine bool, err error) {
	a, err = s.store.Claim(ctx, key, name, id, level)
	switch {
	case err != nil:
		return a, false, err
	case a.Owner == id:
		return a, !a.Done(), nil
	case a.Done():
		return a, false, nil
	case a.Owner != "" && time.Since(a.CreatedAt) < claimStale:
		return a, false, fmt.Errorf("%s of %s by decision %s: %w", name, key, a.Owner, errActionPending)
	}
	ok, err := s.store.TakeOver(ctx, key, name, a.Owner, id, level)
	if err != nil {
		return a, false, err
	}
	if !ok {
		return a, false, fmt.Errorf("%s of %s: %w", name, key, errActionPending)
	}
	log.Warn("took over an unfinished action", "action", name, "previous_decision", a.Owner, "claimed_at", a.CreatedAt)
	a.Owner, a.Level, a.Fresh = id, level, false
	return a, true, nil
}

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

// cancel cancels the run attempt once, whichever decision does it. A try
// after one that may have sent the cancel (a crash, a lost answer, a claim
// taken over) first asks GitHub whether the run is over, and sends no
// second cancel to a run in progress: its if: always() jobs may hold it
// open after the first, and the force-cancel after the escalation delay
// ends it.
func (s *Server) cancel(ctx context.Context, job *rivertype.JobRow, v *verdict, log *slog.Logger) error {
	t := v.log.Run
	key := t.key()
	a, mine, err := s.take(ctx, key, actionCancel, v.ID, 1, log)
	if err != nil || !mine {
		return err
	}
	owner, name := t.owner()
	client := s.app.Installation(t.Installation)
	switch {
	case a.Fresh:
	case a.Ref == refCancelRefused:
		// The last request was refused; the next may be accepted and
		// then lost with this process, so it is recorded as maybe sent.
		if err := s.store.SetRef(ctx, key, actionCancel, v.ID, ""); err != nil {
			return err
		}
	default:
		run, err := client.Run(ctx, owner, name, t.ID)
		if err != nil {
			return err // never a blind second cancel
		}
		if run.GetStatus() == "completed" {
			log.Info("run already over", "conclusion", run.GetConclusion())
			return s.store.Complete(ctx, key, actionCancel, v.ID, string(github.CancelFinished))
		}
		// Queued or waiting, a run whose cancel arrived would be over;
		// without escalation nothing else would stop it.
		if run.GetStatus() == "in_progress" && s.opts.CancelEscalation > 0 {
			at := a.CreatedAt.Add(s.opts.CancelEscalation)
			if err := s.escalateAt(ctx, t, v, at); err != nil {
				return err
			}
			log.Warn("run in progress after a cancel that may have been sent; force-cancel scheduled", "at", at)
			return s.store.Complete(ctx, key, actionCancel, v.ID, refCancelUnconfirmed)
		}
	}
	res, err := client.CancelRun(ctx, owner, name, t.ID)
	var se *github.StatusError
	if errors.As(err, &se) || errors.Is(err, syscall.ECONNREFUSED) {
		// GitHub answered with an error, or no connection was made: the
		// run was not cancelled.
		if err := s.store.SetRef(context.WithoutCancel(ctx), key, actionCancel, v.ID, refCancelRefused); err != nil {
			log.Warn("cannot record the refused cancel", "err", err)
		}
	}
	if err != nil {
		return err
	}
	s.metrics.cancels.WithLabelValues("cancel", string(res)).Inc()
	if res == github.CancelAccepted {
		if !t.receivedAt.IsZero() {
			s.metrics.toCancel.Observe(time.Since(t.receivedAt).Seconds())
		}
		if s.opts.CancelEscalation > 0 {
			if err := s.escalateAt(ctx, t, v, time.Now().Add(s.opts.CancelEscalation)); err != nil {
				return err
			}
		}
	}
	log.Info("run cancelled", "result", res)
	return s.store.Complete(ctx, key, actionCancel, v.ID, string(res))
}

// escalateAt schedules the force-cancel of a run whose cancel was (or may
// have been) accepted. The queue keeps one such job per decision.
func (s *Server) escalateAt(ctx context.Context, t *target, v *verdict, at time.Time) error {
	return s.store.Enqueue(ctx, escalateArgs{Repository: t.Repository, RunID: t.ID, Attempt: t.Attempt,
		InstallationID: t.Installation, DeliveryID: t.deliveryID, DecisionID: v.ID},
		&river.InsertOpts{ScheduledAt: at})
}

// escalate force-cancels a run that is still going a while after its
// cancel was accepted (jobs with always() steps can hold it open), once per
// run attempt. A run GitHub cannot show is retried, never force-cancelled
// blind.
func (s *Server) escalate(ctx context.Context, a escalateArgs) error {
	log := s.log.With("delivery_id", a.DeliveryID, "repository", a.Repository, "run_id", a.RunID,
		"run_attempt", a.Attempt, "decision_id", a.DecisionID)
	key := store.RunKey{Repository: a.Repository, RunID: a.RunID, Attempt: a.Attempt}
	if _, mine, err := s.take(ctx, key, actionForceCancel, a.DecisionID, 1, log); err != nil || !mine {
		return err
	}
	owner, name := split(a.Repository)
	client := s.app.Installation(a.InstallationID)
	run, err := client.Run(ctx, owner, name, a.RunID)
	if errors.Is(err, github.ErrNotFound) {
		log.Warn("cancelled run is gone")
		return s.store.Complete(ctx, key, actionForceCancel, a.DecisionID, "gone")
	}
	if err != nil {
		return err
	}
	if run.GetStatus() == "completed" {
		log.Debug("cancelled run is over", "conclusion", run.GetConclusion())
		return s.store.Complete(ctx, key, actionForceCancel, a.DecisionID, string(github.CancelFinished))
	}
	res, err := client.ForceCancelRun(ctx, owner, name, a.RunID)
	if err != nil {
		return err
	}
	s.metrics.cancels.WithLabelValues("force_cancel", string(res)).Inc()
	log.Warn("run kept going after its cancel, force-cancelled", "status", run.GetStatus(), "result", res)
	return s.store.Complete(ctx, key, actionForceCancel, a.DecisionID, string(res))
}

// key is the run attempt a verdict acts on.
func (v *verdict) key() store.RunKey { return v.log.Run.key() }
