package input

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/runpolicy/runpolicy/internal/oneline"
)

// Limits on a webhook payload. GitHub caps deliveries at 25 MB and real
// payloads nest about ten levels.
const (
	MaxPayloadSize  = 25 << 20
	MaxPayloadDepth = 64
)

// Event names ParseEvent reads.
const (
	EventWorkflowRun = "workflow_run"
	EventWorkflowJob = "workflow_job"
)

// The parts of a payload ParseEvent reads. go-github's types miss fields
// the payload has (workflow_run.path), so the payload is read directly.
type (
	eventPayload struct {
		Action      string           `json:"action"`
		Repository  *payloadRepo     `json:"repository"`
		Sender      payloadUser      `json:"sender"`
		WorkflowRun *workflowRunBody `json:"workflow_run"`
		WorkflowJob *workflowJobBody `json:"workflow_job"`
	}
	payloadRepo struct {
		FullName      string      `json:"full_name"`
		Name          string      `json:"name"`
		Owner         payloadUser `json:"owner"`
		DefaultBranch string      `json:"default_branch"`
		Visibility    string      `json:"visibility"`
		Private       bool        `json:"private"`
		Fork          bool        `json:"fork"`
	}
	payloadUser struct {
		Login string `json:"login"`
	}
	workflowRunBody struct {
		ID              int64        `json:"id"`
		RunAttempt      int          `json:"run_attempt"`
		RunNumber       int          `json:"run_number"`
		Event           string       `json:"event"`
		HeadBranch      string       `json:"head_branch"`
		HeadSHA         string       `json:"head_sha"`
		Path            string       `json:"path"`
		HTMLURL         string       `json:"html_url"`
		Actor           *payloadUser `json:"actor"`
		TriggeringActor *payloadUser `json:"triggering_actor"`
		HeadRepository  *payloadRepo `json:"head_repository"`
		PullRequests    []struct {
			Number int `json:"number"`
		} `json:"pull_requests"`
		ReferencedWorkflows []struct {
			Path string `json:"path"`
			SHA  string `json:"sha"`
			Ref  string `json:"ref"`
		} `json:"referenced_workflows"`
	}
	workflowJobBody struct {
		ID              int64    `json:"id"`
		RunID           int64    `json:"run_id"`
		RunAttempt      int      `json:"run_attempt"`
		HeadSHA         string   `json:"head_sha"`
		HeadBranch      string   `json:"head_branch"`
		Name            string   `json:"name"`
		Labels          []string `json:"labels"`
		RunnerName      *string  `json:"runner_name"`
		RunnerGroupName *string  `json:"runner_group_name"`
		Status          string   `json:"status"`
	}
)

// ParseEvent reads the run context from a workflow_run or workflow_job
// webhook payload. The event is told by the payload's keys, so the same
// function serves the server (which also has X-GitHub-Event) and the
// command line's --event file. Event.DeliveryID is left for the caller.
//
// A workflow_job payload names no workflow file and no head repository:
// WorkflowPath and Run.HeadRepository stay empty, and Run.IsDefaultBranch
// stays false because a fork's branch can carry the default branch's name.
// The caller fills them from the run (GET /actions/runs/{run_id}).
func ParseEvent(payload []byte) (Context, error) {
	if len(payload) > MaxPayloadSize {
		return Context{}, fmt.Errorf("event payload: %d bytes, over the limit of %d", len(payload), MaxPayloadSize)
	}
	if err := checkJSONDepth(payload, MaxPayloadDepth); err != nil {
		return Context{}, fmt.Errorf("event payload: %w", err)
	}
	var p eventPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return Context{}, fmt.Errorf("event payload: not a webhook payload: %s", oneline.Fold(err.Error()))
	}
	return p.context()
}

// context reads the run context from a decoded payload.
func (p *eventPayload) context() (Context, error) {
	switch {
	case p.WorkflowRun != nil && p.WorkflowJob != nil:
		return Context{}, errors.New("event payload: has both workflow_run and workflow_job")
	case p.WorkflowRun == nil && p.WorkflowJob == nil:
		return Context{}, errors.New("event payload: not a workflow_run or workflow_job event")
	case p.Repository == nil:
		return Context{}, errors.New("event payload: no repository")
	}

	repo := p.Repository.repository()
	c := Context{
		Repository:          repo,
		Run:                 Run{PullRequests: []int{}},
		ReferencedWorkflows: map[string]string{},
	}
	if r := p.WorkflowRun; r != nil {
		c.Event = Event{Name: EventWorkflowRun, Action: p.Action}
		c.WorkflowPath = r.Path
		c.RunURL = r.HTMLURL
		c.Run = Run{
			ID:              r.ID,
			Attempt:         r.RunAttempt,
			Number:          r.RunNumber,
			Event:           r.Event,
			Branch:          r.HeadBranch,
			HeadSHA:         r.HeadSHA,
			Actor:           login(r.Actor, p.Sender),
			TriggeringActor: login(r.TriggeringActor, p.Sender),
			PullRequests:    []int{},
		}
		// Without head_repository the run is taken to come from the
		// repository itself; GitHub always sends it for runs.
		c.Run.HeadRepository = repo.FullName
		if r.HeadRepository != nil && r.HeadRepository.FullName != "" {
			c.Run.HeadRepository = r.HeadRepository.FullName
		}
		c.Run.FromFork = !strings.EqualFold(c.Run.HeadRepository, repo.FullName)
		c.Run.IsDefaultBranch = !c.Run.FromFork && r.HeadBranch != "" && r.HeadBranch == repo.DefaultBranch
		for _, pr := range r.PullRequests {
			c.Run.PullRequests = append(c.Run.PullRequests, pr.Number)
		}
		for _, w := range r.ReferencedWorkflows {
			if key, ok := referencedKey(w.Path, w.Ref); ok && IsFullSHA(strings.ToLower(w.SHA)) {
				c.ReferencedWorkflows[key] = strings.ToLower(w.SHA)
			}
		}
		return c, nil
	}

	j := p.WorkflowJob
	c.Event = Event{Name: EventWorkflowJob, Action: p.Action}
	c.Run = Run{
		ID:              j.RunID,
		Attempt:         j.RunAttempt,
		Branch:          j.HeadBranch,
		HeadSHA:         j.HeadSHA,
		Actor:           p.Sender.Login,
		TriggeringActor: p.Sender.Login,
		PullRequests:    []int{},
	}
	c.WorkflowJob = &WorkflowJob{
		ID:              j.ID,
		Name:            j.Name,
		Labels:          j.Labels,
		RunnerName:      deref(j.RunnerName),
		RunnerGroupName: deref(j.RunnerGroupName),
		Status:          j.Status,
	}
	if c.WorkflowJob.Labels == nil {
		c.WorkflowJob.Labels = []string{}
	}
	return c, nil
}

// WithRun completes the context of a workflow_job delivery (ParseEvent)
// from its run, as GET /repos/{owner}/{repo}/actions/runs/{run_id} returns
// it: the job's payload names neither the workflow file, the head
// repository nor the pull requests. The run is read as a workflow_run
// payload's run in the job's repository, without a sender; the event stays
// workflow_job, its action the job's status.
func (c Context) WithRun(run []byte) (Context, error) {
	if c.WorkflowJob == nil {
		return Context{}, errors.New("run of a job: the context is not a workflow_job event's")
	}
	if len(run) > MaxPayloadSize {
		return Context{}, fmt.Errorf("run of a job: %d bytes, over the limit of %d", len(run), MaxPayloadSize)
	}
	if err := checkJSONDepth(run, MaxPayloadDepth); err != nil {
		return Context{}, fmt.Errorf("run of a job: %w", err)
	}
	var r workflowRunBody
	if err := json.Unmarshal(run, &r); err != nil {
		return Context{}, fmt.Errorf("run of a job: not a workflow run: %s", oneline.Fold(err.Error()))
	}
	repo := payloadRepo{FullName: c.Repository.FullName, Name: c.Repository.Name, Owner: payloadUser{c.Repository.Owner},
		DefaultBranch: c.Repository.DefaultBranch, Visibility: c.Repository.Visibility, Fork: c.Repository.Fork}
	out, err := (&eventPayload{Action: "requested", Repository: &repo, WorkflowRun: &r}).context()
	if err != nil {
		return Context{}, err
	}
	out.Event = Event{Name: EventWorkflowJob, Action: c.WorkflowJob.Status}
	out.WorkflowJob = c.WorkflowJob
	return out, nil
}

func (r *payloadRepo) repository() Repository {
	repo := Repository{
		FullName:      r.FullName,
		Owner:         r.Owner.Login,
		Name:          r.Name,
		DefaultBranch: r.DefaultBranch,
		Visibility:    r.Visibility,
		Fork:          r.Fork,
	}
	if repo.Visibility == "" { // older payloads only say private or not
		repo.Visibility = "public"
		if r.Private {
			repo.Visibility = "private"
		}
	}
	owner, name, ok := strings.Cut(r.FullName, "/")
	if repo.Owner == "" && ok {
		repo.Owner = owner
	}
	if repo.Name == "" && ok {
		repo.Name = name
	}
	return repo
}

func login(u *payloadUser, fallback payloadUser) string {
	if u != nil && u.Login != "" {
		return u.Login
	}
	return fallback.Login
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// checkJSONDepth rejects JSON nested deeper than max before it is decoded.
// It scans brackets outside strings and leaves syntax errors to the decoder.
func checkJSONDepth(data []byte, max int) error {
	depth, inString, escaped := 0, false, false
	for _, b := range data {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch b {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '{' || b == '[':
			depth++
			if depth > max {
				return fmt.Errorf("JSON nested deeper than %d levels", max)
			}
		case b == '}' || b == ']':
			depth--
		}
	}
	return nil
}

// referencedKey is the key of a referenced_workflows entry:
// "owner/repo/path@ref" with owner and repo in lower case, as GitHub
// matches them. The ref comes from the path ("…/ci.yml@v1"), else from the
// entry's ref ("refs/tags/v1"); without either there is nothing to match.
func referencedKey(path, ref string) (string, bool) {
	name, at, found := strings.Cut(path, "@")
	if !found {
		at = strings.TrimPrefix(strings.TrimPrefix(ref, "refs/heads/"), "refs/tags/")
	}
	owner, rest, ok1 := strings.Cut(name, "/")
	repo, file, ok2 := strings.Cut(rest, "/")
	if !ok1 || !ok2 || owner == "" || repo == "" || file == "" || at == "" {
		return "", false
	}
	return ReferencedWorkflowKey(owner, repo, file, at), true
}

// ReferencedWorkflowKey is how Context.ReferencedWorkflows keys the
// reusable workflow at path in owner/repo, called at ref.
func ReferencedWorkflowKey(owner, repo, path, ref string) string {
	return strings.ToLower(owner) + "/" + strings.ToLower(repo) + "/" + path + "@" + ref
}
