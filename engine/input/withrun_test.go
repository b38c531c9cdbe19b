package input

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestWithRun: a job's context completed from its run is the context of
// the run read as a workflow_run payload in the job's repository, with the
// job's event and job, which is how the server read it before WithRun (by
// re-encoding the run as such a payload).
func TestWithRun(t *testing.T) {
	read := func(name string) map[string]json.RawMessage {
		b, err := os.ReadFile(filepath.Join(corpus, "payloads", name))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	jobPayload, runPayload := read("workflow_job.queued.json"), read("workflow_run.requested.json")
	// The run as the API shows it: the payload's run, from a fork, with a
	// pull request.
	var run map[string]any
	if err := json.Unmarshal(runPayload["workflow_run"], &run); err != nil {
		t.Fatal(err)
	}
	run["head_repository"].(map[string]any)["full_name"] = "fork/octo-repo"
	run["pull_requests"] = []any{map[string]any{"number": 7}}
	runJSON, _ := json.Marshal(run)

	raw, _ := json.Marshal(jobPayload)
	job, err := ParseEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := job.WithRun(runJSON)
	if err != nil {
		t.Fatal(err)
	}
	synthetic, _ := json.Marshal(map[string]any{"action": "requested", "workflow_run": json.RawMessage(runJSON),
		"repository": jobPayload["repository"]})
	want, err := ParseEvent(synthetic)
	if err != nil {
		t.Fatal(err)
	}
	want.Event.Name, want.Event.Action, want.WorkflowJob = EventWorkflowJob, job.WorkflowJob.Status, job.WorkflowJob
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WithRun =\n%+v\nwant\n%+v", got, want)
	}
	if got.WorkflowPath != ".github/workflows/test.yml" || got.Run.HeadRepository != "fork/octo-repo" || !got.Run.FromFork ||
		len(got.Run.PullRequests) != 1 || !strings.HasPrefix(got.RunURL, "https://github.com/") || got.Event.Name != "workflow_job" {
		t.Errorf("WithRun = %+v: want the run's path, fork, pull request and page, and the job's event", got)
	}

	for _, tc := range []struct{ name, run, want string }{
		{"not JSON", "{", "run of a job: not a workflow run"},
		{"too deep", strings.Repeat("[", 100) + strings.Repeat("]", 100), "nested deeper than 64"},
	} {
		if _, err := job.WithRun([]byte(tc.run)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	runCtx, _ := ParseEvent(synthetic)
	if _, err := runCtx.WithRun(runJSON); err == nil {
		t.Error("WithRun on a workflow_run context: no error")
	}
}
