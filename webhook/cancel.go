package webhook

import (
	"context"
	"errors"
	"log/slog"
	"time"

	gh "github.com/google/go-github/v62/github"
	"github.com/riverqueue/river"

	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/webhook/store"
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

// cancel cancels the run attempt once, whichever decision does it. A try
// after one that may have sent the cancel (a crash, a lost answer, a claim
// taken over) first asks GitHub whether the run is over, and sends no
// second cancel to a run in progress: its if: always() jobs may hold it
// open after the first, and the force-cancel after the escalation delay
// ends it. A run GitHub shows over, or re-run, is not cancelled
// (attemptOver).
func (a *actor) cancel(ctx context.Context, v *verdict, log *slog.Logger) error {
	t := &v.Run
	key := t.key()
	claim, mine, err := a.take(ctx, key, actionCancel, v.ID, 1, log)
	if err != nil || !mine {
		return err
	}
	owner, name := t.owner()
	client := a.clients(t.Installation)
	switch {
	case claim.Fresh:
	case claim.Ref == refCancelRefused:
		// The last request was refused; the next may be accepted and
		// then lost with this process, so it is recorded as maybe sent.
		if err := a.actions.SetRef(ctx, key, actionCancel, v.ID, ""); err != nil {
			return err
		}
	default:
		run, err := client.Run(ctx, owner, name, t.ID)
		if err != nil {
			return err // never a blind second cancel
		}
		if res, over := attemptOver(run, t.Attempt); over {
			log.Info("run attempt already over", "status", run.GetStatus(), "conclusion", run.GetConclusion(),
				"latest_attempt", run.GetRunAttempt(), "result", res)
			return a.actions.Complete(ctx, key, actionCancel, v.ID, string(res))
		}
		// Queued or waiting, a run whose cancel arrived would be over;
		// without escalation nothing else would stop it.
		if run.GetStatus() == "in_progress" && a.escalation > 0 {
			at := claim.CreatedAt.Add(a.escalation)
			if err := a.escalateAt(ctx, v, at); err != nil {
				return err
			}
			log.Warn("run in progress after a cancel that may have been sent; force-cancel scheduled", "at", at)
			return a.actions.Complete(ctx, key, actionCancel, v.ID, refCancelUnconfirmed)
		}
	}
	res, err := client.CancelRun(ctx, owner, name, t.ID)
	var se *github.StatusError
	if errors.As(err, &se) || github.NotSent(err) {
		// GitHub answered with an error, or the request never left (no
		// installation token, no connection): the run was not cancelled.
		if err := a.actions.SetRef(context.WithoutCancel(ctx), key, actionCancel, v.ID, refCancelRefused); err != nil {
			log.Warn("cannot record the refused cancel", "err", err)
		}
	}
	if err != nil {
		return err
	}
	a.metrics.cancels.WithLabelValues("cancel", string(res)).Inc()
	if res == github.CancelAccepted {
		if !v.receivedAt.IsZero() {
			a.metrics.toCancel.Observe(time.Since(v.receivedAt).Seconds())
		}
		if a.escalation > 0 {
			if err := a.escalateAt(ctx, v, time.Now().Add(a.escalation)); err != nil {
				return err
			}
		}
	}
	log.Info("run cancelled", "result", res)
	return a.actions.Complete(ctx, key, actionCancel, v.ID, string(res))
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
	a *actor
}

func (w *escalateWorker) Work(ctx context.Context, job *river.Job[escalateArgs]) error {
	err, _ := retryable(w.a.escalate(ctx, job.Args), job.JobRow)
	return err
}

// escalateAt schedules the force-cancel of a run whose cancel was (or may
// have been) accepted. The queue keeps one such job per decision.
func (a *actor) escalateAt(ctx context.Context, v *verdict, at time.Time) error {
	t := &v.Run
	return a.actions.Enqueue(ctx, escalateArgs{Repository: t.Repository, RunID: t.ID, Attempt: t.Attempt,
		InstallationID: t.Installation, DeliveryID: v.DeliveryID, DecisionID: v.ID},
		&river.InsertOpts{ScheduledAt: at})
}

// attemptOver reports whether GitHub shows a run's attempt over, and how
// the cancel runpolicy may have sent it came out. GET run shows the
// latest attempt: one newer than attempt is a re-run, which GitHub starts
// only once the attempt is over, and a cancel or force-cancel now would
// stop the re-run, not the attempt; CancelFinished, since how the attempt
// ended is not shown. An attempt that ended "cancelled" was cancelled by
// the cancel that may have been sent (or by someone at the same time,
// which comes to the same): CancelAccepted, and the reports say the run
// was cancelled.
func attemptOver(run *gh.WorkflowRun, attempt int) (github.CancelResult, bool) {
	switch {
	case run.GetRunAttempt() > attempt:
		return github.CancelFinished, true
	case run.GetStatus() != "completed":
		return "", false
	case run.GetConclusion() == "cancelled":
		return github.CancelAccepted, true
	default:
		return github.CancelFinished, true
	}
}

// escalate force-cancels a run that is still going a while after its
// cancel was accepted (jobs with always() steps can hold it open), once per
// run attempt. A run GitHub cannot show is retried, never force-cancelled
// blind. A run attempt re-run since is over: neither it nor the re-run is
// force-cancelled, and its reports (which, after an approval, say who
// approved it) are left alone.
func (a *actor) escalate(ctx context.Context, args escalateArgs) error {
	log := a.log.With("delivery_id", args.DeliveryID, "repository", args.Repository, "run_id", args.RunID,
		"run_attempt", args.Attempt, "decision_id", args.DecisionID)
	key := store.RunKey{Repository: args.Repository, RunID: args.RunID, Attempt: args.Attempt}
	if _, mine, err := a.take(ctx, key, actionForceCancel, args.DecisionID, 1, log); err != nil || !mine {
		return err
	}
	// An approval re-ran the attempt, so it was over: GitHub re-runs only
	// a completed run, even when its GET run does not show the new
	// attempt yet.
	if rerun, err := a.actions.Action(ctx, key, actionRerun); err == nil && rerun.Done() {
		log.Info("cancelled run re-run since: no force-cancel", "approval", rerun.Owner)
		return a.actions.Complete(ctx, key, actionForceCancel, args.DecisionID, string(github.CancelFinished))
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	owner, name := split(args.Repository)
	client := a.clients(args.InstallationID)
	run, err := client.Run(ctx, owner, name, args.RunID)
	if errors.Is(err, github.ErrNotFound) {
		log.Warn("cancelled run is gone")
		return a.actions.Complete(ctx, key, actionForceCancel, args.DecisionID, "gone")
	}
	if err != nil {
		return err
	}
	if run.GetRunAttempt() > args.Attempt {
		log.Info("cancelled run re-run since: no force-cancel", "latest_attempt", run.GetRunAttempt())
		return a.actions.Complete(ctx, key, actionForceCancel, args.DecisionID, string(github.CancelFinished))
	}
	if res, over := attemptOver(run, args.Attempt); over {
		log.Debug("cancelled run is over", "conclusion", run.GetConclusion())
		return a.overBeforeForceCancel(ctx, key, args, res, log)
	}
	res, err := client.ForceCancelRun(ctx, owner, name, args.RunID)
	if err != nil {
		return err
	}
	a.metrics.cancels.WithLabelValues("force_cancel", string(res)).Inc()
	log.Warn("run kept going after its cancel, force-cancelled", "status", run.GetStatus(), "result", res)
	if err := a.actions.Complete(ctx, key, actionForceCancel, args.DecisionID, string(res)); err != nil {
		return err
	}
	// The reports say the run was cancelled; they now say it was
	// force-cancelled too.
	a.rewriteShown(ctx, key, args, log)
	return nil
}

// overBeforeForceCancel completes the force-cancel of a run attempt that
// ended before it was needed. A cancel recorded as not confirmed is
// recorded as it came out, cancelled (attemptOver's reading of how the
// attempt ended), and the reports, which said it was not confirmed, say
// how.
func (a *actor) overBeforeForceCancel(ctx context.Context, key store.RunKey, args escalateArgs, cancelled github.CancelResult, log *slog.Logger) error {
	c, err := a.actions.Action(ctx, key, actionCancel)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	unconfirmed := c.Done() && c.Ref == refCancelUnconfirmed && c.Owner == args.DecisionID
	if unconfirmed {
		if err := a.actions.SetRef(ctx, key, actionCancel, args.DecisionID, string(cancelled)); err != nil {
			return err
		}
		log.Info("cancel not confirmed before: the run is over now", "result", cancelled)
	}
	if err := a.actions.Complete(ctx, key, actionForceCancel, args.DecisionID, string(github.CancelFinished)); err != nil {
		return err
	}
	if unconfirmed {
		a.rewriteShown(ctx, key, args, log)
	}
	return nil
}

// rewriteShown rewrites a run attempt's reports after its force-cancel:
// with the report of the decision the check run shows (Action.Shows, which
// a click on it approves), else, before there is a check run, the
// escalated decision's. A report that cannot be rewritten is logged: the
// force-cancel is done.
func (a *actor) rewriteShown(ctx context.Context, key store.RunKey, args escalateArgs, log *slog.Logger) {
	id := args.DecisionID
	if cr, err := a.actions.Action(ctx, key, actionCheckRun); err == nil && cr.Shows() != "" {
		id = cr.Shows()
	}
	d, err := a.actions.DecisionByID(ctx, id)
	if err == nil {
		var v *verdict
		if v, err = verdictOf(*d); err == nil {
			err = a.rewrite(ctx, v, log)
		}
	}
	if err != nil {
		log.Warn("cannot say the force-cancel in the run's reports", "err", err, "shown_decision", id)
	}
}
