package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// runStore is what the run handlers keep of run attempts (*store.Store).
type runStore interface {
	Claim(ctx context.Context, key store.RunKey, name, owner string, level int) (store.Action, error)
	Action(ctx context.Context, key store.RunKey, name string) (store.Action, error)
	HandedBack(ctx context.Context, key store.RunKey) (bool, error)
	DecisionForDelivery(ctx context.Context, deliveryID string) (*store.Decision, error)
	InstallationFor(ctx context.Context, repo string) (store.Installation, error)
}

// installationFinder asks GitHub which installation covers a repository
// (*github.App).
type installationFinder interface {
	FindInstallation(ctx context.Context, owner, repo string) (int64, error)
}

// runs is what the workflow_run and workflow_job handlers share: the run
// attempt's claims, the installation to act as, the judge and the actor.
type runs struct {
	store runStore
	app   installationFinder
	judge *judge
	actor *actor
}

// actionJudge is claimed by the delivery that judges a run attempt as a
// whole (workflow_run; judgeJobAction for a job).
const actionJudge = "judge:workflow_run"

// claim makes the delivery the one that judges name on the run attempt,
// unless another one already is: a delivery replayed under new delivery
// ids (each validly signed: the replayer had a real one) is judged once,
// even when replicas work two of them at the same moment. The claim
// survives a crash: the owner's job is retried and judges it. other names
// the owner when it is another delivery.
func (r *runs) claim(ctx context.Context, key store.RunKey, name, deliveryID string) (other string, err error) {
	a, err := r.store.Claim(ctx, key, name, deliveryID, 0)
	if err != nil {
		return "", err
	}
	if a.Owner != deliveryID {
		return a.Owner, nil
	}
	return "", nil
}

// installation completes the request with the installation to act as:
// the payload's for App webhooks; otherwise the store's record of the
// owner, or GitHub's answer.
func (r *runs) installation(ctx context.Context, req request) (request, error) {
	if req.run.Installation != 0 {
		return req, nil
	}
	if rec, err := r.store.InstallationFor(ctx, req.run.Repository); err == nil {
		req.run.Installation = rec.ID
		return req, nil
	}
	owner, name := req.run.owner()
	id, err := r.app.FindInstallation(ctx, owner, name)
	req.run.Installation = id
	return req, err
}

// decided reports a delivery with a decision on record, or one the store
// cannot say about: giving up has nothing to decide for it.
func (r *runs) decided(ctx context.Context, deliveryID string) bool {
	_, err := r.store.DecisionForDelivery(ctx, deliveryID)
	return !errors.Is(err, store.ErrNotFound)
}

// judgeAndAct judges a claimed request's run and acts on the verdict.
func (r *runs) judgeAndAct(ctx context.Context, req request, log *slog.Logger) (outcome, error) {
	req, err := r.installation(ctx, req)
	if err != nil {
		return outcome{}, err
	}
	v, err := r.judge.decide(ctx, req, log)
	if errors.Is(err, errSkipRun) {
		return skipped(log, err.Error()), nil
	}
	if err != nil {
		return outcome{}, err
	}
	return r.actor.act(ctx, v, log.With("decision_id", v.ID))
}

// giveUp decides a claimed request's run from the failure that stopped
// its judging, and acts on the verdict.
func (r *runs) giveUp(ctx context.Context, req request, cause error, log *slog.Logger) (outcome, bool, error) {
	req, err := r.installation(ctx, req)
	if err != nil {
		return outcome{}, false, fmt.Errorf("give up judging delivery %s: %w", req.deliveryID, err)
	}
	v, err := r.judge.giveUp(ctx, req, cause, log)
	if err != nil {
		return outcome{}, true, err
	}
	o, err := r.actor.act(ctx, v, log.With("decision_id", v.ID))
	return o, true, err
}
