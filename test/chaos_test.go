package test

import (
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/test/fakegithub"
)

// Proof 4: GitHub fails 30% of the calls two replicas make (500, 502, a
// 403 primary rate limit, a 429 with Retry-After) and times out on 5%
// more (half of them done with the answer lost): every run is still
// judged on its workflow, not by on_error; no call is retried before the
// time GitHub asked for; and nothing is done twice: one accepted cancel,
// one check run, one comment per run.
func TestGitHubChaos(t *testing.T) {
	c := newCluster(t, clusterOptions{replicas: 2, config: map[string]any{
		// Enough tries that 25% of calls failing (the rate limits only
		// postpone) never exhausts them: every run is judged.
		"judge_attempts": 15,
		"max_attempts":   40,
		"retry_base":     "20ms",
		"retry_max":      "300ms",
		"github_timeout": "1s",
		"job_timeout":    "15s",
		"rescue_after":   "20s",
	}})
	// Rate limits count per installation: spread the runs over 40.
	runs := makeRunsIn(c.gh, "chaos", 400000, 240, 40)
	ds := deliveriesFor(t, runs, "chaos", 480, 4)
	c.gh.Fake.SetChaos(&fakegithub.Chaos{Seed: 4, Fail: 0.30, Timeout: 0.05, Hold: 1500 * time.Millisecond, Wait: time.Second})
	results, _ := c.blast(ds, 16, 0, nil)
	acked, failed := c.outcomes(ds, results)
	if len(failed) > 0 {
		t.Fatalf("%d deliveries failed; GitHub's faults must not reach /webhook", len(failed))
	}
	c.settle(acked, len(runs), 150*time.Second)
	c.checkExactlyOnce(runs, acked, false)
	c.gh.Fake.SetChaos(nil)

	calls := c.gh.Fake.Calls()
	injected := map[string]int{}
	for _, call := range calls {
		if call.Injected != "" {
			injected[call.Injected]++
		}
	}
	t.Logf("%d calls to GitHub, injected failures: %v", len(calls), injected)
	for _, kind := range []string{fakegithub.Injected500, fakegithub.Injected502, fakegithub.InjectedRateLimit,
		fakegithub.InjectedRetryAfter, fakegithub.InjectedLostAnswer, fakegithub.InjectedDropped} {
		if injected[kind] == 0 {
			t.Errorf("no %s failure injected: the test did not exercise it", kind)
		}
	}
	checkRetryHeaders(t, calls)
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
