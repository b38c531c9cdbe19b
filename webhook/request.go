package webhook

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// target is the run attempt a delivery is about, as the decision log
// records it ("run") and the actor acts on it.
type target struct {
	Repository     string `json:"repository"`
	ID             int64  `json:"id"`
	Attempt        int    `json:"attempt"`
	HeadRepository string `json:"head_repository"`
	HeadSHA        string `json:"head_sha"`
	DefaultBranch  string `json:"default_branch"`
	Path           string `json:"workflow_path"`
	// Name is the workflow's name as GitHub shows it (its name: key, else
	// its file); "" when unknown.
	Name         string `json:"workflow_name,omitempty"`
	PullRequests []int  `json:"pull_requests"`
	URL          string `json:"html_url,omitempty"`
	Installation int64  `json:"installation_id"`
}

func (t *target) key() store.RunKey {
	return store.RunKey{Repository: t.Repository, RunID: t.ID, Attempt: t.Attempt}
}

func (t *target) owner() (string, string) { return split(t.Repository) }

func split(fullName string) (string, string) {
	owner, name, _ := strings.Cut(fullName, "/")
	return owner, name
}

// targetOf is the run attempt a run context names. A job's context names
// no workflow file, pull request or head repository until it is completed
// from its run (request.withRun): the head repository is then taken to be
// the repository itself.
func targetOf(c input.Context) target {
	t := target{Repository: c.Repository.FullName, DefaultBranch: c.Repository.DefaultBranch, ID: c.Run.ID,
		Attempt: max(c.Run.Attempt, 1), HeadRepository: c.Run.HeadRepository, HeadSHA: c.Run.HeadSHA,
		Path: c.WorkflowPath, Name: c.WorkflowName, URL: c.RunURL}
	if t.HeadRepository == "" {
		t.HeadRepository = t.Repository
	}
	if len(c.Run.PullRequests) > 0 {
		t.PullRequests = slices.Clone(c.Run.PullRequests)
	}
	return t
}

// dynamicWorkflow reports runs GitHub starts from workflows it manages
// itself (CodeQL default setup, Dependabot updates): their path is no file.
func dynamicWorkflow(path string) bool { return strings.HasPrefix(path, "dynamic/") }

// request is a run delivery to judge, read once from its payload by
// runRequest or jobRequest. It is a value: the judge completes its own
// copy (withRun), never its caller's.
type request struct {
	event      string // input.EventWorkflowRun or input.EventWorkflowJob
	deliveryID string
	receivedAt time.Time
	run        target
	// context is the run context the document is built from; a job's is
	// completed from its run (withRun) before it is.
	context input.Context
	// complete says the run is known in full: a workflow_run delivery's,
	// or a job's once completed from its run.
	complete bool
	// unreadable is why input.ParseEvent could not read the payload: the
	// run it names is denied (bad_payload).
	unreadable error
	// attempt and attemptedAt are the queue job's try.
	attempt     int
	attemptedAt time.Time
}

// runRequest reads a workflow_run delivery; ok is false when the payload
// names no run or repository.
func runRequest(d delivery) (request, bool) {
	c, err := input.ParseEvent(d.Payload)
	if err != nil {
		return unreadableRequest(d, err)
	}
	if c.Event.Name != input.EventWorkflowRun || c.Run.ID == 0 {
		return request{}, false
	}
	return newRequest(d, c, true), true
}

// jobRequest reads a workflow_job delivery; ok is false when the payload
// names no job, run or repository.
func jobRequest(d delivery) (request, bool) {
	c, err := input.ParseEvent(d.Payload)
	if err != nil {
		return unreadableRequest(d, err)
	}
	if c.Event.Name != input.EventWorkflowJob || c.Run.ID == 0 || c.Repository.FullName == "" {
		return request{}, false
	}
	return newRequest(d, c, false), true
}

func newRequest(d delivery, c input.Context, complete bool) request {
	c.Event.DeliveryID = d.ID
	r := request{event: d.Event, deliveryID: d.ID, receivedAt: d.ReceivedAt, run: targetOf(c), context: c,
		complete: complete, attempt: d.attempt, attemptedAt: d.attemptedAt}
	r.run.Installation = d.InstallationID
	return r
}

// withRun completes a job's request from its run as GitHub's API returns
// it (a job's delivery names neither the workflow file nor the pull
// requests). The attempt stays the job's, whatever the run's latest is.
func (r request) withRun(raw []byte) (request, error) {
	c, err := r.context.WithRun(raw)
	if err != nil {
		// GitHub's own answer, which runpolicy cannot read: fail closed.
		return r, &evalError{"bad_payload", fmt.Errorf("decode run %d: %w", r.run.ID, err)}
	}
	c.Event.DeliveryID = r.deliveryID
	run := targetOf(c)
	run.Attempt, run.Installation = r.run.Attempt, r.run.Installation
	r.context, r.run, r.complete = c, run, true
	return r, nil
}

// unreadableRequest is the request for the run an unreadable payload
// names (input.EventRun), so that the run is still denied, not let
// through unjudged; ok is false when it names none.
func unreadableRequest(d delivery, cause error) (request, bool) {
	c, ok := input.EventRun(d.Event, d.Payload)
	if !ok {
		return request{}, false
	}
	r := newRequest(d, c, true)
	r.unreadable = cause
	return r, true
}
