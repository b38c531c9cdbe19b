package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// judgeClient is what the judge asks GitHub, as one installation
// (*github.Client).
type judgeClient interface {
	Content(ctx context.Context, owner, repo, path, ref string) ([]byte, error)
	RunJSON(ctx context.Context, owner, repo string, id int64) (json.RawMessage, error)
}

// evaluator evaluates the active policies (*engine.Engine).
type evaluator interface {
	Eval(ctx context.Context, doc *input.Document) (*engine.Decision, error)
	Revisions() map[string]string
}

// decisionStore is where the judge records its verdicts (*store.Store).
type decisionStore interface {
	DecisionForDelivery(ctx context.Context, deliveryID string) (*store.Decision, error)
	SaveDecision(ctx context.Context, d store.Decision) (store.Decision, error)
}

// judge decides on runs, once per delivery: it fetches the run's workflow
// (and a job's run), normalizes it, resolves and evaluates it
// (evaluate.go), and records the verdict.
type judge struct {
	clients func(installation int64) judgeClient
	engine  evaluator
	// facts caches parsed workflows by content; resolver returns an
	// installation's resolver, nil to judge direct references only.
	facts    *input.Cache
	resolver func(installation int64) Resolver
	// cpu bounds how many runs are normalized and evaluated at once.
	cpu       slots
	decisions decisionStore
	// approvals lists the approvals of a workflow; nil: none.
	approvals approvalLister
	// onError, evalTimeout and attempts are the configuration's
	// on_error, eval_timeout and judge_attempts.
	onError     string
	evalTimeout time.Duration
	attempts    int
	// instance names this process in the decision log.
	instance string
	metrics  *judgeMetrics
}

// decide returns the verdict on a request's run. A retry after the verdict
// was recorded reuses it. A workflow runpolicy cannot judge for a reason
// its author controls (authored) is denied at once. Failures GitHub may
// recover from are retried by the queue up to judge_attempts; after that,
// and at once for other failures outside the author's control, on_error
// decides. errSkipRun says the run is not runpolicy's to judge.
func (j *judge) decide(ctx context.Context, req request, log *slog.Logger) (*verdict, error) {
	if v, err := j.recorded(ctx, req); v != nil || err != nil {
		return v, err
	}
	start := time.Now()
	timers := map[string]int64{}
	req, doc, result, evalErr := j.evaluate(ctx, req, timers)
	if errors.Is(evalErr, errSkipRun) {
		return nil, evalErr
	}
	if evalErr != nil && errorCode(evalErr) == "eval_timeout" && req.attempt < 2 && ctx.Err() == nil {
		// The deadline is wall time: a machine starved of CPU can run out
		// of it on any workflow. The queue tries once more; a workflow
		// that is slow to evaluate is slow again, and is denied then.
		log.Warn("evaluation ran out of eval_timeout; trying once more before denying", "err", evalErr)
		return nil, evalErr
	}
	if evalErr != nil && !authored(evalErr) {
		if temporary, _ := github.Temporary(evalErr); temporary && req.attempt < j.attempts && ctx.Err() == nil {
			return nil, evalErr
		}
		if ctx.Err() != nil {
			return nil, ctx.Err() // shutting down or out of time: the queue tries again, then gives up
		}
	}
	timers["timer_server_handler_ns"] = time.Since(start).Nanoseconds()
	if !req.attemptedAt.IsZero() && !req.receivedAt.IsZero() {
		// From the delivery's arrival to a worker taking it (first attempt)
		// and to this decision.
		timers["timer_queue_ns"] = req.attemptedAt.Sub(req.receivedAt).Nanoseconds()
		timers["timer_received_to_decision_ns"] = time.Since(req.receivedAt).Nanoseconds()
	}
	j.metrics.seconds.Observe(time.Since(start).Seconds())
	return j.record(ctx, req, doc, result, evalErr, timers, log)
}

// giveUp records the verdict on a run that judging could not decide, from
// the failure that stopped it: on_error for a failure outside the
// author's control, a deny for one in it (authored).
func (j *judge) giveUp(ctx context.Context, req request, cause error, log *slog.Logger) (*verdict, error) {
	if !req.complete {
		// A job's delivery does not name the workflow file; the report
		// does better with it, when GitHub answers (and goes without it
		// when not).
		if completed, err := j.completeRun(ctx, req); err == nil {
			req = completed
		}
	}
	log.Warn("judging gave up; deciding from the failure", "err", cause, "attempt", req.attempt)
	return j.record(ctx, req, nil, nil, cause, map[string]int64{}, log)
}

// recorded returns the verdict already recorded for the request's
// delivery, nil when there is none.
func (j *judge) recorded(ctx context.Context, req request) (*verdict, error) {
	prev, err := j.decisions.DecisionForDelivery(ctx, req.deliveryID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return j.readBack(*prev, req)
}

func (j *judge) readBack(d store.Decision, req request) (*verdict, error) {
	v, err := verdictOf(d)
	if err != nil {
		return nil, err
	}
	v.receivedAt = req.receivedAt
	return v, nil
}

// record makes the verdict on a run from what judging it produced, the
// policies' result or the error that stopped it, and saves it. A failure
// the workflow's author controls (authored) is a deny with a finding
// naming the cause; any other failure is on_error's to decide.
func (j *judge) record(ctx context.Context, req request, doc *input.Document, result *engine.Decision, evalErr error,
	timers map[string]int64, log *slog.Logger) (*verdict, error) {
	v := &verdict{ID: uuid.NewString(), DeliveryID: req.deliveryID, Event: req.event, Run: req.run,
		Revisions: j.engine.Revisions(), Instance: j.instance, Timestamp: time.Now().UTC(), Metrics: timers, Input: doc,
		receivedAt: req.receivedAt}
	if v.Run.Name == "" && doc != nil {
		v.Run.Name = doc.Workflow.Name
	}
	if result != nil && doc != nil {
		jobLines(result, doc)
	}
	switch {
	case evalErr != nil && authored(evalErr):
		v.Result, v.Outcome, v.Cancel = unreadable(evalErr), store.OutcomeDeny, true
	case evalErr != nil:
		v.Outcome, v.Cancel = store.OutcomeError, j.onError == OnErrorCancel
		v.Error = &judgeError{Code: errorCode(evalErr), Message: evalErr.Error(), OnError: j.onError}
	case !result.Allow:
		v.Result, v.Outcome, v.Cancel = result, store.OutcomeDeny, true
	default:
		v.Result, v.Outcome = result, store.OutcomeAllow
	}
	saved, err := j.decisions.SaveDecision(ctx, v.decision())
	if err != nil {
		return nil, err
	}
	if saved.ID != v.ID { // another worker of the same delivery got there first
		return j.readBack(saved, req)
	}
	j.count(v)
	attrs := []any{"decision_id", v.ID, "outcome", v.Outcome, "cancel", v.Cancel}
	if v.Result != nil {
		attrs = append(attrs, "violations", len(v.Result.Violations), "revisions", v.Revisions)
	}
	switch {
	case v.Error != nil:
		log.Warn("run could not be judged", append(attrs, "err", evalErr, "on_error", j.onError)...)
	case evalErr != nil:
		log.Warn("run denied: its workflow cannot be judged", append(attrs, "err", evalErr, "code", errorCode(evalErr))...)
	default:
		log.Info("run judged", attrs...)
	}
	return v, nil
}

// jobLines gives a finding that names a job but no line the job's line:
// a finding made at queue time names the job as GitHub does (its name, a
// matrix job's with its values in parentheses), and its annotation and
// link would otherwise point at line 1. A name that fits no job, or
// several, is left without a line.
func jobLines(result *engine.Decision, doc *input.Document) {
	for _, list := range [][]engine.Violation{result.Violations, result.Warnings} {
		for i := range list {
			x := &list[i]
			if x.Line > 0 || x.Job == "" {
				continue
			}
			if job, ok := doc.Jobs[x.Job]; ok && job != nil {
				x.Line = job.Line
				continue
			}
			line, n := 0, 0
			for id, job := range doc.Jobs {
				if job == nil {
					continue
				}
				for _, name := range []string{id, job.Name} {
					if name != "" && (x.Job == name || strings.HasPrefix(x.Job, name+" (")) {
						line, n = job.Line, n+1
						break
					}
				}
			}
			if n == 1 {
				x.Line = line
			}
		}
	}
}

// count adds a new verdict to the decision metrics.
func (j *judge) count(v *verdict) {
	j.metrics.decisions.WithLabelValues(v.Outcome).Inc()
	if v.Result == nil {
		return
	}
	strongest := map[string]string{}
	for _, x := range v.Result.Violations {
		j.metrics.violations.WithLabelValues(x.Policy, x.Mode).Inc()
		if strongest[x.Policy] != engine.ModeEnforce {
			strongest[x.Policy] = x.Mode
		}
	}
	for policy, mode := range strongest {
		j.metrics.policyDecisions.WithLabelValues(policy, mode).Inc()
	}
}
