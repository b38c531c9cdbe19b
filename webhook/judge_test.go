package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/webhook/store"
)

const (
	testRepo = "acme/api"
	testPath = ".github/workflows/ci.yml"
)

var testSHA = strings.Repeat("c", 40)

// A workflow the fake engine denies (evil/) and one it has a dry-run
// finding on (shady/).
var (
	deniedWorkflow = []byte("on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: evil/action@v1\n")
	dryRunWorkflow = []byte("on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: shady/action@v1\n")
)

// runObject is a workflow run as the workflow_run payload and GET
// …/actions/runs/{id} show it.
func runObject(id int64, attempt int, path, headRepo string, prs ...int) map[string]any {
	prList := []any{}
	for _, n := range prs {
		prList = append(prList, map[string]any{"number": n})
	}
	return map[string]any{"id": id, "run_attempt": attempt, "run_number": 9, "event": "pull_request", "path": path,
		"head_sha": testSHA, "head_branch": "feature", "html_url": fmt.Sprintf("https://github.com/%s/actions/runs/%d", testRepo, id),
		"actor": map[string]any{"login": "octocat"}, "head_repository": map[string]any{"full_name": headRepo},
		"pull_requests": prList}
}

func repoObject() map[string]any {
	return map[string]any{"full_name": testRepo, "name": "api", "owner": map[string]any{"login": "acme"},
		"default_branch": "main", "visibility": "private"}
}

func payload(t *testing.T, v map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testDelivery is a persisted delivery of installation 7, on its first try.
func testDelivery(id, event string, body []byte) delivery {
	return delivery{Delivery: &store.Delivery{ID: id, Event: event, Action: "requested", Payload: body, InstallationID: 7,
		ReceivedAt: time.Now().Add(-time.Second), State: store.DeliveryReceived}, attempt: 1, attemptedAt: time.Now(), log: discard()}
}

func runDeliveryOf(t *testing.T, id string, run map[string]any) delivery {
	return testDelivery(id, input.EventWorkflowRun, payload(t, map[string]any{"action": "requested", "workflow_run": run,
		"repository": repoObject(), "sender": map[string]any{"login": "octocat"}}))
}

func jobDeliveryOf(t *testing.T, id string, jobID, runID int64, attempt int) delivery {
	d := testDelivery(id, input.EventWorkflowJob, payload(t, map[string]any{"action": "queued",
		"workflow_job": map[string]any{"id": jobID, "run_id": runID, "run_attempt": attempt, "head_sha": testSHA,
			"name": "build", "labels": []string{"ubuntu-latest"}, "status": "queued"},
		"repository": repoObject(), "sender": map[string]any{"login": "octocat"}}))
	d.Action = "queued"
	return d
}

func newTestJudge(gh *fakeGitHub, st *memStore, eng evaluator) *judge {
	return &judge{clients: gh.judgeClients, engine: eng, facts: input.NewCache(16), cpu: newSlots(1), decisions: st,
		onError: OnErrorAllow, evalTimeout: 5 * time.Second, attempts: 3, instance: "test-instance", metrics: newJudgeMetrics()}
}

func mustRequest(t *testing.T, read func(delivery) (request, bool), d delivery) request {
	t.Helper()
	r, ok := read(d)
	if !ok {
		t.Fatal("the delivery names no run")
	}
	return r
}

// TestRequestWorkflowName: a request names the workflow as its delivery
// does (workflow_run.name, workflow_job.workflow_name), even when the
// payload is otherwise unreadable; a job that names none takes its run's
// name once completed from the run.
func TestRequestWorkflowName(t *testing.T) {
	named := func(m map[string]any, k, v string) map[string]any { m[k] = v; return m }
	job := func(t *testing.T, workflow string, sender any) delivery {
		d := jobDeliveryOf(t, "d1", 555, 42, 1)
		var p map[string]any
		if err := json.Unmarshal(d.Payload, &p); err != nil {
			t.Fatal(err)
		}
		p["workflow_job"].(map[string]any)["workflow_name"] = workflow
		p["sender"] = sender
		d.Payload = payload(t, p)
		return d
	}
	octocat := map[string]any{"login": "octocat"}
	for _, tc := range []struct {
		name       string
		req        func(t *testing.T) (request, bool)
		run        map[string]any // the job's run, as the API returns it
		unreadable bool
		before     string // the name read from the delivery
		after      string // once a job is completed from its run
	}{
		{name: "a run", req: func(t *testing.T) (request, bool) {
			return runRequest(runDeliveryOf(t, "d1", named(runObject(42, 1, testPath, testRepo), "name", "CI")))
		}, before: "CI"},
		{name: "a run, unreadable", req: func(t *testing.T) (request, bool) {
			return runRequest(testDelivery("d1", input.EventWorkflowRun, payload(t, map[string]any{
				"workflow_run": named(runObject(42, 1, testPath, testRepo), "name", "CI"), "repository": repoObject(), "sender": "x"})))
		}, unreadable: true, before: "CI"},
		{name: "a job naming its workflow", req: func(t *testing.T) (request, bool) { return jobRequest(job(t, "Tests", octocat)) },
			run: named(runObject(42, 1, testPath, testRepo), "name", "CI"), before: "Tests", after: "Tests"},
		{name: "a job naming none", req: func(t *testing.T) (request, bool) { return jobRequest(job(t, "", octocat)) },
			run: named(runObject(42, 1, testPath, testRepo), "name", "CI"), before: "", after: "CI"},
		{name: "a job, unreadable", req: func(t *testing.T) (request, bool) { return jobRequest(job(t, "Tests", "x")) },
			unreadable: true, before: "Tests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, ok := tc.req(t)
			if !ok {
				t.Fatal("the delivery names no run")
			}
			if (req.unreadable != nil) != tc.unreadable || req.run.ID != 42 || req.run.Installation != 7 {
				t.Errorf("request: unreadable %v, run %+v", req.unreadable, req.run)
			}
			if req.run.Name != tc.before {
				t.Errorf("name %q, want %q", req.run.Name, tc.before)
			}
			if tc.run == nil {
				return
			}
			done, err := req.withRun(payload(t, tc.run))
			if err != nil {
				t.Fatal(err)
			}
			if done.run.Name != tc.after || done.run.Path != testPath || done.run.Attempt != 1 {
				t.Errorf("completed: run %+v, want the name %q and the run's file", done.run, tc.after)
			}
		})
	}
}

// TestJudgeDecidesOncePerDelivery: a run is fetched (at its head commit,
// and on the default branch to compare), judged and recorded; the same
// delivery's retry gets the recorded verdict without asking GitHub or the
// policies again.
func TestJudgeDecidesOncePerDelivery(t *testing.T) {
	ctx := context.Background()
	gh, st, eng := newFakeGitHub(), newMemStore(), &fakeEngine{}
	gh.files[testRepo+"/"+testPath+"@"+testSHA] = deniedWorkflow
	j := newTestJudge(gh, st, eng)
	req := mustRequest(t, runRequest, runDeliveryOf(t, "d1", runObject(42, 2, testPath, testRepo, 7)))

	v, err := j.decide(ctx, req, discard())
	if err != nil {
		t.Fatal(err)
	}
	if v.Outcome != store.OutcomeDeny || !v.Cancel || v.enforced() != 1 || v.Error != nil {
		t.Errorf("verdict %s cancel %v, %d enforced, error %v; want an enforced deny", v.Outcome, v.Cancel, v.enforced(), v.Error)
	}
	want := target{Repository: testRepo, ID: 42, Attempt: 2, HeadRepository: testRepo, HeadSHA: testSHA, DefaultBranch: "main",
		Path: testPath, PullRequests: []int{7}, URL: "https://github.com/acme/api/actions/runs/42", Installation: 7}
	if fmt.Sprint(v.Run) != fmt.Sprint(want) {
		t.Errorf("run = %+v\nwant  %+v", v.Run, want)
	}
	if v.Input == nil || v.Input.Event.DeliveryID != "d1" || !v.Input.Workflow.Modified {
		t.Errorf("input = %+v; want the document with the delivery, a new file off the default branch", v.Input)
	}
	for _, timer := range []string{"timer_fetch_ns", "timer_parse_ns", "timer_rego_query_eval_ns", "timer_server_handler_ns", "timer_queue_ns"} {
		if _, ok := v.Metrics[timer]; !ok {
			t.Errorf("metrics lack %s: %v", timer, v.Metrics)
		}
	}
	if n := gh.count("content "); n != 2 {
		t.Errorf("%d content fetches, want 2 (head commit, default branch)", n)
	}
	if _, err := st.DecisionForDelivery(ctx, "d1"); err != nil {
		t.Fatalf("no decision recorded: %v", err)
	}

	again, err := j.decide(ctx, req, discard())
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != v.ID || again.Outcome != v.Outcome || fmt.Sprint(again.Run) != fmt.Sprint(v.Run) || eng.evals != 1 || gh.count("content ") != 2 {
		t.Errorf("retry: verdict %s (%s), %d evaluations, %d fetches; want the recorded %s, nothing asked again",
			again.ID, again.Outcome, eng.evals, gh.count("content "), v.ID)
	}
}

// TestJudgeCompletesAJobFromItsRun: a job's delivery names no workflow
// file: the run is fetched and read once, the document has the run's
// context and the job, and the verdict the job's attempt. The caller's
// request is left as it was.
func TestJudgeCompletesAJobFromItsRun(t *testing.T) {
	ctx := context.Background()
	gh, st := newFakeGitHub(), newMemStore()
	gh.runs[42] = runObject(42, 3, testPath, "fork/api", 7)
	gh.files["fork/api/"+testPath+"@"+testSHA] = deniedWorkflow
	j := newTestJudge(gh, st, &fakeEngine{})
	req := mustRequest(t, jobRequest, jobDeliveryOf(t, "d1", 555, 42, 2))
	if req.complete || req.run.Path != "" {
		t.Fatalf("a job's request before its run: %+v", req.run)
	}

	v, err := j.decide(ctx, req, discard())
	if err != nil {
		t.Fatal(err)
	}
	if req.complete || req.run.Path != "" {
		t.Errorf("the caller's request was changed: %+v", req.run)
	}
	if v.Run.Path != testPath || v.Run.Attempt != 2 || v.Run.HeadRepository != "fork/api" || fmt.Sprint(v.Run.PullRequests) != "[7]" ||
		v.Run.URL == "" || v.Event != input.EventWorkflowJob {
		t.Errorf("verdict run %+v (event %s); want the run's file, fork, pull request and page, the job's attempt", v.Run, v.Event)
	}
	doc := v.Input
	if doc.Event.Name != input.EventWorkflowJob || doc.Event.Action != "queued" || doc.WorkflowJob == nil || doc.WorkflowJob.ID != 555 ||
		fmt.Sprint(doc.WorkflowJob.Labels) != "[ubuntu-latest]" || doc.Run.Attempt != 3 || !doc.Run.FromFork || doc.Workflow.Path != testPath {
		t.Errorf("document: event %+v, job %+v, run %+v", doc.Event, doc.WorkflowJob, doc.Run)
	}
	if n := gh.count("run json "); n != 1 {
		t.Errorf("the run was fetched %d times, want once", n)
	}

	// A run of a workflow GitHub manages is not runpolicy's to judge.
	gh.runs[43] = runObject(43, 1, "dynamic/github-code-scanning/codeql", testRepo)
	_, err = j.decide(ctx, mustRequest(t, jobRequest, jobDeliveryOf(t, "d2", 556, 43, 1)), discard())
	if !errors.Is(err, errSkipRun) {
		t.Errorf("GitHub-managed workflow: %v, want errSkipRun", err)
	}
	if _, err := st.DecisionForDelivery(ctx, "d2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a decision was recorded for a run not judged: %v", err)
	}
}

// TestJudgeFailures: what the author controls is denied at once; GitHub
// failing is retried up to judge_attempts, then on_error decides.
func TestJudgeFailures(t *testing.T) {
	unavailable := &github.StatusError{Status: http.StatusBadGateway}
	for _, tc := range []struct {
		name     string
		setup    func(gh *fakeGitHub, eng *fakeEngine)
		attempt  int
		onError  string
		delivery func(t *testing.T) delivery
		retried  bool   // decide returns the error, records nothing
		outcome  string // else the verdict's
		cancel   bool
		code     string // the failure's code, in the finding or the error
	}{
		{name: "GitHub unavailable, tries left", setup: func(gh *fakeGitHub, _ *fakeEngine) {
			gh.fail = func(string) error { return unavailable }
		}, attempt: 1, retried: true},
		{name: "GitHub unavailable, last try, on_error allow", setup: func(gh *fakeGitHub, _ *fakeEngine) {
			gh.fail = func(string) error { return unavailable }
		}, attempt: 3, outcome: store.OutcomeError, code: "github_unavailable"},
		{name: "GitHub unavailable, last try, on_error cancel", setup: func(gh *fakeGitHub, _ *fakeEngine) {
			gh.fail = func(string) error { return unavailable }
		}, attempt: 3, onError: OnErrorCancel, outcome: store.OutcomeError, cancel: true, code: "github_unavailable"},
		{name: "workflow file missing", setup: func(gh *fakeGitHub, _ *fakeEngine) { delete(gh.files, testRepo+"/"+testPath+"@"+testSHA) },
			attempt: 1, outcome: store.OutcomeDeny, cancel: true, code: "workflow_not_found"},
		{name: "workflow unreadable", setup: func(gh *fakeGitHub, _ *fakeEngine) {
			gh.files[testRepo+"/"+testPath+"@"+testSHA] = []byte("on: push\x00\n")
		}, attempt: 1, outcome: store.OutcomeDeny, cancel: true, code: "bad_workflow"},
		{name: "evaluation fails", setup: func(_ *fakeGitHub, eng *fakeEngine) { eng.err = errors.New("eval_conflict_error") },
			attempt: 1, outcome: store.OutcomeDeny, cancel: true, code: "evaluation_error"},
		{name: "event unreadable", delivery: func(t *testing.T) delivery {
			return testDelivery("d1", input.EventWorkflowRun, payload(t, map[string]any{"workflow_run": runObject(42, 1, testPath, testRepo),
				"repository": repoObject(), "sender": "not an object"}))
		}, attempt: 1, outcome: store.OutcomeDeny, cancel: true, code: "bad_payload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			gh, st, eng := newFakeGitHub(), newMemStore(), &fakeEngine{}
			gh.files[testRepo+"/"+testPath+"@"+testSHA] = dryRunWorkflow
			if tc.setup != nil {
				tc.setup(gh, eng)
			}
			j := newTestJudge(gh, st, eng)
			if tc.onError != "" {
				j.onError = tc.onError
			}
			d := runDeliveryOf(t, "d1", runObject(42, 1, testPath, testRepo))
			if tc.delivery != nil {
				d = tc.delivery(t)
			}
			d.attempt = tc.attempt
			v, err := j.decide(ctx, mustRequest(t, runRequest, d), discard())
			if tc.retried {
				if err == nil {
					t.Fatalf("verdict %s, want the error for the queue to retry", v.Outcome)
				}
				if _, err := st.DecisionForDelivery(ctx, "d1"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("a decision was recorded on a try that is retried")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Outcome != tc.outcome || v.Cancel != tc.cancel {
				t.Errorf("verdict %s cancel %v, want %s cancel %v", v.Outcome, v.Cancel, tc.outcome, tc.cancel)
			}
			switch {
			case tc.outcome == store.OutcomeError && (v.Error == nil || v.Error.Code != tc.code || v.Error.OnError != j.onError || v.Result != nil):
				t.Errorf("error %+v, result %+v; want %s under on_error %s, no result", v.Error, v.Result, tc.code, j.onError)
			case tc.outcome == store.OutcomeDeny && (v.Result == nil || len(v.Result.Violations) != 1 ||
				v.Result.Violations[0].Policy != PolicyUnreadable || v.Result.Violations[0].Details["code"] != tc.code):
				t.Errorf("result %+v; want one %s finding with code %s", v.Result, PolicyUnreadable, tc.code)
			}
		})
	}
}

// TestJudgeGiveUp: a job's run whose judging gave up is decided from the
// failure, with the run's file when GitHub shows it.
func TestJudgeGiveUp(t *testing.T) {
	gh, st := newFakeGitHub(), newMemStore()
	gh.runs[42] = runObject(42, 1, testPath, testRepo)
	j := newTestJudge(gh, st, &fakeEngine{})
	req := mustRequest(t, jobRequest, jobDeliveryOf(t, "d1", 555, 42, 1))
	v, err := j.giveUp(context.Background(), req, fmt.Errorf("fetch: %w", context.DeadlineExceeded), discard())
	if err != nil {
		t.Fatal(err)
	}
	if v.Outcome != store.OutcomeError || v.Cancel || v.Error == nil || v.Error.Code != "timeout" || v.Run.Path != testPath {
		t.Errorf("verdict %s cancel %v, error %+v, path %q; want on_error's allow with the timeout and the run's file",
			v.Outcome, v.Cancel, v.Error, v.Run.Path)
	}
}

// TestVerdictRecord: a verdict goes into the store as OPA's decision log
// and comes back the same, with the document it judged.
func TestVerdictRecord(t *testing.T) {
	v := sampleVerdict(true)
	v.cancelResult = "" // what the actor did is not recorded with the verdict
	v.Input = docWith(digest(approvableWorkflow), map[string]*string{"a/action.yml": nil})
	v.DeliveryID, v.Event, v.Outcome, v.Instance = "d1", input.EventWorkflowRun, store.OutcomeDeny, "host-1"
	v.Timestamp, v.Metrics = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), map[string]int64{"timer_fetch_ns": 5}
	d, err := newMemStore().SaveDecision(context.Background(), v.decision())
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != v.ID || d.DeliveryID != "d1" || d.Repository != testRepo || d.RunID != 42 || d.RunAttempt != 2 || !d.Cancel || d.Outcome != store.OutcomeDeny {
		t.Errorf("decision row %+v", d)
	}
	var log map[string]any
	if err := json.Unmarshal(d.Log, &log); err != nil {
		t.Fatal(err)
	}
	if log["path"] != "runpolicy/main/decision" || fmt.Sprint(log["labels"]) != "map[app:runpolicy id:host-1]" ||
		fmt.Sprint(log["bundles"]) != "map[builtin:map[revision:builtin-abc] org:map[revision:v7]]" ||
		log["run"].(map[string]any)["workflow_path"] != testPath || log["outcome"] != "deny" {
		t.Errorf("decision log %s", d.Log)
	}
	back, err := verdictOf(d)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, v) {
		t.Errorf("read back\n%+v\nwant\n%+v", *back, *v)
	}
}
