package test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/test/fakegithub"
	"github.com/runpolicy/runpolicy/test/harness"
	"github.com/runpolicy/runpolicy/test/pgtest"
	"github.com/runpolicy/runpolicy/webhook"
)

// TestRuns covers judging, enforcing and reporting on one server.
func TestRuns(t *testing.T) {
	s := newStack(t, nil)

	t.Run("bad run is cancelled with a check run and a comment", func(t *testing.T) {
		s.t = t
		r := harness.Run{Repo: "acme/api", ID: 1001, HeadSHA: sha(1001), Path: ".github/workflows/changes.yml",
			PullRequests: []int{12}, Installation: installation}
		s.requested(r, badWorkflow, goodWorkflow, "bad-1")
		if d := s.processed("bad-1"); d.State != "processed" {
			t.Fatalf("delivery = %+v", d)
		}
		if n := s.calls("POST", cancelPath("acme/api", 1001)); n != 1 {
			t.Errorf("cancel calls = %d, want 1", n)
		}
		runs := s.gh.Fake.CheckRuns()
		if len(runs) != 1 {
			t.Fatalf("check runs = %d, want 1", len(runs))
		}
		cr := runs[0]
		if cr.Name != "runpolicy / changes" || cr.HeadSHA != sha(1001) || cr.Conclusion != "failure" || !strings.Contains(cr.Summary, "compromised_actions") {
			t.Errorf("check run = %s", jsonOf(cr))
		}
		var annotated bool
		for _, a := range cr.Annotations {
			annotated = annotated || (a.Path == r.Path && a.StartLine == 11 && a.AnnotationLevel == "failure" && a.Title == "compromised_actions")
		}
		if !annotated {
			t.Errorf("no failure annotation at line 11 of %s: %s", r.Path, jsonOf(cr.Annotations))
		}
		comments := s.gh.Fake.Comments()
		if len(comments) != 1 || comments[0].Issue != 12 || !strings.Contains(comments[0].Body, "cancelled") ||
			!strings.Contains(comments[0].Body, "tj-actions/changed-files@v45") {
			t.Errorf("comments = %s", jsonOf(comments))
		}
		if run, _ := s.gh.Fake.Run("acme/api", 1001); run.Conclusion != "cancelled" {
			t.Errorf("run conclusion = %q, want cancelled", run.Conclusion)
		}
		d := s.only("bad-1")
		if d.Outcome != "deny" || !d.Cancel || d.Run.ID != 1001 || d.Path != "runpolicy/main/decision" || d.Bundles["builtin"].Revision == "" {
			t.Errorf("decision = %s", jsonOf(d))
		}
		wf, _ := d.Input["workflow"].(map[string]any)
		if wf["modified"] != true || wf["sha256"] == nil || wf["default_branch_sha256"] == nil {
			t.Errorf("input.workflow = %s; want the head and default-branch digests, modified", jsonOf(wf))
		}
		if d.Metrics["timer_rego_query_eval_ns"] <= 0 || d.Metrics["timer_fetch_ns"] <= 0 {
			t.Errorf("decision timings = %v", d.Metrics)
		}
	})

	t.Run("good run is untouched", func(t *testing.T) {
		s.t = t
		r := harness.Run{Repo: "acme/web", ID: 1002, HeadSHA: sha(1002), Path: ".github/workflows/build.yml",
			PullRequests: []int{3}, Installation: installation}
		s.requested(r, goodWorkflow, goodWorkflow, "good-1")
		s.processed("good-1")
		if d := s.only("good-1"); d.Outcome != "allow" || d.Cancel || len(d.Result.Violations) != 0 {
			t.Errorf("decision = %s", jsonOf(d))
		}
		if n := s.calls("POST", cancelPath("acme/web", 1002)) + commentsOf(s, "acme/web", 3); n != 0 {
			t.Errorf("%d cancels and comments for a good run, want none", n)
		}
		// Its warnings (references runpolicy could not look inside) are in
		// a neutral check run, and nothing else is.
		for _, cr := range s.gh.Fake.CheckRuns() {
			if cr.Repo == "acme/web" && (cr.Conclusion != "neutral" || !strings.Contains(cr.Summary, "### Warnings") ||
				strings.Contains(cr.Summary, "### Dry-run") || strings.Contains(cr.Summary, "stopped")) {
				t.Errorf("check run of a good run: %s", jsonOf(cr))
			}
		}
	})

	t.Run("dry-run violations are reported, not cancelled", func(t *testing.T) {
		s.t = t
		r := harness.Run{Repo: "acme/lint", ID: 1003, HeadSHA: sha(1003), Path: ".github/workflows/lint.yml",
			PullRequests: []int{7}, Installation: installation}
		s.requested(r, dryRunWorkflow, dryRunWorkflow, "dry-1")
		s.processed("dry-1")
		if n := s.calls("POST", cancelPath("acme/lint", 1003)); n != 0 {
			t.Errorf("dry-run run cancelled %d times", n)
		}
		var cr *fakegithub.CheckRun
		for _, c := range s.gh.Fake.CheckRuns() {
			if c.Repo == "acme/lint" {
				cr = &c
			}
		}
		if cr == nil || cr.Conclusion != "neutral" || !strings.Contains(cr.Summary, "allowed_actions") {
			t.Fatalf("check run = %s, want a neutral one naming allowed_actions", jsonOf(cr))
		}
		if n := commentsOf(s, "acme/lint", 7); n != 0 {
			t.Errorf("comments = %d, want none: comment_on deny says nothing of dry-run findings", n)
		}
		if d := s.only("dry-1"); d.Outcome != "allow" || d.Cancel {
			t.Errorf("decision = %s", jsonOf(d))
		}
	})

	t.Run("a run is judged and acted on once however many deliveries mention it", func(t *testing.T) {
		s.t = t
		r := harness.Run{Repo: "acme/dup", ID: 1004, HeadSHA: sha(1004), Path: ".github/workflows/changes.yml",
			PullRequests: []int{5}, Installation: installation}
		s.gh.Publish(r, badWorkflow, nil)
		body, _ := harness.WorkflowRunRequested(r)
		var wg sync.WaitGroup
		codes := make([]int, 4)
		for i := range codes {
			wg.Add(1)
			go func() { defer wg.Done(); codes[i] = s.send("workflow_run", "dup-1", body) }()
		}
		wg.Wait()
		for _, c := range codes {
			if c != 202 {
				t.Errorf("redelivery status %d, want 202", c)
			}
		}
		s.processed("dup-1")
		// A replay under another delivery id, and the run's queued job.
		if code := s.send("workflow_run", "dup-2", body); code != 202 {
			t.Fatalf("replay: %d", code)
		}
		job, _ := harness.WorkflowJob(r, "queued", 555, "changes", []string{"ubuntu-latest"})
		if code := s.send("workflow_job", "dup-3", job); code != 202 {
			t.Fatalf("workflow_job: %d", code)
		}
		s.processed("dup-2")
		s.processed("dup-3")
		s.only("dup-1")
		if n := s.calls("POST", cancelPath("acme/dup", 1004)); n != 1 {
			t.Errorf("cancel calls = %d, want 1", n)
		}
		if n := checkRunsOf(s, "acme/dup"); n != 1 {
			t.Errorf("check runs = %d, want 1", n)
		}
		if n := commentsOf(s, "acme/dup", 5); n != 1 {
			t.Errorf("comments = %d, want 1", n)
		}
		if list := s.decisions(url.Values{"delivery_id": {"dup-2"}}); len(list) != 0 {
			t.Errorf("the replay was judged again: %s", jsonOf(list))
		}
	})

	t.Run("workflow_job catches a run whose requested delivery was missed", func(t *testing.T) {
		s.t = t
		r := harness.Run{Repo: "acme/missed", ID: 1005, HeadSHA: sha(1005), Path: ".github/workflows/changes.yml",
			Installation: installation}
		s.gh.Publish(r, badWorkflow, badWorkflow)
		job, _ := harness.WorkflowJob(r, "queued", 777, "changes", []string{"ubuntu-latest"})
		if code := s.send("workflow_job", "job-1", job); code != 202 {
			t.Fatalf("workflow_job: %d", code)
		}
		s.processed("job-1")
		d := s.only("job-1")
		wj, _ := d.Input["workflow_job"].(map[string]any)
		if d.Event != "workflow_job" || !d.Cancel || wj == nil || fmt.Sprint(wj["labels"]) != "[ubuntu-latest]" {
			t.Errorf("decision = %s", jsonOf(d))
		}
		if n := s.calls("POST", cancelPath("acme/missed", 1005)); n != 1 {
			t.Errorf("cancel calls = %d, want 1", n)
		}
	})

	t.Run("installations are recorded and used", func(t *testing.T) {
		s.t = t
		body, _ := harness.Payload("installation.created.json")
		s.gh.Fake.AddInstallation("Codertocat", 957387)
		if code := s.send("installation", "inst-1", body); code != 202 {
			t.Fatalf("installation: %d", code)
		}
		s.processed("inst-1")
		r := harness.Run{Repo: "Codertocat/Hello-World", ID: 1007, HeadSHA: sha(1007), Path: ".github/workflows/changes.yml"}
		s.requested(r, badWorkflow, nil, "inst-run-1")
		s.processed("inst-run-1")
		if n := s.calls("POST", "/app/installations/957387/access_tokens"); n != 1 {
			t.Errorf("token requests for the recorded installation = %d, want 1", n)
		}
		if n := s.gh.Fake.CountAll("GET", "/repos/Codertocat/Hello-World/installation"); n != 0 {
			t.Errorf("asked GitHub for an installation the store knows (%d calls)", n)
		}
		if n := s.calls("POST", cancelPath(r.Repo, r.ID)); n != 1 {
			t.Errorf("cancel calls = %d, want 1", n)
		}
	})

	t.Run("fork pull request: the workflow comes from the fork", func(t *testing.T) {
		s.t = t
		r := harness.Run{Repo: "acme/oss", HeadRepo: "forker/oss", ID: 1008, HeadSHA: sha(1008), Path: ".github/workflows/changes.yml",
			Installation: installation}
		s.requested(r, badWorkflow, goodWorkflow, "fork-1")
		s.processed("fork-1")
		if n := s.calls("GET", "/repos/forker/oss/contents/.github/workflows/changes.yml"); n != 1 {
			t.Errorf("head file fetched from the fork %d times, want 1", n)
		}
		if n := s.calls("GET", "/repos/acme/oss/contents/.github/workflows/changes.yml"); n != 1 {
			t.Errorf("default-branch file fetched from the base %d times, want 1", n)
		}
		d := s.only("fork-1")
		run, _ := d.Input["run"].(map[string]any)
		if !d.Cancel || run["from_fork"] != true {
			t.Errorf("decision = %s", jsonOf(d))
		}
		if n := s.calls("POST", cancelPath("acme/oss", 1008)); n != 1 {
			t.Errorf("cancel calls = %d, want 1", n)
		}
	})

	t.Run("a push to the default branch needs one fetch", func(t *testing.T) {
		s.t = t
		r := harness.Run{Repo: "acme/main", ID: 1009, HeadSHA: sha(1009), HeadBranch: "main", Event: "push",
			Path: ".github/workflows/changes.yml", Installation: installation}
		s.requested(r, badWorkflow, badWorkflow, "main-1")
		s.processed("main-1")
		if n := s.gh.Fake.CountAll("GET", "/repos/acme/main/contents/.github/workflows/changes.yml"); n != 1 {
			t.Errorf("contents calls = %d, want 1 (the head is the default branch)", n)
		}
		d := s.only("main-1")
		wf, _ := d.Input["workflow"].(map[string]any)
		if !d.Cancel || wf["modified"] != false {
			t.Errorf("decision = %s", jsonOf(d))
		}
	})

	t.Run("ping and unknown events", func(t *testing.T) {
		s.t = t
		ping, _ := harness.Payload("ping.json")
		if code := s.send("ping", "ping-1", ping); code != 202 {
			t.Errorf("ping: %d", code)
		}
		if code := s.send("star", "star-1", []byte(`{"action":"created"}`)); code != 202 {
			t.Errorf("unknown event: %d, want 202", code)
		}
		if code, _ := s.srv.Get(context.Background(), "/admin/deliveries/star-1", adminToken, nil); code != 404 {
			t.Errorf("unknown event stored (admin status %d)", code)
		}
		done, _ := harness.Payload("workflow_run.completed.json")
		if code := s.send("workflow_run", "completed-1", done); code != 202 {
			t.Errorf("workflow_run completed: %d", code)
		}
		if code, _ := s.srv.Get(context.Background(), "/admin/deliveries/completed-1", adminToken, nil); code != 404 {
			t.Errorf("a completed run's delivery was stored")
		}
	})

	t.Run("metrics", func(t *testing.T) {
		s.t = t
		for _, want := range []struct{ name, labels string }{
			{"runpolicy_webhook_deliveries_total", `event="workflow_run",outcome="queued"`},
			{"runpolicy_webhook_deliveries_total", `outcome="duplicate"`},
			{"runpolicy_webhook_deliveries_total", `event="other",outcome="ignored"`},
			{"runpolicy_decisions_total", `outcome="deny"`},
			{"runpolicy_policy_decisions_total", `mode="enforce",policy="compromised_actions"`},
			{"runpolicy_violations_total", `mode="enforce",policy="compromised_actions"`},
			{"runpolicy_cancels_total", `kind="cancel",result="accepted"`},
			{"runpolicy_delivery_to_cancel_seconds_count", ""},
			{"runpolicy_github_api_calls_total", `code="202",endpoint="cancel"`},
			{"runpolicy_queue_jobs", `state="available"`},
		} {
			if v := s.metric(want.name, want.labels); v == "" {
				t.Errorf("no %s{%s} in /metrics", want.name, want.labels)
			}
		}
		// One meaning per label: outcomes and modes live in different families.
		for _, bad := range []struct{ name, labels string }{
			{"runpolicy_decisions_total", `policy=`},
			{"runpolicy_decisions_total", `outcome="enforce"`},
			{"runpolicy_policy_decisions_total", `policy="all"`},
		} {
			if v := s.metric(bad.name, bad.labels); v != "" {
				t.Errorf("%s{%s} is in /metrics (%s)", bad.name, bad.labels, v)
			}
		}
	})
}

// TestSignatures: only deliveries signed with the secret get in; the rest
// leave a log line and a metric, nothing else.
func TestSignatures(t *testing.T) {
	s := newStack(t, nil)
	r := harness.Run{Repo: "acme/sig", ID: 2001, HeadSHA: sha(2001), Path: ".github/workflows/changes.yml", Installation: installation}
	s.gh.Publish(r, badWorkflow, nil)
	body, _ := harness.WorkflowRunRequested(r)
	ctx := context.Background()
	for i, tc := range []struct {
		name string
		sig  http.Header
		want int
	}{
		{"missing", http.Header{}, 401},
		{"sha-1 only", http.Header{"X-Hub-Signature": {"sha1=0123456789abcdef0123456789abcdef01234567"}}, 401},
		{"malformed", http.Header{"X-Hub-Signature-256": {"sha256=zz"}}, 401},
		{"wrong algorithm prefix", http.Header{"X-Hub-Signature-256": {"sha1=" + strings.Repeat("0", 64)}}, 401},
		{"wrong secret", http.Header{"X-Hub-Signature-256": {signWith("not-the-secret", body)}}, 401},
		{"signature of another body", http.Header{"X-Hub-Signature-256": {signWith(s.gh.Secret, []byte("{}"))}}, 401},
	} {
		id := fmt.Sprintf("sig-%d", i)
		code, err := s.gh.SendWith(ctx, s.srv.URL, harness.Delivery{Event: "workflow_run", ID: id, Body: body}, tc.sig)
		if err != nil || code != tc.want {
			t.Errorf("%s: status %d, %v; want %d", tc.name, code, err, tc.want)
		}
		if code, _ := s.srv.Get(ctx, "/admin/deliveries/"+id, adminToken, nil); code != 404 {
			t.Errorf("%s: refused delivery was stored", tc.name)
		}
	}
	if got := s.metric("runpolicy_webhook_signature_failures_total", `reason="mismatch"`); got != "2" {
		t.Errorf("mismatch failures = %q, want 2", got)
	}
	if got := s.metric("runpolicy_webhook_signature_failures_total", `reason="missing"`); got != "2" {
		t.Errorf("missing failures = %q, want 2 (absent, SHA-1 only)", got)
	}
	if n := s.calls("POST", cancelPath("acme/sig", 2001)); n != 0 {
		t.Errorf("an unsigned delivery cancelled a run")
	}
	if n := len(s.gh.Fake.Calls()); n != 0 {
		t.Errorf("refused deliveries reached GitHub (%d calls)", n)
	}

	big := make([]byte, 25<<20+1)
	code, err := s.gh.Send(ctx, s.srv.URL, harness.Delivery{Event: "workflow_run", ID: "big-1", Body: big})
	if err != nil || code != http.StatusRequestEntityTooLarge {
		t.Errorf("26 MB body: status %d, %v; want 413", code, err)
	}
	// Refused before the signature was verified: counted as refusals, not
	// as deliveries of an event nobody proved.
	if got := s.metric("runpolicy_webhook_refused_total", `reason="unauthorized"`); got != "6" {
		t.Errorf("refused as unauthorized = %q, want 6", got)
	}
	if got := s.metric("runpolicy_webhook_refused_total", `reason="too_large"`); got != "1" {
		t.Errorf("refused as too large = %q, want 1", got)
	}
	if got := s.metric("runpolicy_webhook_deliveries_total", `event="unauthenticated"`); got != "" {
		t.Errorf("deliveries_total has event=\"unauthenticated\" (%s)", got)
	}
	if got := s.metric("runpolicy_webhook_deliveries_total", `event="workflow_run"`); got != "" {
		t.Errorf("a refused delivery was counted as a workflow_run delivery (%s)", got)
	}
	if code, _ := s.srv.Get(ctx, "/admin/decisions", "wrong-token", nil); code != 401 {
		t.Errorf("admin API with a wrong token: %d, want 401", code)
	}
}

func signWith(secret string, body []byte) string { return webhook.Sign([]byte(secret), body) }

// TestGitHubFaults: 5xx, rate limits, timeouts and connection resets are
// retried; the run is cancelled and reported exactly once.
func TestGitHubFaults(t *testing.T) {
	s := newStack(t, nil)
	r := harness.Run{Repo: "acme/flaky", ID: 3001, HeadSHA: sha(3001), Path: ".github/workflows/changes.yml",
		PullRequests: []int{9}, Installation: installation}
	contents := "/repos/acme/flaky/contents/.github/workflows/changes.yml"
	fake := s.gh.Fake
	fake.AddFault(fakegithub.Fault{Method: "GET", Path: contents, Times: 1, Status: 502})
	fake.AddFault(fakegithub.Fault{Method: "GET", Path: contents, Times: 1, Delay: 1500 * time.Millisecond}) // > github_timeout
	fake.AddFault(fakegithub.Fault{Method: "POST", Path: cancelPath(r.Repo, r.ID), Times: 1, Status: 503})
	fake.AddFault(fakegithub.Fault{Method: "POST", Path: cancelPath(r.Repo, r.ID), Times: 1, Reset: true})
	fake.AddFault(fakegithub.SecondaryRateLimited("POST", "/repos/acme/flaky/check-runs", 1, time.Second))
	fake.AddFault(fakegithub.RateLimited("POST", "/repos/acme/flaky/issues/9/comments", 1, time.Now().Add(time.Second)))
	s.requested(r, badWorkflow, nil, "flaky-1")
	if d := s.processed("flaky-1"); d.State != "processed" {
		t.Fatalf("delivery = %+v", d)
	}
	if n := s.calls("POST", cancelPath(r.Repo, r.ID)); n != 1 {
		t.Errorf("accepted cancels = %d, want 1", n)
	}
	if n := checkRunsOf(s, r.Repo); n != 1 {
		t.Errorf("check runs = %d, want 1", n)
	}
	if n := commentsOf(s, r.Repo, 9); n != 1 {
		t.Errorf("comments = %d, want 1", n)
	}
	if d := s.only("flaky-1"); d.Outcome != "deny" {
		t.Errorf("decision = %s", jsonOf(d))
	}
	if v := s.metric("runpolicy_github_api_errors_total", `endpoint="contents",kind="server"`); v == "" {
		t.Error("no server error counted for contents")
	}
}

// TestOnErrorCancel: a run GitHub will not let us judge is cancelled and
// the reason reported.
func TestOnErrorCancel(t *testing.T) {
	s := newStack(t, map[string]any{"on_error": "cancel"})
	r := harness.Run{Repo: "acme/down", ID: 4001, HeadSHA: sha(4001), Path: ".github/workflows/ci.yml",
		PullRequests: []int{4}, Installation: installation}
	s.gh.Publish(r, goodWorkflow, nil)
	s.gh.Fake.AddFault(fakegithub.Fault{Method: "GET", Path: "/repos/acme/down/contents/*", Status: 502})
	body, _ := harness.WorkflowRunRequested(r)
	s.send("workflow_run", "down-1", body)
	s.processed("down-1")
	d := s.only("down-1")
	if d.Outcome != "error" || !d.Cancel || d.Error == nil || d.Error.Code != "github_unavailable" || d.Error.OnError != "cancel" {
		t.Errorf("decision = %s", jsonOf(d))
	}
	if n := s.gh.Fake.CountAll("GET", "/repos/acme/down/contents/.github/workflows/ci.yml"); n < 3 {
		t.Errorf("file fetched %d times; want judge_attempts (3) tries before on_error", n)
	}
	if n := s.calls("POST", cancelPath(r.Repo, r.ID)); n != 1 {
		t.Errorf("cancel calls = %d, want 1", n)
	}
	runs := s.gh.Fake.CheckRuns()
	if len(runs) != 1 || runs[0].Conclusion != "failure" || !strings.Contains(runs[0].Summary, "could not be judged") {
		t.Errorf("check runs = %s", jsonOf(runs))
	}
	if cs := s.gh.Fake.Comments(); len(cs) != 1 || !strings.Contains(cs[0].Body, "could not be judged") {
		t.Errorf("comments = %s", jsonOf(cs))
	}
}

// TestForceCancel: a run still going after its cancel is force-cancelled.
func TestForceCancel(t *testing.T) {
	s := newStack(t, map[string]any{"cancel_escalation_delay": "300ms"})
	r := harness.Run{Repo: "acme/stuck", ID: 5001, HeadSHA: sha(5001), Path: ".github/workflows/changes.yml", Installation: installation}
	s.gh.Publish(r, badWorkflow, nil)
	s.gh.Fake.AddRun(fakegithub.Run{Repo: r.Repo, ID: r.ID, Path: r.Path, HeadSHA: r.HeadSHA, Status: "in_progress", IgnoreCancel: true})
	body, _ := harness.WorkflowRunRequested(r)
	if code := s.send("workflow_run", "stuck-1", body); code != 202 {
		t.Fatalf("delivery: %d", code)
	}
	// A second run that honours its cancel: no escalation.
	r2 := harness.Run{Repo: "acme/stuck", ID: 5002, HeadSHA: sha(5002), Path: ".github/workflows/changes.yml", Installation: installation}
	s.requested(r2, badWorkflow, nil, "stuck-2")
	force := fmt.Sprintf("/repos/%s/actions/runs/%d/force-cancel", r.Repo, r.ID)
	if !harness.WaitFor(20*time.Second, func() bool { return s.calls("POST", force) == 1 }) {
		t.Fatal("stuck run not force-cancelled")
	}
	time.Sleep(500 * time.Millisecond)
	if n := s.calls("POST", force); n != 1 {
		t.Errorf("force-cancels = %d, want 1", n)
	}
	if n := s.gh.Fake.CountAll("POST", fmt.Sprintf("/repos/%s/actions/runs/%d/force-cancel", r2.Repo, r2.ID)); n != 0 {
		t.Errorf("a run that honoured its cancel was force-cancelled")
	}
	if run, _ := s.gh.Fake.Run(r.Repo, r.ID); run.Status != "completed" {
		t.Errorf("stuck run status = %q", run.Status)
	}
}

// TestRedelivery: deliveries that failed while the server was away are
// asked for again on start; the ones it has or that cannot succeed are not.
func TestRedelivery(t *testing.T) {
	s := newStackWith(t, map[string]any{"redeliver_interval": "1s"}, func(s *stack) {
		r := harness.Run{Repo: "acme/lost", ID: 6001, HeadSHA: sha(6001), Path: ".github/workflows/changes.yml", Installation: installation}
		s.gh.Publish(r, badWorkflow, nil)
		body, _ := harness.WorkflowRunRequested(r)
		fake := s.gh.Fake
		fake.AddHookDelivery(fakegithub.HookDelivery{GUID: "lost-1", Event: "workflow_run", Action: "requested", StatusCode: 0, Payload: body,
			DeliveredAt: time.Now().Add(-10 * time.Minute)})
		fake.AddHookDelivery(fakegithub.HookDelivery{GUID: "refused-1", Event: "workflow_run", Action: "requested", StatusCode: 401, Payload: body})
		fake.AddHookDelivery(fakegithub.HookDelivery{GUID: "done-1", Event: "workflow_run", Action: "requested", StatusCode: 202, Payload: body})
		fake.AddHookDelivery(fakegithub.HookDelivery{GUID: "other-1", Event: "issues", Action: "opened", StatusCode: 502})
		fake.AddHookDelivery(fakegithub.HookDelivery{GUID: "ancient-1", Event: "workflow_run", Action: "requested", StatusCode: 502,
			DeliveredAt: time.Now().Add(-96 * time.Hour), Payload: body})
		fake.OnRedeliver(func(d fakegithub.HookDelivery) int {
			code, _ := s.gh.Send(context.Background(), s.url(), harness.Delivery{Event: d.Event, ID: d.GUID, Body: d.Payload})
			return code
		})
	})
	s.processed("lost-1")
	if n := s.calls("POST", cancelPath("acme/lost", 6001)); n != 1 {
		t.Errorf("cancel calls = %d, want 1", n)
	}
	ids := map[string]int64{}
	for _, d := range s.gh.Fake.HookDeliveries() {
		if !d.Redelivery {
			ids[d.GUID] = d.ID
		}
	}
	time.Sleep(1500 * time.Millisecond) // another sweep
	for guid, want := range map[string]int{"lost-1": 1, "refused-1": 0, "done-1": 0, "other-1": 0, "ancient-1": 0} {
		if n := s.calls("POST", fmt.Sprintf("/app/hook/deliveries/%d/attempts", ids[guid])); n != want {
			t.Errorf("redelivery requests for %s = %d, want %d", guid, n, want)
		}
	}
}

// TestRestart: SIGKILL with deliveries in flight; after a restart every
// acknowledged delivery is judged exactly once and every run cancelled once.
func TestRestart(t *testing.T) {
	s := newStack(t, nil)
	s.gh.Fake.SetLatency(150 * time.Millisecond)
	const n = 20
	var runs []harness.Run
	for i := range n {
		r := harness.Run{Repo: "acme/crash", ID: int64(7000 + i), HeadSHA: sha(7000 + i), Path: ".github/workflows/changes.yml", Installation: installation}
		s.gh.Publish(r, badWorkflow, nil)
		runs = append(runs, r)
	}
	for i, r := range runs {
		body, _ := harness.WorkflowRunRequested(r)
		if code := s.send("workflow_run", fmt.Sprintf("crash-%d", i), body); code != 202 {
			t.Fatalf("delivery %d: %d", i, code)
		}
	}
	// Kill with some runs done and others in flight.
	harness.WaitFor(10*time.Second, func() bool {
		done := 0
		for _, r := range runs {
			done += s.gh.Fake.CountAll("POST", cancelPath(r.Repo, r.ID))
		}
		return done >= 3
	})
	s.srv.Kill()
	sent := 0
	for _, r := range runs {
		sent += s.gh.Fake.CountAll("POST", cancelPath(r.Repo, r.ID))
	}
	t.Logf("killed after %d of %d cancel requests", sent, n)
	if sent == n {
		t.Log("every run was cancelled before the kill; the restart had nothing in flight")
	}
	s.start()
	for i := range runs {
		s.processed(fmt.Sprintf("crash-%d", i))
	}
	for i, r := range runs {
		s.only(fmt.Sprintf("crash-%d", i))
		if c := s.calls("POST", cancelPath(r.Repo, r.ID)); c != 1 {
			t.Errorf("run %d cancelled %d times, want 1", r.ID, c)
		}
	}
}

// TestGracefulShutdown: SIGTERM stops the server cleanly, and secrets never
// reach the logs.
func TestGracefulShutdown(t *testing.T) {
	s := newStack(t, nil)
	r := harness.Run{Repo: "acme/bye", ID: 8001, HeadSHA: sha(8001), Path: ".github/workflows/changes.yml", Installation: installation}
	s.requested(r, badWorkflow, nil, "bye-1")
	s.processed("bye-1")
	code, err := s.srv.Stop(20 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("exit after SIGTERM = %d, %v; want 0", code, err)
	}
	logs := s.srv.Logs.String()
	if s.srv.Logs.Find("stopped") == nil {
		t.Error("no 'stopped' log line")
	}
	secrets := []string{s.gh.Secret, adminToken}
	for _, line := range strings.Split(string(s.gh.KeyPEM), "\n") {
		if len(line) > 20 {
			secrets = append(secrets, line)
		}
	}
	tokens := s.gh.Fake.IssuedTokens()
	if len(tokens) == 0 {
		t.Fatal("no installation token issued")
	}
	secrets = append(secrets, tokens...)
	for _, secret := range secrets {
		if strings.Contains(logs, secret) {
			t.Errorf("a secret appears in the logs: %.12s…", secret)
		}
	}
	for _, line := range s.srv.Logs.Lines() {
		if strings.Contains(line, `"run_id":8001`) && !strings.Contains(line, `"delivery_id":"bye-1"`) {
			t.Errorf("log line about the run without its delivery id: %s", line)
		}
	}
	if s.srv.Logs.Find("run cancelled") == nil {
		t.Error("no 'run cancelled' log line")
	} else if m := s.srv.Logs.Find("run cancelled"); m["decision_id"] == nil || m["repository"] != "acme/bye" {
		t.Errorf("cancel log line lacks decision id or repository: %v", m)
	}
}

// TestPolicyRepositoryPush: a push to the default branch of a policy
// repository refreshes its bundle, and the new settings judge the next run.
func TestPolicyRepositoryPush(t *testing.T) {
	policyDir := t.TempDir()
	writeSettings := func(allow string) {
		data := `runpolicy:
  settings:
    repositories:
      "acme/*":
        allowed_actions:
          mode: enforce
          allow: ["actions/*", "github/*", "step-security/harden-runner"` + allow + `]
`
		if err := os.WriteFile(filepath.Join(policyDir, "data.yaml"), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeSettings(`, "someorg/*"`)
	s := newStack(t, map[string]any{"bundles": []map[string]any{
		{"name": "org", "type": "dir", "url": policyDir, "repository": "acme/policies", "interval": "1h"},
	}})
	revision := func() string {
		var st struct {
			Revisions map[string]string `json:"revisions"`
		}
		s.srv.Get(context.Background(), "/status/bundles", adminToken, &st)
		return st.Revisions["org"]
	}
	before := revision()
	if before == "" {
		t.Fatal("the org bundle is not active")
	}
	first := harness.Run{Repo: "acme/tools", ID: 9001, HeadSHA: sha(9001), Path: ".github/workflows/lint.yml", Installation: installation}
	s.requested(first, dryRunWorkflow, dryRunWorkflow, "push-run-1")
	s.processed("push-run-1")
	if n := s.calls("POST", cancelPath(first.Repo, first.ID)); n != 0 {
		t.Fatalf("someorg/* is allowed, yet the run was cancelled")
	}

	writeSettings("")
	push := func(id, ref string) int {
		body := fmt.Sprintf(`{"ref":%q,"before":"%s","after":"%s","repository":{"full_name":"acme/policies","name":"policies","default_branch":"main","owner":{"login":"acme"}},"installation":{"id":%d}}`,
			ref, sha(1), sha(2), installation)
		return s.send("push", id, []byte(body))
	}
	if code := push("push-dev", "refs/heads/dev"); code != 202 {
		t.Fatalf("push to a branch: %d", code)
	}
	if code, _ := s.srv.Get(context.Background(), "/admin/deliveries/push-dev", adminToken, nil); code != 404 {
		t.Error("a push to another branch than the default was stored")
	}
	if code := push("push-main", "refs/heads/main"); code != 202 {
		t.Fatalf("push to main: %d", code)
	}
	s.processed("push-main")
	if !harness.WaitFor(20*time.Second, func() bool { return revision() != before }) {
		t.Fatal("the org bundle was not refreshed after the push")
	}
	second := harness.Run{Repo: "acme/tools", ID: 9002, HeadSHA: sha(9002), Path: ".github/workflows/lint.yml", Installation: installation}
	s.requested(second, dryRunWorkflow, dryRunWorkflow, "push-run-2")
	s.processed("push-run-2")
	if n := s.calls("POST", cancelPath(second.Repo, second.ID)); n != 1 {
		t.Errorf("after the push someorg/* is not allowed: cancels = %d, want 1", n)
	}
}

// TestPolicyRepositoryPushReachesEveryReplica: a push reaches one replica;
// the other refreshes its bundles too, long before its poll interval (1h).
func TestPolicyRepositoryPushReachesEveryReplica(t *testing.T) {
	_, dsn := pgtest.Database(t)
	policyDir := t.TempDir()
	write := func(mode string) {
		data := "runpolicy:\n  settings:\n    allowed_actions:\n      mode: " + mode + "\n"
		if err := os.WriteFile(filepath.Join(policyDir, "data.yaml"), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("dry_run")
	a := newStack(t, map[string]any{"database": dsn, "bundles": []map[string]any{
		{"name": "org", "type": "dir", "url": policyDir, "repository": "acme/policies", "interval": "1h"},
	}})
	b := a.replica()
	revision := func(s *stack) string {
		var st struct {
			Revisions map[string]string `json:"revisions"`
		}
		s.srv.Get(context.Background(), "/status/bundles", adminToken, &st)
		return st.Revisions["org"]
	}
	before := revision(b)
	if before == "" || revision(a) != before {
		t.Fatalf("replicas start on revisions %q and %q, want the same", revision(a), before)
	}

	write("enforce")
	body := fmt.Sprintf(`{"ref":"refs/heads/main","before":"%s","after":"%s","repository":{"full_name":"acme/policies","name":"policies","default_branch":"main","owner":{"login":"acme"}},"installation":{"id":%d}}`,
		sha(1), sha(2), installation)
	if code := a.send("push", "push-replicas", []byte(body)); code != 202 {
		t.Fatalf("push: %d", code)
	}
	a.processed("push-replicas")
	if !harness.WaitFor(20*time.Second, func() bool { return revision(b) != before }) {
		t.Fatal("the replica that did not receive the push kept its old bundle revision")
	}
	// The replica that took the push refreshes in the background too, and
	// may finish after the other one.
	if !harness.WaitFor(20*time.Second, func() bool { return revision(a) != before }) {
		t.Fatal("the replica that received the push kept its old bundle revision")
	}
	if revision(a) != revision(b) {
		t.Errorf("replicas on revisions %q and %q after the push, want the same", revision(a), revision(b))
	}
}

// TestPostgresReplicas: two servers share a Postgres database; every
// delivery, whichever replica took it, is judged once and its run
// cancelled once.
func TestPostgresReplicas(t *testing.T) {
	_, dsn := pgtest.Database(t)
	a := newStack(t, map[string]any{"database": dsn, "redeliver_interval": "1s"})
	b := a.replica()
	const n = 10
	for i := range n {
		r := harness.Run{Repo: "acme/pg", ID: int64(9100 + i), HeadSHA: sha(9100 + i), Path: ".github/workflows/changes.yml", Installation: installation}
		a.gh.Publish(r, badWorkflow, nil)
		body, _ := harness.WorkflowRunRequested(r)
		target := a
		if i%2 == 1 {
			target = b
		}
		id := fmt.Sprintf("pg-%d", i)
		target.send("workflow_run", id, body)
		// GitHub redelivers to whichever replica the load balancer picks.
		if code := a.send("workflow_run", id, body); code != 202 {
			t.Fatalf("redelivery of %s: %d", id, code)
		}
	}
	for i := range n {
		a.processed(fmt.Sprintf("pg-%d", i))
		a.only(fmt.Sprintf("pg-%d", i))
		if c := a.calls("POST", cancelPath("acme/pg", int64(9100+i))); c != 1 {
			t.Errorf("run %d cancelled %d times, want 1", 9100+i, c)
		}
	}
	if code, err := b.srv.Stop(20 * time.Second); err != nil || code != 0 {
		t.Errorf("replica b exit = %d, %v", code, err)
	}
}

// TestReportUpgrade: a dry-run check run written for a run's workflow_run
// is rewritten, not duplicated, when a queued job of the same run attempt
// is then denied (a runner label only GitHub could resolve), and the
// cancel gets the pull request's comment.
func TestReportUpgrade(t *testing.T) {
	policyDir := t.TempDir()
	settings := "runpolicy:\n  settings:\n    repositories:\n      \"acme/*\":\n        runner_labels:\n          disallowed: [\"self-hosted\"]\n"
	if err := os.WriteFile(filepath.Join(policyDir, "data.yaml"), []byte(settings), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, map[string]any{"bundles": []map[string]any{{"name": "org", "type": "dir", "url": policyDir}}})
	matrix := []byte(`name: matrix
on: pull_request
jobs:
  build:
    strategy:
      matrix:
        os: ${{ fromJSON(vars.RUNNERS) }}
    runs-on: ${{ matrix.os }}
    steps:
      - uses: actions/checkout@v4
      - uses: someorg/some-action@v1
`) // a matrix given by an expression: the runner is known only when the job is queued
	r := harness.Run{Repo: "acme/matrix", ID: 9501, HeadSHA: sha(9501), Path: ".github/workflows/matrix.yml",
		PullRequests: []int{21}, Installation: installation}
	s.requested(r, matrix, matrix, "up-1")
	s.processed("up-1")
	if d := s.only("up-1"); d.Cancel {
		t.Fatalf("the file alone cannot tell the runner: %s", jsonOf(d))
	}
	runs := s.gh.Fake.CheckRuns()
	if len(runs) != 1 || runs[0].Conclusion != "neutral" {
		t.Fatalf("check runs after workflow_run = %s", jsonOf(runs))
	}
	job, _ := harness.WorkflowJob(r, "queued", 4242, "build (self-hosted)", []string{"self-hosted"})
	s.send("workflow_job", "up-2", job)
	s.processed("up-2")
	if d := s.only("up-2"); !d.Cancel {
		t.Fatalf("the queued job's label is disallowed: %s", jsonOf(d))
	}
	if n := s.calls("POST", cancelPath(r.Repo, r.ID)); n != 1 {
		t.Errorf("cancels = %d, want 1", n)
	}
	runs = s.gh.Fake.CheckRuns()
	if len(runs) != 1 || runs[0].Conclusion != "failure" || runs[0].Updates == 0 || !strings.Contains(runs[0].Summary, "runner_labels") {
		t.Errorf("check runs after the job = %s; want the one check run updated to failure", jsonOf(runs))
	}
	// The queued job's finding carries the job's line, not line 1.
	var atJob bool
	for _, a := range runs[0].Annotations {
		atJob = atJob || (a.Title == "runner_labels" && a.StartLine == 4 && a.AnnotationLevel == "failure")
	}
	if !atJob {
		t.Errorf("annotations = %s; want runner_labels at the job's line 4", jsonOf(runs[0].Annotations))
	}
	// comment_on: deny: no comment for the dry-run findings, one once the
	// run is cancelled.
	cs := s.gh.Fake.Comments()
	if len(cs) != 1 || !strings.Contains(cs[0].Body, "cancelled") || !strings.Contains(cs[0].Body, "#L4)") {
		t.Errorf("comments = %s; want one, written on the cancel, linking the job's line", jsonOf(cs))
	}
}
