package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/riverqueue/river/rivertype"

	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// jobObject is the workflow_job payload's job.
type jobObject struct {
	ID              int64    `json:"id"`
	RunID           int64    `json:"run_id"`
	RunAttempt      int      `json:"run_attempt"`
	HeadSHA         string   `json:"head_sha"`
	Name            string   `json:"name"`
	Labels          []string `json:"labels"`
	Status          string   `json:"status"`
	RunnerName      *string  `json:"runner_name"`
	RunnerGroupName *string  `json:"runner_group_name"`
}

// jobDelivery is what a workflow_job delivery says.
type jobDelivery struct {
	t            *target
	job          *jobObject
	repository   json.RawMessage
	installation *installationObject
}

// readJobDelivery reads a workflow_job delivery; ok is false when the
// payload has no job or repository.
func readJobDelivery(d *store.Delivery) (jd jobDelivery, ok bool) {
	var p struct {
		WorkflowJob  *jobObject          `json:"workflow_job"`
		Repository   json.RawMessage     `json:"repository"`
		Installation *installationObject `json:"installation"`
	}
	var repo repoObject
	if err := json.Unmarshal(d.Payload, &p); err != nil || p.WorkflowJob == nil || p.WorkflowJob.RunID == 0 ||
		json.Unmarshal(p.Repository, &repo) != nil || repo.FullName == "" {
		return jobDelivery{}, false
	}
	wj := p.WorkflowJob
	t := &target{Repository: repo.FullName, DefaultBranch: repo.DefaultBranch, ID: wj.RunID, Attempt: max(wj.RunAttempt, 1),
		HeadSHA: wj.HeadSHA, HeadRepository: repo.FullName, deliveryID: d.ID, receivedAt: d.ReceivedAt}
	return jobDelivery{t: t, job: wj, repository: p.Repository, installation: p.Installation}, true
}

// judgeJobAction is claimed by the delivery that judges a job of a run
// attempt: a job's delivery replayed under new delivery ids (each validly
// signed: the replayer had a real one) is judged once.
func judgeJobAction(jobID int64) string { return "judge:workflow_job:" + strconv.FormatInt(jobID, 10) }

// fillRun completes a job's target from its run, fetched from GitHub (a
// job's delivery names neither the workflow file nor the pull requests),
// and returns the run's JSON. The attempt stays the job's, whatever the
// run's latest is.
func (s *Server) fillRun(ctx context.Context, t *target) ([]byte, error) {
	owner, name := t.owner()
	raw, err := s.app.Installation(t.Installation).RunJSON(ctx, owner, name, t.ID)
	if err != nil {
		return nil, err
	}
	var obj runObject
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("decode run %d: %w", t.ID, err)
	}
	attempt := t.Attempt
	t.fill(obj)
	t.Attempt = attempt
	return raw, nil
}

// onWorkflowJob judges a queued or waiting job with the runner labels
// GitHub resolved. It also catches a run whose workflow_run delivery never
// arrived: the whole workflow is judged again with the job's context.
func (s *Server) onWorkflowJob(ctx context.Context, job *rivertype.JobRow, d *store.Delivery, log *slog.Logger) (string, error) {
	jd, ok := readJobDelivery(d)
	if !ok {
		return skip(log, "workflow_job payload without a job or repository"), nil
	}
	t, wj := jd.t, jd.job
	log = log.With("repository", t.Repository, "run_id", t.ID, "run_attempt", t.Attempt, "job", wj.Name)
	if s.cancelledAndClaimed(ctx, t.key(), d.ID) {
		return skip(log, "run attempt already cancelled"), nil
	}
	claim, err := s.store.Claim(ctx, t.key(), judgeJobAction(wj.ID), d.ID, 0)
	if err != nil {
		return "", err
	}
	if claim.Owner != d.ID {
		return skip(log, fmt.Sprintf("job %d of the run attempt already judged (delivery %s)", wj.ID, claim.Owner)), nil
	}
	installation, err := s.installationOf(ctx, d, jd.installation, t.Repository)
	if err != nil {
		return "", err
	}
	t.Installation = installation

	// The job payload does not say which workflow file the run executes:
	// the run does. Its object normalizes like a workflow_run delivery.
	load := func(ctx context.Context, t *target) ([]byte, *input.WorkflowJob, error) {
		raw, err := s.fillRun(ctx, t)
		if err != nil {
			return nil, nil, err
		}
		if dynamicWorkflow(t.Path) {
			return nil, nil, fmt.Errorf("%w: GitHub-managed workflow %s", errSkipRun, t.Path)
		}
		payload, err := json.Marshal(map[string]any{
			"action": "requested", "workflow_run": json.RawMessage(raw),
			"repository": jd.repository, "installation": jd.installation,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("encode run %d: %w", t.ID, err)
		}
		return payload, jobContext(d.Payload, wj), nil
	}
	v, err := s.judge(ctx, job, t, "workflow_job", load, log)
	if errors.Is(err, errSkipRun) {
		return skip(log, err.Error()), nil
	}
	if err != nil {
		return "", err
	}
	return s.act(ctx, job, v, log.With("decision_id", v.ID))
}

// cancelledAndClaimed reports a run attempt whose cancel is done and whose
// other actions have owners, when delivery made no decision yet: its jobs'
// deliveries have nothing left to do. A delivery that decided finishes
// what it claimed (its retry after a failed report must not stop here),
// and an action handed back needs a decision to take it over.
func (s *Server) cancelledAndClaimed(ctx context.Context, key store.RunKey, delivery string) bool {
	if a, err := s.store.Action(ctx, key, actionCancel); err != nil || !a.Done() {
		return false
	}
	if _, err := s.store.DecisionForDelivery(ctx, delivery); !errors.Is(err, store.ErrNotFound) {
		return false
	}
	handedBack, err := s.store.HandedBack(ctx, key)
	return err == nil && !handedBack
}

// jobContext is the workflow_job part of the input document: the
// normalizer's reading of the payload, or the job's fields as they are.
func jobContext(payload []byte, wj *jobObject) *input.WorkflowJob {
	if rc, err := input.ParseEvent(payload); err == nil && rc.WorkflowJob != nil {
		return rc.WorkflowJob
	}
	out := &input.WorkflowJob{ID: wj.ID, Name: wj.Name, Labels: wj.Labels, Status: wj.Status}
	if out.Labels == nil {
		out.Labels = []string{}
	}
	if wj.RunnerName != nil {
		out.RunnerName = *wj.RunnerName
	}
	if wj.RunnerGroupName != nil {
		out.RunnerGroupName = *wj.RunnerGroupName
	}
	return out
}
