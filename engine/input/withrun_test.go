package input

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// oldWithRun is how a job's context was completed before WithRun built it
// directly: the run re-encoded as a requested workflow_run payload in the
// job's repository, without a sender, read by ParseEvent, then the job's
// event and job put back. The workflow's name was the server's to read:
// the job's, else the run's.
func oldWithRun(t *testing.T, job Context, run []byte) Context {
	t.Helper()
	r := job.Repository
	payload, err := json.Marshal(map[string]any{
		"action":       "requested",
		"workflow_run": json.RawMessage(run),
		"repository": map[string]any{"full_name": r.FullName, "name": r.Name, "owner": map[string]any{"login": r.Owner},
			"default_branch": r.DefaultBranch, "visibility": r.Visibility, "fork": r.Fork},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseEvent(payload)
	if err != nil {
		t.Fatal(err)
	}
	c.Event = Event{Name: EventWorkflowJob, Action: job.WorkflowJob.Status}
	c.WorkflowJob = job.WorkflowJob
	c.WorkflowName = job.WorkflowName
	if c.WorkflowName == "" {
		var named struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(run, &named)
		c.WorkflowName = named.Name
	}
	return c
}

// TestWithRun: a job's context completed from its run (as the API returns
// it) is what the server read before WithRun built it directly, for runs
// and jobs of every shape; the parts each side gives are checked apart.
func TestWithRun(t *testing.T) {
	corpusPayload := func(name string) map[string]any {
		b, err := os.ReadFile(filepath.Join(corpus, "payloads", name))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	// The corpus run as the API shows it: from a fork, with a pull request.
	forkRun := corpusPayload("workflow_run.requested.json")["workflow_run"].(map[string]any)
	forkRun["head_repository"].(map[string]any)["full_name"] = "fork/octo-repo"
	forkRun["pull_requests"] = []any{map[string]any{"number": 7}}

	repo := map[string]any{"full_name": "acme/api", "name": "api", "owner": map[string]any{"login": "acme"},
		"default_branch": "main", "visibility": "internal"}
	jobPayload := func(job map[string]any, repo map[string]any) map[string]any {
		base := map[string]any{"id": 555, "run_id": 42, "run_attempt": 1, "head_sha": "abc", "head_branch": "main",
			"name": "build", "labels": []any{"ubuntu-latest"}, "status": "queued"}
		for k, v := range job {
			base[k] = v
		}
		return map[string]any{"action": "queued", "workflow_job": base, "repository": repo, "sender": map[string]any{"login": "sender"}}
	}
	run := func(fields map[string]any) map[string]any {
		base := map[string]any{"id": 42, "name": "Build", "run_attempt": 3, "run_number": 17, "event": "pull_request",
			"head_branch": "feature", "head_sha": "abc", "path": ".github/workflows/ci.yml",
			"html_url": "https://github.com/acme/api/actions/runs/42", "actor": map[string]any{"login": "alice"},
			"triggering_actor": map[string]any{"login": "bob"}, "head_repository": map[string]any{"full_name": "acme/api"},
			"pull_requests": []any{}}
		for k, v := range fields {
			if v == nil {
				delete(base, k)
				continue
			}
			base[k] = v
		}
		return base
	}

	for _, tc := range []struct {
		name string
		job  map[string]any // a workflow_job payload
		run  map[string]any // the run, as GET …/actions/runs/{id} returns it
		want func(c Context) string
	}{
		{name: "corpus job, run from a fork with a pull request",
			job: corpusPayload("workflow_job.queued.json"), run: forkRun,
			want: func(c Context) string {
				if c.WorkflowPath != ".github/workflows/test.yml" || c.Run.HeadRepository != "fork/octo-repo" || !c.Run.FromFork ||
					len(c.Run.PullRequests) != 1 || !strings.HasPrefix(c.RunURL, "https://github.com/") ||
					c.Event != (Event{Name: EventWorkflowJob, Action: "queued"}) || c.WorkflowName != "CodeQL" {
					return "want the run's path, fork, pull request and page, the job's event and workflow name"
				}
				return ""
			}},
		{name: "run on the default branch, the workflow named by the run",
			job: jobPayload(map[string]any{"workflow_name": ""}, repo), run: run(map[string]any{"head_branch": "main",
				"referenced_workflows": []any{map[string]any{"path": "acme/shared/.github/workflows/b.yml@v1",
					"sha": "0123456789ABCDEF0123456789abcdef01234567"}}}),
			want: func(c Context) string {
				if !c.Run.IsDefaultBranch || c.Run.FromFork || c.WorkflowName != "Build" || c.Repository.Visibility != "internal" ||
					c.ReferencedWorkflows["acme/shared/.github/workflows/b.yml@v1"] != "0123456789abcdef0123456789abcdef01234567" {
					return "want the default branch, the run's workflow name, the job's repository and the run's referenced workflows"
				}
				return ""
			}},
		{name: "the run's attempt, number, event and actors; the job's name for the workflow",
			job: jobPayload(map[string]any{"workflow_name": "CI", "run_attempt": 1, "head_branch": "other"}, repo), run: run(nil),
			want: func(c Context) string {
				if c.Run.Attempt != 3 || c.Run.Number != 17 || c.Run.Event != "pull_request" || c.Run.Branch != "feature" ||
					c.Run.Actor != "alice" || c.Run.TriggeringActor != "bob" || c.WorkflowName != "CI" {
					return "want the run's attempt, number, event, branch and actors, and the job's workflow name"
				}
				return ""
			}},
		{name: "a run naming no actor or head repository",
			job: jobPayload(map[string]any{"labels": nil, "runner_name": "r1", "runner_group_name": "g1", "status": "waiting"}, repo),
			run: run(map[string]any{"actor": nil, "triggering_actor": nil, "head_repository": nil}),
			want: func(c Context) string {
				if c.Run.Actor != "" || c.Run.TriggeringActor != "" || c.Run.HeadRepository != "acme/api" || c.Run.FromFork ||
					c.Event.Action != "waiting" || c.WorkflowJob.RunnerName != "r1" || c.WorkflowJob.Labels == nil {
					return "want no actor (no sender stands in), the job's repository as head, the job's status and runner"
				}
				return ""
			}},
		{name: "a fork's branch named like the default branch, in a private repository",
			job: jobPayload(nil, map[string]any{"full_name": "acme/api", "default_branch": "main", "private": true}),
			run: run(map[string]any{"head_branch": "main", "head_repository": map[string]any{"full_name": "mallory/api"},
				"pull_requests": []any{map[string]any{"number": 9}, map[string]any{"number": 10}}}),
			want: func(c Context) string {
				if c.Run.IsDefaultBranch || !c.Run.FromFork || c.Repository.Visibility != "private" || c.Repository.Owner != "acme" ||
					len(c.Run.PullRequests) != 2 {
					return "want a fork off the default branch, a private repository owned as its full name says, two pull requests"
				}
				return ""
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload, _ := json.Marshal(tc.job)
			runJSON, _ := json.Marshal(tc.run)
			job, err := ParseEvent(payload)
			if err != nil {
				t.Fatal(err)
			}
			got, err := job.WithRun(runJSON)
			if err != nil {
				t.Fatal(err)
			}
			if want := oldWithRun(t, job, runJSON); !reflect.DeepEqual(got, want) {
				t.Errorf("WithRun =\n%+v\nwant\n%+v", got, want)
			}
			if got.WorkflowJob != job.WorkflowJob {
				t.Error("WithRun: not the job's own WorkflowJob")
			}
			if msg := tc.want(got); msg != "" {
				t.Errorf("WithRun = %+v: %s", got, msg)
			}
		})
	}

	job, err := ParseEvent([]byte(mustJSON(t, jobPayload(nil, repo))))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, run, want string }{
		{"not JSON", "{", "run of a job: not a workflow run"},
		{"not an object", "[1]", "run of a job: not a workflow run"},
		{"too deep", strings.Repeat("[", 100) + strings.Repeat("]", 100), "nested deeper than 64"},
	} {
		if _, err := job.WithRun([]byte(tc.run)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	runCtx, err := ParseEvent([]byte(mustJSON(t, map[string]any{"action": "requested", "workflow_run": run(nil), "repository": repo})))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runCtx.WithRun([]byte(mustJSON(t, run(nil)))); err == nil {
		t.Error("WithRun on a workflow_run context: no error")
	}
}

// TestEventRun: a payload ParseEvent refuses still names its run, from
// the fields that name it; one that names none names nothing.
func TestEventRun(t *testing.T) {
	repo := `"repository": {"full_name": "acme/api", "default_branch": "main", "owner": "not an object"}`
	for _, tc := range []struct {
		name, event, payload string
		want                 *Context // nil: no run named
	}{
		{name: "a run, a field of the wrong type", event: EventWorkflowRun,
			payload: `{"sender": "x", ` + repo + `, "workflow_run": {"id": 42, "name": "CI", "run_attempt": 2, "head_sha": "abc",
				"path": ".github/workflows/ci.yml", "html_url": "https://x/42", "actor": 7}}`,
			want: &Context{Repository: Repository{FullName: "acme/api", DefaultBranch: "main"},
				Run: Run{ID: 42, Attempt: 2, HeadSHA: "abc"}, WorkflowPath: ".github/workflows/ci.yml", WorkflowName: "CI",
				RunURL: "https://x/42"}},
		{name: "a job nested too deep", event: EventWorkflowJob,
			payload: `{"x": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `, ` + repo + `,
				"workflow_job": {"id": 555, "run_id": 42, "run_attempt": 1, "head_sha": "abc", "workflow_name": "CI", "labels": ["a"]}}`,
			want: &Context{Repository: Repository{FullName: "acme/api", DefaultBranch: "main"},
				Run: Run{ID: 42, Attempt: 1, HeadSHA: "abc"}, WorkflowJob: &WorkflowJob{ID: 555, Labels: []string{}}, WorkflowName: "CI"}},
		{name: "both, read as the event says", event: EventWorkflowJob,
			payload: `{` + repo + `, "workflow_run": {"id": 1}, "workflow_job": {"id": 5, "run_id": 2}}`,
			want: &Context{Repository: Repository{FullName: "acme/api", DefaultBranch: "main"},
				Run: Run{ID: 2}, WorkflowJob: &WorkflowJob{ID: 5, Labels: []string{}}}},
		{name: "not JSON", event: EventWorkflowRun, payload: `{"workflow_run": {"id": 42}, ` + repo},
		{name: "no repository", event: EventWorkflowRun, payload: `{"workflow_run": {"id": 42}}`},
		{name: "a repository without a name", event: EventWorkflowRun, payload: `{"repository": {"full_name": 7}, "workflow_run": {"id": 42}}`},
		{name: "a run without an id", event: EventWorkflowRun, payload: `{` + repo + `, "workflow_run": {"id": "42"}}`},
		{name: "a job without a run", event: EventWorkflowJob, payload: `{` + repo + `, "workflow_job": {"id": 5}}`},
		{name: "another event's payload", event: EventWorkflowJob, payload: `{` + repo + `, "workflow_run": {"id": 42}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want != nil {
				if _, err := ParseEvent([]byte(tc.payload)); err == nil {
					t.Fatal("ParseEvent reads the payload: not a case for EventRun")
				}
			}
			got, ok := EventRun(tc.event, []byte(tc.payload))
			switch {
			case tc.want == nil && ok:
				t.Errorf("EventRun = %+v, want no run", got)
			case tc.want != nil && !ok:
				t.Error("EventRun: no run, want one")
			case tc.want != nil && !reflect.DeepEqual(got, *tc.want):
				t.Errorf("EventRun =\n%+v\nwant\n%+v", got, *tc.want)
			}
		})
	}
}
