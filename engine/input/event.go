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
		Name            string       `json:"name"`
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
		WorkflowName    string   `json:"workflow_name"`
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
// The caller fills them from the run (GET /actions/runs/{run_id}) with
// Context.WithRun.
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
	if p.WorkflowRun != nil {
		c := p.WorkflowRun.context(repo, p.Sender)
		c.Event = Event{Name: EventWorkflowRun, Action: p.Action}
		return c, nil
	}
	c := p.WorkflowJob.context(repo, p.Sender)
	c.Event = Event{Name: EventWorkflowJob, Action: p.Action}
	return c, nil
}

// context is the context of a run in repo, as a workflow_run payload or
// GET /repos/{owner}/{repo}/actions/runs/{run_id} describes it; sender
// stands in for an actor the run does not name. The event is the
// caller's.
func (r *workflowRunBody) context(repo Repository, sender payloadUser) Context {
	c := Context{
		Repository:   repo,
		WorkflowPath: r.Path,
		WorkflowName: r.Name,
		RunURL:       r.HTMLURL,
		Run: Run{
			ID:              r.ID,
			Attempt:         r.RunAttempt,
			Number:          r.RunNumber,
			Event:           r.Event,
			Branch:          r.HeadBranch,
			HeadSHA:         r.HeadSHA,
			Actor:           login(r.Actor, sender),
			TriggeringActor: login(r.TriggeringActor, sender),
			PullRequests:    []int{},
		},
		ReferencedWorkflows: map[string]string{},
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
	return c
}

// context is the context of a job in repo, as its workflow_job payload
// describes it, sent by sender: the payload names neither the workflow
// file, the head repository nor the pull requests (Context.WithRun). The
// event is the caller's.
func (j *workflowJobBody) context(repo Repository, sender payloadUser) Context {
	c := Context{
		Repository:   repo,
		WorkflowName: j.WorkflowName,
		Run: Run{
			ID:              j.RunID,
			Attempt:         j.RunAttempt,
			Branch:          j.HeadBranch,
			HeadSHA:         j.HeadSHA,
			Actor:           sender.Login,
			TriggeringActor: sender.Login,
			PullRequests:    []int{},
		},
		WorkflowJob: &WorkflowJob{
			ID:              j.ID,
			Name:            j.Name,
			Labels:          j.Labels,
			RunnerName:      deref(j.RunnerName),
			RunnerGroupName: deref(j.RunnerGroupName),
			Status:          j.Status,
		},
		ReferencedWorkflows: map[string]string{},
	}
	if c.WorkflowJob.Labels == nil {
		c.WorkflowJob.Labels = []string{}
	}
	return c
}

// WithRun is the context of a workflow_job delivery (c, as ParseEvent read
// it) completed from its run, as GET /repos/{owner}/{repo}/actions/runs/{run_id}
// returns it: the job's payload names neither the workflow file, the head
// repository nor the pull requests. The run is the run's, in the job's
// repository; its actors are the run's, with no sender to stand in. The
// event stays workflow_job, its action the job's status, and the job is
// the job's; the workflow's name is the job's when it names one.
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
	out := r.context(c.Repository, payloadUser{})
	out.Event = Event{Name: EventWorkflowJob, Action: c.WorkflowJob.Status}
	out.WorkflowJob = c.WorkflowJob
	if c.WorkflowName != "" {
		out.WorkflowName = c.WorkflowName
	}
	return out, nil
}

// EventRun names the run a workflow_run or workflow_job payload (event)
// is about, for a payload ParseEvent refuses (a field of the wrong type,
// JSON nested too deep), so that the server still decides on the run
// rather than let it go unjudged. It reads only what names the run: the
// repository's name and default branch; the run's id, attempt and head
// commit; a run's workflow file, page and workflow name, a job's id and
// workflow name. ok is false when the payload is not JSON or names no
// repository or no run of event. The payload is the caller's to bound
// (the server's body limit).
func EventRun(event string, payload []byte) (c Context, ok bool) {
	var p eventPayload
	// A field of the wrong type is skipped and the rest read: only the
	// fields that name the run must be there.
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(payload, &p); err != nil && !errors.As(err, &typeErr) {
		return Context{}, false
	}
	if p.Repository == nil || p.Repository.FullName == "" {
		return Context{}, false
	}
	c.Repository = Repository{FullName: p.Repository.FullName, DefaultBranch: p.Repository.DefaultBranch}
	switch r, j := p.WorkflowRun, p.WorkflowJob; {
	case event == EventWorkflowRun && r != nil && r.ID != 0:
		c.Run = Run{ID: r.ID, Attempt: r.RunAttempt, HeadSHA: r.HeadSHA}
		c.WorkflowPath, c.RunURL, c.WorkflowName = r.Path, r.HTMLURL, r.Name
	case event == EventWorkflowJob && j != nil && j.RunID != 0:
		c.Run = Run{ID: j.RunID, Attempt: j.RunAttempt, HeadSHA: j.HeadSHA}
		c.WorkflowJob = &WorkflowJob{ID: j.ID, Labels: []string{}}
		c.WorkflowName = j.WorkflowName
	default:
		return Context{}, false
	}
	return c, true
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
