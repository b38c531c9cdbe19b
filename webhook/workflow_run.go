package webhook

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/riverqueue/river/rivertype"

	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// runObject is the part of a workflow run (the workflow_run payload's
// object, or GET …/actions/runs/{id}) the server needs to fetch and act.
type runObject struct {
	ID             int64  `json:"id"`
	RunAttempt     int    `json:"run_attempt"`
	Path           string `json:"path"`
	HeadSHA        string `json:"head_sha"`
	HTMLURL        string `json:"html_url"`
	HeadRepository *struct {
		FullName string `json:"full_name"`
	} `json:"head_repository"`
	PullRequests []struct {
		Number int `json:"number"`
	} `json:"pull_requests"`
}

type repoObject struct {
	FullName      string `json:"full_name"`
	DefaultBranch string `json:"default_branch"`
}

type installationObject struct {
	ID int64 `json:"id"`
}

// fill copies a run object into t.
func (t *target) fill(run runObject) {
	t.ID, t.Path, t.HeadSHA, t.URL = run.ID, run.Path, run.HeadSHA, run.HTMLURL
	if run.RunAttempt > 0 {
		t.Attempt = run.RunAttempt
	}
	t.HeadRepository = t.Repository
	if run.HeadRepository != nil && run.HeadRepository.FullName != "" {
		t.HeadRepository = run.HeadRepository.FullName
	}
	t.PullRequests = t.PullRequests[:0]
	for _, pr := range run.PullRequests {
		t.PullRequests = append(t.PullRequests, pr.Number)
	}
}

// dynamicWorkflow reports runs GitHub starts from workflows it manages
// itself (CodeQL default setup, Dependabot updates): their path is no file.
func dynamicWorkflow(path string) bool { return strings.HasPrefix(path, "dynamic/") }

// runDelivery reads the run of a workflow_run delivery; ok is false when
// the payload has no run or repository.
func runDelivery(d *store.Delivery) (t *target, in *installationObject, ok bool) {
	var p struct {
		WorkflowRun  *runObject          `json:"workflow_run"`
		Repository   *repoObject         `json:"repository"`
		Installation *installationObject `json:"installation"`
	}
	if err := json.Unmarshal(d.Payload, &p); err != nil || p.WorkflowRun == nil || p.Repository == nil || p.WorkflowRun.ID == 0 {
		return nil, nil, false
	}
	t = &target{Repository: p.Repository.FullName, DefaultBranch: p.Repository.DefaultBranch, Attempt: 1,
		deliveryID: d.ID, receivedAt: d.ReceivedAt}
	t.fill(*p.WorkflowRun)
	return t, p.Installation, true
}

// onWorkflowRun judges a requested workflow run as a whole.
func (s *Server) onWorkflowRun(ctx context.Context, job *rivertype.JobRow, d *store.Delivery, log *slog.Logger) (string, error) {
	t, in, ok := runDelivery(d)
	if !ok {
		return skip(log, "workflow_run payload without a run or repository"), nil
	}
	log = log.With("repository", t.Repository, "run_id", t.ID, "run_attempt", t.Attempt)
	if dynamicWorkflow(t.Path) {
		return skip(log, "GitHub-managed workflow "+t.Path), nil
	}
	// A replay under a new delivery id: the run attempt is judged once, by
	// the delivery that claims it first, even when replicas work two
	// deliveries of it at the same moment. The claim survives a crash: the
	// owner's job is retried and judges it.
	claim, err := s.store.Claim(ctx, t.key(), actionJudge, d.ID, 0)
	if err != nil {
		return "", err
	}
	if claim.Owner != d.ID {
		return skip(log, "run attempt already judged (delivery "+claim.Owner+")"), nil
	}
	installation, err := s.installationOf(ctx, d, in, t.Repository)
	if err != nil {
		return "", err
	}
	t.Installation = installation
	load := func(context.Context, *target) ([]byte, *input.WorkflowJob, error) { return d.Payload, nil, nil }
	v, err := s.judge(ctx, job, t, "workflow_run", load, log)
	if err != nil {
		return "", err
	}
	return s.act(ctx, job, v, log.With("decision_id", v.ID))
}

// installationOf finds the installation to act as: the payload says it for
// App webhooks; otherwise the store's record of the owner, or GitHub.
func (s *Server) installationOf(ctx context.Context, d *store.Delivery, in *installationObject, repo string) (int64, error) {
	if in != nil && in.ID != 0 {
		return in.ID, nil
	}
	if d.InstallationID != 0 {
		return d.InstallationID, nil
	}
	if rec, err := s.store.InstallationFor(ctx, repo); err == nil {
		return rec.ID, nil
	}
	owner, name := split(repo)
	return s.app.FindInstallation(ctx, owner, name)
}
