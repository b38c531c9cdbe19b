package input

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestParseEventCorpus reads every workflow_run and workflow_job payload of
// the corpus. The expected values are copied from the payload files.
func TestParseEventCorpus(t *testing.T) {
	// The example payloads share most values; these are the two repositories.
	octoRepo := Repository{FullName: "octo-org/octo-repo", Owner: "octo-org", Name: "octo-repo", DefaultBranch: "master", Visibility: "public"}
	// The example's owner.login differs from its full_name; owner.login wins.
	helloWorld := Repository{FullName: "Codertocat/Hello-World", Owner: "Octocoders", Name: "Hello-World", DefaultBranch: "master", Visibility: "public"}
	runContext := func(action, headBranch string, prs []int) Context {
		return Context{
			Event:      Event{Name: "workflow_run", Action: action},
			Repository: octoRepo,
			Run: Run{
				ID: 289782451, Attempt: 1, Number: 163, Event: "repository_dispatch",
				Branch: headBranch, HeadSHA: "3484a3fb816e0859fd6e1cea078d76385ff50625",
				IsDefaultBranch: true, Actor: "Codertocat", TriggeringActor: "Codertocat",
				HeadRepository: "octo-org/octo-repo", PullRequests: prs,
			},
			WorkflowPath:        ".github/workflows/test.yml",
			RunURL:              "https://github.com/octo-org/octo-repo/actions/runs/289782451",
			ReferencedWorkflows: map[string]string{},
		}
	}
	jobContext := func(action, workflow string, repo Repository, run Run, job WorkflowJob) Context {
		run.PullRequests = []int{}
		return Context{
			Event:               Event{Name: "workflow_job", Action: action},
			Repository:          repo,
			WorkflowName:        workflow,
			Run:                 run,
			WorkflowJob:         &job,
			ReferencedWorkflows: map[string]string{},
		}
	}
	octoRun := Run{ID: 2202229078, Attempt: 1, Branch: "main", HeadSHA: "3484a3fb816e0859fd6e1cea078d76385ff50625", Actor: "Codertocat", TriggeringActor: "Codertocat"}
	envTest := Repository{FullName: "lineville/elastic-machines-testing", Owner: "lineville", Name: "elastic-machines-testing", DefaultBranch: "main", Visibility: "public"}
	envRun := Run{ID: 4747967848, Attempt: 1, Branch: "main", HeadSHA: "16c5286e8d9a0629956a28938386b36608707a71", Actor: "lineville", TriggeringActor: "lineville"}
	hosted := func(id int64, name, status string) WorkflowJob {
		return WorkflowJob{ID: id, Name: name, Labels: []string{"ubuntu-latest"}, RunnerName: "GitHub Actions 5", RunnerGroupName: "GitHub Actions", Status: status}
	}

	want := map[string]Context{
		"workflow_run.completed.json":                    runContext("completed", "master", []int{}),
		"workflow_run.completed.with-pull-requests.json": runContext("completed", "master", []int{2}),
		"workflow_run.requested.json":                    runContext("requested", "master", []int{}),
		"workflow_run.requested.with-conclusion.json":    runContext("requested", "master", []int{}),
		"workflow_job.completed.failure.with-organization.json": jobContext("completed", "CodeQL", helloWorld, octoRun,
			hosted(289782451, "linters", "completed")),
		"workflow_job.completed.success.with-organization.json": jobContext("completed", "CodeQL", helloWorld, octoRun,
			hosted(289782451, "linters", "completed")),
		"workflow_job.in_progress.json": jobContext("in_progress", "CodeQL", helloWorld, octoRun,
			hosted(289782451, "Analyze (javascript)", "in_progress")),
		"workflow_job.queued.json": jobContext("queued", "CodeQL", helloWorld, octoRun,
			hosted(289782451, "update", "queued")),
		"workflow_job.started.with-organization.json": jobContext("started", "", helloWorld, Run{ID: 2202229078, Attempt: 1, HeadSHA: "3484a3fb816e0859fd6e1cea078d76385ff50625", Actor: "Codertocat", TriggeringActor: "Codertocat"},
			hosted(289782451, "tests", "in_progress")),
		"workflow_job.in_progress.with-queued-steps.json": jobContext("in_progress", "Test",
			Repository{FullName: "wolfy1339/github-events-schemas", Owner: "wolfy1339", Name: "github-events-schemas", DefaultBranch: "main", Visibility: "public"},
			Run{ID: 5373506832, Attempt: 1, Branch: "renovate/got-13.x", HeadSHA: "eeeb91cc89453bff9ce51f450d8badd4eb41ae8b", Actor: "renovate[bot]", TriggeringActor: "renovate[bot]"},
			WorkflowJob{ID: 14541957942, Name: "Do examples need to be regenerated?", Labels: []string{"ubuntu-latest"}, RunnerName: "GitHub Actions 6", RunnerGroupName: "GitHub Actions", Status: "in_progress"}),
		"workflow_job.queued.with-deployment.json": jobContext("queued", "Env Test", envTest, envRun,
			WorkflowJob{ID: 12877621891, Name: "test", Labels: []string{"self-hosted", "k8s"}, Status: "waiting"}),
		"workflow_job.waiting.json": jobContext("waiting", "Env Test", envTest, envRun,
			WorkflowJob{ID: 12877621891, Name: "test", Labels: []string{"self-hosted", "k8s"}, Status: "waiting"}),
	}

	files, err := filepath.Glob(filepath.Join(corpus, "payloads", "workflow_*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, path := range files {
		name := filepath.Base(path)
		if strings.Contains(name, "SCHEMA") {
			continue // a JSON schema, not a payload: see TestParseEventErrors
		}
		seen++
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expected context for %s: add one", name)
			}
			payload, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseEvent(payload)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("ParseEvent:\n got: %+v\nwant: %+v", got, w)
				if got.WorkflowJob != nil && w.WorkflowJob != nil {
					t.Errorf("workflow_job:\n got: %+v\nwant: %+v", *got.WorkflowJob, *w.WorkflowJob)
				}
			}
		})
	}
	if seen != len(want) {
		t.Errorf("checked %d payloads, expected %d", seen, len(want))
	}
}

// TestParseEventRun covers what the corpus payloads do not: forks, other
// branches, referenced workflows, old payloads without visibility.
func TestParseEventRun(t *testing.T) {
	payload := `{
	  "action": "requested",
	  "repository": {"full_name": "acme/api", "name": "api", "owner": {"login": "acme"},
	                 "default_branch": "main", "private": true, "fork": false},
	  "sender": {"login": "mallory"},
	  "workflow_run": {
	    "id": 30433642, "name": "CI", "run_attempt": 2, "run_number": 562, "event": "pull_request",
	    "head_branch": "main", "head_sha": "abc", "path": ".github/workflows/ci.yml",
	    "actor": {"login": "mallory"}, "triggering_actor": null,
	    "head_repository": {"full_name": "mallory/api"},
	    "pull_requests": [],
	    "referenced_workflows": [
	      {"path": "Acme/Shared/.github/workflows/build.yml@v1", "sha": "0123456789abcdef0123456789abcdef01234567", "ref": "refs/tags/v1"},
	      {"path": "acme/shared/.github/workflows/test.yml", "sha": "89ABCDEF0123456789abcdef0123456789abcdef", "ref": "refs/heads/main"},
	      {"path": "acme/shared/.github/workflows/noref.yml", "sha": "0123456789abcdef0123456789abcdef01234567"},
	      {"path": "acme/shared/.github/workflows/short.yml@v2", "sha": "0123"},
	      {"path": "not-a-path@v1", "sha": "0123456789abcdef0123456789abcdef01234567"}
	    ]
	  }
	}`
	c, err := ParseEvent([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	want := Run{
		ID: 30433642, Attempt: 2, Number: 562, Event: "pull_request", Branch: "main", HeadSHA: "abc",
		IsDefaultBranch: false, // a fork's main is not the default branch
		Actor:           "mallory", TriggeringActor: "mallory", HeadRepository: "mallory/api", FromFork: true,
		PullRequests: []int{},
	}
	if !reflect.DeepEqual(c.Run, want) {
		t.Errorf("Run = %+v, want %+v", c.Run, want)
	}
	if c.Repository.Visibility != "private" {
		t.Errorf("Visibility = %q, want private (from private: true)", c.Repository.Visibility)
	}
	// Keyed as the resolver asks; entries without a ref or a full SHA, or
	// that name no file, cannot be matched and are left out.
	wantRefs := map[string]string{
		"acme/shared/.github/workflows/build.yml@v1":  "0123456789abcdef0123456789abcdef01234567",
		"acme/shared/.github/workflows/test.yml@main": "89abcdef0123456789abcdef0123456789abcdef",
	}
	if !reflect.DeepEqual(c.ReferencedWorkflows, wantRefs) {
		t.Errorf("ReferencedWorkflows = %q, want %q", c.ReferencedWorkflows, wantRefs)
	}
	if c.WorkflowPath != ".github/workflows/ci.yml" || c.WorkflowName != "CI" {
		t.Errorf("WorkflowPath = %q, WorkflowName = %q", c.WorkflowPath, c.WorkflowName)
	}
}

func TestParseEventErrors(t *testing.T) {
	schema, err := os.ReadFile(filepath.Join(corpus, "payloads", "workflow_run.in_progress.SCHEMA.json"))
	if err != nil {
		t.Fatal(err)
	}
	ping, err := os.ReadFile(filepath.Join(corpus, "payloads", "ping.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		payload []byte
		cause   string
	}{
		{"empty", nil, "not a webhook payload"},
		{"not JSON", []byte("on: push\n"), "not a webhook payload"},
		{"JSON array", []byte("[1, 2]"), "not a webhook payload"},
		{"truncated", []byte(`{"workflow_run": {"id": 1`), "not a webhook payload"},
		{"wrong type", []byte(`{"workflow_run": {"id": "one"}, "repository": {}}`), "not a webhook payload"},
		{"ping event", ping, "not a workflow_run or workflow_job event"},
		{"a JSON schema", schema, "not a workflow_run or workflow_job event"},
		{"both events", []byte(`{"workflow_run": {}, "workflow_job": {}, "repository": {}}`), "both"},
		{"no repository", []byte(`{"workflow_job": {"id": 1}}`), "no repository"},
		{"too deep", []byte(strings.Repeat("[", 100) + strings.Repeat("]", 100)), "nested deeper than 64"},
		{"too large", make([]byte, MaxPayloadSize+1), "over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEvent(tt.payload)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "event payload: ") || !strings.Contains(msg, tt.cause) {
				t.Errorf("error %q: want one line starting with \"event payload: \" saying %q", msg, tt.cause)
			}
		})
	}
}

// TestCheckJSONDepth checks that brackets inside strings do not count.
func TestCheckJSONDepth(t *testing.T) {
	deepString := `{"a": "` + strings.Repeat("[", 1000) + `\"` + `"}`
	if err := checkJSONDepth([]byte(deepString), 3); err != nil {
		t.Errorf("brackets in a string counted: %v", err)
	}
	if err := checkJSONDepth([]byte(`{"a": [[[1]]]}`), 3); err == nil {
		t.Error("depth 4 passed a limit of 3")
	}
}

func FuzzParseEvent(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpus, "payloads", "*.json"))
	for _, path := range files {
		payload, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(payload)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := ParseEvent(payload)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		if c.Run.PullRequests == nil || c.ReferencedWorkflows == nil {
			t.Error("nil slice in context")
		}
	})
}
