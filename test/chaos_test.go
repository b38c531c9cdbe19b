package test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/test/fakegithub"
	"github.com/runpolicy/runpolicy/test/harness"
	"github.com/runpolicy/runpolicy/test/pgtest"
)

// Proof 4: GitHub fails 30% of the calls three replicas make, on every
// endpoint the report calls included (500, 502, a 403 primary rate limit,
// a 429 with Retry-After), and times out on 5% more (half of them done
// with the answer lost). Deliveries come for runs and for their queued
// jobs, in any order; half the denied runs have if: always() jobs that
// keep them going after their cancel; and a replica is killed three times
// between GitHub doing a call (a cancel, a check run, a comment) and the
// replica recording it. Every run is still judged on its workflow, not by
// on_error; no call is retried before the time GitHub asked for; and each
// side effect happens once per run attempt: one accepted cancel per denied
// run (none for a stuck one whose cancel never reached GitHub: its
// force-cancel ends it), one force-cancel per stuck one and none for the
// others, one check run and one comment on each pull request per run with
// a report; and every denied run is over.
func TestGitHubChaos(t *testing.T) {
	c := newCluster(t, clusterOptions{replicas: 3, tagCalls: true, config: map[string]any{
		// Enough tries that 25% of calls failing (the rate limits only
		// postpone) never exhausts them: every run is judged.
		"judge_attempts":          15,
		"max_attempts":            40,
		"retry_base":              "20ms",
		"retry_max":               "300ms",
		"github_timeout":          "1s",
		"job_timeout":             "6s",
		"rescue_after":            "8s",
		"cancel_escalation_delay": "1s",
		// Three replicas share the database server with other tests.
		"workers": 6,
	}})
	// Rate limits count per installation: spread the runs over 40.
	runs := makeRunsIn(c.gh, "chaos", 400000, 240, 40)
	for i := range runs {
		r := &runs[i]
		if i%4 == 0 {
			r.PullRequests = append(r.PullRequests, r.PullRequests[0]+1000)
		}
		r.stuck = r.kind == kindDeny && (i/3)%2 == 0
		run, _ := c.gh.Fake.Run(r.Repo, r.ID)
		run.PullRequests = r.PullRequests
		if r.stuck {
			run.Status, run.IgnoreCancel = "in_progress", true
		}
		c.gh.Fake.AddRun(run)
	}
	ds := withJobs(t, deliveriesFor(t, runs, "chaos", 480, 4), runs, "chaos", 5)

	// The kills: the replica that made the call dies before the answer
	// reaches it, and starts again a second later.
	var mu sync.Mutex
	var restarts sync.WaitGroup
	kills := 0
	kill := func(r *http.Request) {
		victim := c.caller(r)
		mu.Lock()
		defer mu.Unlock()
		if victim == nil || !victim.up.Load() {
			return
		}
		c.kill(victim)
		kills++
		t.Logf("killed %s after %s %s", victim.name, r.Method, r.URL.Path)
		restarts.Add(1)
		go func() {
			defer restarts.Done()
			time.Sleep(time.Second)
			c.start(victim)
		}()
	}
	stuck, deny := runs[0], runs[3] // runs[0] is stuck, runs[3] is not
	c.gh.Fake.AddFault(fakegithub.Fault{Method: "POST", Path: cancelPath(stuck.Repo, stuck.ID), Times: 1, After: kill})
	c.gh.Fake.AddFault(fakegithub.Fault{Method: "POST", Path: "/repos/" + deny.Repo + "/check-runs", Times: 1, After: kill})
	c.gh.Fake.AddFault(fakegithub.Fault{Method: "POST", Path: fmt.Sprintf("/repos/%s/issues/%d/comments", runs[6].Repo, runs[6].PullRequests[0]),
		Times: 1, After: kill})

	c.gh.Fake.SetChaos(&fakegithub.Chaos{Seed: 4, Fail: 0.30, Timeout: 0.05, Hold: 1500 * time.Millisecond, Wait: time.Second})
	results, _ := c.blast(ds, 16, 0, nil)
	acked, failed := c.outcomes(ds, results)
	mu.Lock()
	t.Logf("%d deliveries sent: %d delivery ids acknowledged, %d failed at the %d kills so far (GitHub records them, the sweep redelivers them)",
		len(ds), len(acked), len(failed), kills)
	if kills == 0 && len(failed) > 0 {
		t.Errorf("%d deliveries failed without a kill; GitHub's faults must not reach /webhook", len(failed))
	}
	mu.Unlock()
	// The last fault points may be reached after the load was sent.
	if !harness.WaitFor(60*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return kills == 3 }) {
		t.Errorf("%d kills, want 3: a fault point was not reached", kills)
	}
	restarts.Wait()
	c.settle(union(acked, failed), len(runs), 150*time.Second)
	c.drain(90 * time.Second)
	calls := c.gh.Fake.Calls()
	c.gh.Fake.SetChaos(nil)
	c.checkExactlyOnce(runs, acked, false)

	injected := map[string]map[string]int{} // endpoint → kind → count
	for _, call := range calls {
		if call.Injected != "" && call.Injected != fakegithub.InjectedFault {
			e := endpoint(call)
			if injected[e] == nil {
				injected[e] = map[string]int{}
			}
			injected[e][call.Injected]++
		}
	}
	t.Logf("%d calls to GitHub, injected failures per endpoint: %v", len(calls), injected)
	all := map[string]int{}
	for _, kinds := range injected {
		for k, n := range kinds {
			all[k] += n
		}
	}
	for _, kind := range []string{fakegithub.Injected500, fakegithub.Injected502, fakegithub.InjectedRateLimit,
		fakegithub.InjectedRetryAfter, fakegithub.InjectedLostAnswer, fakegithub.InjectedDropped} {
		if all[kind] == 0 {
			t.Errorf("no %s failure injected: the test did not exercise it", kind)
		}
	}
	for _, e := range []string{"GET run", "GET contents", "POST cancel", "POST force-cancel", "POST check-runs", "POST comments"} {
		if len(injected[e]) == 0 {
			t.Errorf("no failure injected on %s: the test did not exercise it", e)
		}
	}
	checkRetryHeaders(t, calls)
}

// endpoint names the kind of GitHub call, without its repository and ids.
func endpoint(call fakegithub.Call) string {
	parts := strings.Split(strings.Trim(call.Path, "/"), "/")
	switch {
	case len(parts) >= 4 && parts[0] == "repos" && parts[3] == "contents":
		return call.Method + " contents"
	case len(parts) == 6 && parts[3] == "actions" && parts[4] == "runs":
		return call.Method + " run"
	case len(parts) == 7 && parts[3] == "actions" && parts[4] == "runs":
		return call.Method + " " + parts[6]
	case len(parts) >= 4 && parts[0] == "repos":
		last := parts[len(parts)-1]
		if _, err := strconv.Atoi(last); err == nil {
			last = parts[len(parts)-2] // an update: …/check-runs/{id}, …/comments/{id}
		}
		return call.Method + " " + last
	}
	return call.Method + " " + call.Path
}

// withJobs adds a delivery of a queued job for each run with something to
// report, at a random place: as often before its run's workflow_run
// delivery as after it.
func withJobs(t *testing.T, ds []loadDelivery, runs []runSpec, prefix string, seed uint64) []loadDelivery {
	t.Helper()
	rnd := rand.New(rand.NewPCG(seed, seed+1))
	for i, r := range runs {
		if r.kind == kindGood {
			continue
		}
		body, err := harness.WorkflowJob(r.Run, "queued", r.ID*10, "changes", []string{"ubuntu-latest"})
		if err != nil {
			t.Fatal(err)
		}
		ds = slices.Insert(ds, rnd.IntN(len(ds)+1),
			loadDelivery{harness.Delivery{Event: "workflow_job", ID: fmt.Sprintf("%s-job-%d", prefix, i), Body: body}, i})
	}
	return ds
}

// checkRetryHeaders checks that after a rate-limit answer the same process
// (by its installation token) made no call to the same endpoint before
// the time the answer named. Calls already on their way when the answer
// went out (arriving within a few milliseconds) are not retries.
func checkRetryHeaders(t *testing.T, calls []fakegithub.Call) {
	t.Helper()
	type key struct{ token, method, path, query string }
	sort.SliceStable(calls, func(i, j int) bool { return calls[i].At.Before(calls[j].At) })
	limited := map[key]fakegithub.Call{}
	checked, early := 0, 0
	var least time.Duration = -1
	for _, call := range calls {
		k := key{call.Token, call.Method, call.Path, call.Query}
		if call.Token == "" {
			continue // App JWT calls: no process identity to follow
		}
		if prev, ok := limited[k]; ok && call.At.Sub(prev.At) > 5*time.Millisecond {
			delete(limited, k)
			checked++
			slack := call.At.Sub(prev.RetryNotBefore)
			if least < 0 || slack < least {
				least = slack
			}
			if slack < 0 {
				early++
				if early <= 10 {
					t.Errorf("%s %s?%s retried %s after a %d answer asking to wait until %s (%s early)", call.Method, call.Path, call.Query,
						call.At.Sub(prev.At).Round(time.Millisecond), prev.Status, prev.RetryNotBefore.Format("15:04:05.000"), (-slack).Round(time.Millisecond))
				}
			}
		}
		if !call.RetryNotBefore.IsZero() && (call.Status == http.StatusForbidden || call.Status == http.StatusTooManyRequests) {
			limited[k] = call
		}
	}
	t.Logf("%d retries after a rate-limit answer checked: %d early; the closest came %s after the time allowed", checked, early, least.Round(time.Millisecond))
	if checked == 0 {
		t.Error("no retry after a rate-limit answer was seen")
	}
}

// Faults that used to lose a report or repeat a cancel, each made to
// happen at a chosen point on one replica (SQLite, then Postgres): a
// claimed action is done only when GitHub confirmed it, every path that
// claims one finishes it or hands it back, and a run attempt is cancelled
// once and force-cancelled at most once.

// claimStores runs a test on each store a single replica can use; config
// gives the settings of a server with a store of its own.
func claimStores(t *testing.T, test func(t *testing.T, config func(t *testing.T) map[string]any)) {
	t.Run("sqlite", func(t *testing.T) {
		test(t, func(*testing.T) map[string]any { return map[string]any{} })
	})
	t.Run("postgres", func(t *testing.T) {
		test(t, func(t *testing.T) map[string]any {
			_, dsn := pgtest.Database(t)
			return map[string]any{"database": dsn, "rescue_after": "3s", "job_timeout": "2s"}
		})
	})
}

// sideEffects checks what one run got on GitHub: cancels accepted,
// force-cancels accepted, check runs and comments on pr.
func sideEffects(t *testing.T, s *stack, r harness.Run, cancels, forces, checkRuns, comments int) {
	t.Helper()
	if n := s.calls("POST", cancelPath(r.Repo, r.ID)); n != cancels {
		t.Errorf("run %d: %d cancels accepted, want %d", r.ID, n, cancels)
	}
	if n := s.calls("POST", forceCancelPath(r.Repo, r.ID)); n != forces {
		t.Errorf("run %d: %d force-cancels accepted, want %d", r.ID, n, forces)
	}
	if n := checkRunsOf(s, r.Repo); n != checkRuns {
		t.Errorf("run %d: %d check runs created, want %d", r.ID, n, checkRuns)
	}
	for _, cr := range s.gh.Fake.CheckRuns() {
		if cr.Repo == r.Repo && cr.Conclusion != "failure" {
			t.Errorf("run %d: check run concludes %q, want failure", r.ID, cr.Conclusion)
		}
	}
	for _, pr := range r.PullRequests {
		if n := commentsOf(s, r.Repo, pr); n != comments {
			t.Errorf("run %d: %d comments on pull request %d, want %d", r.ID, n, pr, comments)
		}
	}
}

func forceCancelPath(repo string, id int64) string {
	return fmt.Sprintf("/repos/%s/actions/runs/%d/force-cancel", repo, id)
}

// TestJobDeliveryFinishesItsReport: a workflow_job delivery cancels the
// run and claims its report, and writing the report fails. Its retry must
// write it (not stop at "already cancelled"), and the workflow_run decision
// after it must not count the unfinished claim as done.
func TestJobDeliveryFinishesItsReport(t *testing.T) {
	claimStores(t, func(t *testing.T, config func(*testing.T) map[string]any) {
		s := newStack(t, config(t))
		r := harness.Run{Repo: "acme/jobfirst", ID: 9601, HeadSHA: sha(9601), Path: ".github/workflows/changes.yml",
			PullRequests: []int{31, 32}, Installation: installation}
		s.gh.Publish(r, badWorkflow, badWorkflow)
		s.gh.Fake.AddFault(fakegithub.Fault{Method: "POST", Path: "/repos/acme/jobfirst/check-runs", Times: 1, Status: 500})
		s.gh.Fake.AddFault(fakegithub.Fault{Method: "POST", Path: "/repos/acme/jobfirst/issues/32/comments", Times: 1, Status: 502})
		job, _ := harness.WorkflowJob(r, "queued", 96011, "changes", []string{"ubuntu-latest"})
		if code := s.send("workflow_job", "jobfirst-job", job); code != 202 {
			t.Fatalf("workflow_job: %d", code)
		}
		s.processed("jobfirst-job")
		body, _ := harness.WorkflowRunRequested(r)
		if code := s.send("workflow_run", "jobfirst-run", body); code != 202 {
			t.Fatalf("workflow_run: %d", code)
		}
		s.processed("jobfirst-run")
		sideEffects(t, s, r, 1, 0, 1, 1)
	})
}

// TestHandedBackReportIsWritten: the workflow_job delivery that claimed
// the report gives up on it (GitHub refuses it for good): it hands the
// claim back, and the workflow_run decision writes the report.
func TestHandedBackReportIsWritten(t *testing.T) {
	claimStores(t, func(t *testing.T, config func(*testing.T) map[string]any) {
		s := newStack(t, config(t))
		r := harness.Run{Repo: "acme/handback", ID: 9602, HeadSHA: sha(9602), Path: ".github/workflows/changes.yml",
			PullRequests: []int{33}, Installation: installation}
		s.gh.Publish(r, badWorkflow, badWorkflow)
		s.gh.Fake.AddFault(fakegithub.Fault{Method: "POST", Path: "/repos/acme/handback/check-runs", Times: 1, Status: 422})
		job, _ := harness.WorkflowJob(r, "queued", 96021, "changes", []string{"ubuntu-latest"})
		if code := s.send("workflow_job", "handback-job", job); code != 202 {
			t.Fatalf("workflow_job: %d", code)
		}
		if d := s.processed("handback-job"); d.State != "failed" {
			t.Errorf("workflow_job delivery = %+v; want failed: GitHub refused its report", d)
		}
		if got := s.metric("runpolicy_deliveries_processed_total", `event="workflow_job",outcome="failed"`); got != "1" {
			t.Errorf("processed workflow_job failed = %q, want 1 (the failure counted under its event)", got)
		}
		body, _ := harness.WorkflowRunRequested(r)
		if code := s.send("workflow_run", "handback-run", body); code != 202 {
			t.Fatalf("workflow_run: %d", code)
		}
		if d := s.processed("handback-run"); d.State != "processed" {
			t.Errorf("workflow_run delivery = %+v", d)
		}
		sideEffects(t, s, r, 1, 0, 1, 1)
	})
}

// TestKillBetweenGitHubAndStore: the replica is killed (SIGKILL) after
// GitHub did a call and before the answer reaches it, so the store never
// learns of it; after the restart nothing is done twice and nothing is
// missing. The run's if: always() jobs keep it in progress after its
// cancel, so that only the force-cancel after cancel_escalation_delay
// ends it.
func TestKillBetweenGitHubAndStore(t *testing.T) {
	cases := []struct {
		name string
		// path of the call the kill follows, from the run's repository.
		path string
		// readFails makes the first read of the run after the restart fail.
		readFails bool
		// postgres runs the case on Postgres too, where it waits for the
		// killed process's leadership to expire (some 15s) before the
		// force-cancel: only the cases of a cancel the store never heard of.
		postgres bool
	}{
		{name: "cancel", path: "/actions/runs/%d/cancel", postgres: true},
		{name: "cancel, then the run cannot be read", path: "/actions/runs/%d/cancel", readFails: true, postgres: true},
		{name: "check run", path: "/check-runs"},
		{name: "comment", path: "/issues/%d/comments"},
		{name: "force-cancel", path: "/actions/runs/%d/force-cancel"},
	}
	claimStores(t, func(t *testing.T, config func(*testing.T) map[string]any) {
		for i, tc := range cases {
			if strings.HasSuffix(t.Name(), "/postgres") && !tc.postgres {
				continue
			}
			t.Run(tc.name, func(t *testing.T) {
				// Mostly waiting: on Postgres for the killed process's
				// jobs to be rescued and its leadership to expire.
				t.Parallel()
				cfg := config(t)
				cfg["cancel_escalation_delay"] = "500ms"
				s := newStack(t, cfg)
				id := int64(9700 + i)
				r := harness.Run{Repo: "acme/killed", ID: id, HeadSHA: sha(int(id)), Path: ".github/workflows/changes.yml",
					PullRequests: []int{int(id)}, Installation: installation}
				s.gh.Publish(r, badWorkflow, nil)
				s.gh.Fake.AddRun(fakegithub.Run{Repo: r.Repo, ID: r.ID, Path: r.Path, HeadSHA: r.HeadSHA, PullRequests: r.PullRequests,
					Status: "in_progress", IgnoreCancel: true})
				path := "/repos/" + r.Repo + tc.path
				if strings.Contains(path, "%d") {
					path = fmt.Sprintf(path, id)
				}
				killed := make(chan struct{})
				s.gh.Fake.AddFault(fakegithub.Fault{Method: "POST", Path: path, Times: 1, After: func(*http.Request) {
					s.srv.Kill()
					close(killed)
				}})
				body, _ := harness.WorkflowRunRequested(r)
				if code := s.send("workflow_run", fmt.Sprintf("killed-%d", id), body); code != 202 {
					t.Fatalf("workflow_run: %d", code)
				}
				select {
				case <-killed:
				case <-time.After(30 * time.Second):
					t.Fatalf("POST %s never came", path)
				}
				if tc.readFails {
					s.gh.Fake.AddFault(fakegithub.Fault{Method: "GET", Path: fmt.Sprintf("/repos/%s/actions/runs/%d", r.Repo, id), Times: 1, Status: 500})
				}
				s.start()
				s.processed(fmt.Sprintf("killed-%d", id))
				if !harness.WaitFor(20*time.Second, func() bool { return s.calls("POST", forceCancelPath(r.Repo, id)) >= 1 }) {
					t.Errorf("run %d kept going: no force-cancel", id)
				}
				time.Sleep(time.Second) // a second cancel or force-cancel would come now
				sideEffects(t, s, r, 1, 1, 1, 1)
				if run, _ := s.gh.Fake.Run(r.Repo, id); run.Status != "completed" {
					t.Errorf("run %d: status %q, want completed", id, run.Status)
				}
			})
		}
	})
}
