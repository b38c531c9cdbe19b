package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/test/fakegithub"
	"github.com/runpolicy/runpolicy/test/harness"
)

// exfiltrating would be denied if runpolicy could read it: a compromised
// action and every secret in one string.
const exfiltrating = `name: changes
on: pull_request_target
jobs:
  changes:
    runs-on: ubuntu-latest
    steps:
      - uses: tj-actions/changed-files@v44
      - run: echo '${{ toJSON(secrets) }}'
`

// slowPolicy is a custom policy whose comprehension never ends on a
// workflow named slow.yml: billions of iterations, no memory.
const slowPolicy = `package runpolicy.policies.slow

deny contains {"message": "slow"} if {
	endswith(input.workflow.path, "slow.yml")
	r := numbers.range(1, 2000)
	count([1 | some a in r; some b in r; some c in r; a + b + c < 0]) >= 0
}
`

// TestFailClosed: a workflow runpolicy cannot read or cannot evaluate in
// time is denied, cancelled and reported, although on_error is allow;
// on_error keeps deciding only failures outside the author's control.
func TestFailClosed(t *testing.T) {
	policyDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(policyDir, "slow.rego"), []byte(slowPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, map[string]any{"eval_timeout": "1s",
		"bundles": []map[string]any{{"name": "org", "type": "dir", "url": policyDir}}})

	denied := func(t *testing.T, r harness.Run, id, code string) {
		t.Helper()
		if d := s.processed(id); d.State != "processed" {
			t.Fatalf("delivery = %+v", d)
		}
		d := s.only(id)
		if d.Outcome != "deny" || !d.Cancel || d.Error != nil || d.Result == nil || len(d.Result.Violations) != 1 ||
			d.Result.Violations[0].Policy != "runpolicy" || d.Result.Violations[0].Mode != "enforce" {
			t.Errorf("decision = %s; want a deny by the runpolicy finding", jsonOf(d))
		}
		if n := s.calls("POST", cancelPath(r.Repo, r.ID)); n != 1 {
			t.Errorf("cancel calls = %d, want 1", n)
		}
		var cr *fakegithub.CheckRun
		for _, c := range s.gh.Fake.CheckRuns() {
			if c.Repo == r.Repo && c.HeadSHA == r.HeadSHA {
				cr = &c
			}
		}
		if cr == nil || cr.Conclusion != "failure" || !strings.Contains(cr.Summary, "("+code+")") || !strings.Contains(cr.Summary, "`runpolicy`") {
			t.Errorf("check run = %s; want a failure naming %s", jsonOf(cr), code)
		}
		for _, pr := range r.PullRequests {
			if n := commentsOf(s, r.Repo, pr); n != 1 {
				t.Errorf("comments on #%d = %d, want 1", pr, n)
			}
		}
	}

	for i, tc := range []struct {
		name   string
		poison string
		code   string
	}{
		{"over the structural size limit", "#" + strings.Repeat("-", 200_001) + "\n", "bad_workflow"},
		{"invalid UTF-8", "# caf\xe9 \xff\xfe\n", "bad_workflow"},
		{"a NUL byte in a comment", "# a\x00b\n", "bad_workflow"},
		{"more bytes than runpolicy fetches", strings.Repeat("# padding\n", 11<<20/10), "too_large"},
	} {
		t.Run("a workflow with "+tc.name+" is denied", func(t *testing.T) {
			s.t = t
			n := 7100 + i
			r := harness.Run{Repo: fmt.Sprintf("acme/unreadable-%d", i), ID: int64(n), HeadSHA: sha(n),
				Path: ".github/workflows/changes.yml", PullRequests: []int{n}, Installation: installation}
			id := fmt.Sprintf("unreadable-%d", i)
			s.requested(r, []byte(exfiltrating+tc.poison), nil, id)
			denied(t, r, id, tc.code)
		})
	}

	t.Run("a workflow file missing at the head commit is denied", func(t *testing.T) {
		s.t = t
		r := harness.Run{Repo: "acme/gone", ID: 7200, HeadSHA: sha(7200), Path: ".github/workflows/gone.yml",
			PullRequests: []int{2}, Installation: installation}
		s.gh.Fake.AddRun(fakegithub.Run{Repo: r.Repo, ID: r.ID, Path: r.Path, HeadSHA: r.HeadSHA})
		body, _ := harness.WorkflowRunRequested(r)
		s.send("workflow_run", "gone-1", body)
		denied(t, r, "gone-1", "workflow_not_found")
	})

	t.Run("a workflow that makes evaluation slow is denied, and the others are judged", func(t *testing.T) {
		s.t = t
		slow := harness.Run{Repo: "acme/slow", ID: 7300, HeadSHA: sha(7300), Path: ".github/workflows/slow.yml",
			PullRequests: []int{3}, Installation: installation}
		good := harness.Run{Repo: "acme/fast", ID: 7301, HeadSHA: sha(7301), Path: ".github/workflows/ci.yml",
			Installation: installation}
		s.requested(slow, goodWorkflow, goodWorkflow, "slow-1")
		s.requested(good, goodWorkflow, goodWorkflow, "fast-1")
		denied(t, slow, "slow-1", "eval_timeout")
		if s.srv.Logs.Find("evaluation ran out of eval_timeout; trying once more before denying") == nil {
			t.Error("denied at the first timeout; want one more try (a starved machine is no slow workflow)")
		}
		s.processed("fast-1")
		if d := s.only("fast-1"); d.Outcome != "allow" {
			t.Errorf("the run after the slow one: %s", jsonOf(d))
		}
	})

	t.Run("GitHub unreachable is still on_error's: allowed, but reported", func(t *testing.T) {
		s.t = t
		r := harness.Run{Repo: "acme/down", ID: 7400, HeadSHA: sha(7400), Path: ".github/workflows/ci.yml", Installation: installation}
		s.gh.Publish(r, []byte(exfiltrating), nil)
		s.gh.Fake.AddFault(fakegithub.Fault{Method: "GET", Path: "/repos/acme/down/contents/*", Status: 502})
		body, _ := harness.WorkflowRunRequested(r)
		s.send("workflow_run", "down-1", body)
		s.processed("down-1")
		d := s.only("down-1")
		if d.Outcome != "error" || d.Cancel || d.Error == nil || d.Error.Code != "github_unavailable" || d.Error.OnError != "allow" {
			t.Errorf("decision = %s", jsonOf(d))
		}
		if n := s.calls("POST", cancelPath(r.Repo, r.ID)); n != 0 {
			t.Errorf("cancel calls = %d, want 0 (on_error allow)", n)
		}
		var reported bool
		for _, c := range s.gh.Fake.CheckRuns() {
			reported = reported || (c.Repo == r.Repo && c.Conclusion == "neutral" && strings.Contains(c.Summary, "github_unavailable"))
		}
		if !reported {
			t.Errorf("no neutral check run says why the run was not judged: %s", jsonOf(s.gh.Fake.CheckRuns()))
		}
	})
}

// TestGiveUp: a delivery whose every try runs out of time is not dropped:
// once judge_attempts tries failed it gets on_error's decision, a cancel
// and a check run saying why.
func TestGiveUp(t *testing.T) {
	s := newStack(t, map[string]any{"on_error": "cancel", "job_timeout": "600ms", "eval_timeout": "100ms"})
	r := harness.Run{Repo: "acme/slowgh", ID: 7500, HeadSHA: sha(7500), Path: ".github/workflows/ci.yml",
		PullRequests: []int{5}, Installation: installation}
	// Answered within github_timeout (1s), after the job's time is up.
	s.gh.Fake.AddFault(fakegithub.Fault{Method: "GET", Path: "/repos/acme/slowgh/contents/*", Delay: 900 * time.Millisecond})
	s.requested(r, goodWorkflow, nil, "slowgh-1")
	if d := s.processed("slowgh-1"); d.State != "processed" {
		t.Fatalf("delivery = %+v; want processed, with a decision", d)
	}
	d := s.only("slowgh-1")
	if d.Outcome != "error" || !d.Cancel || d.Error == nil || d.Error.Code != "timeout" || d.Error.OnError != "cancel" {
		t.Errorf("decision = %s", jsonOf(d))
	}
	if n := s.calls("POST", cancelPath(r.Repo, r.ID)); n != 1 {
		t.Errorf("cancel calls = %d, want 1", n)
	}
	runs := s.gh.Fake.CheckRuns()
	if len(runs) != 1 || runs[0].Conclusion != "failure" || !strings.Contains(runs[0].Summary, "could not be judged (timeout)") {
		t.Errorf("check runs = %s", jsonOf(runs))
	}
	if n := commentsOf(s, r.Repo, 5); n != 1 {
		t.Errorf("comments = %d, want 1", n)
	}
	if n := s.gh.Fake.CountAll("GET", "/repos/acme/slowgh/contents/.github/workflows/ci.yml"); n < 3 {
		t.Errorf("file fetched %d times; want judge_attempts (3) tries before giving up", n)
	}
}

// TestJobReplay: a workflow_job body replayed under new delivery ids, each
// validly signed, is judged once per run attempt and job.
func TestJobReplay(t *testing.T) {
	s := newStack(t, nil)
	r := harness.Run{Repo: "acme/replayed", ID: 7600, HeadSHA: sha(7600), Path: ".github/workflows/ci.yml", Installation: installation}
	s.gh.Publish(r, goodWorkflow, goodWorkflow)
	job, err := harness.WorkflowJob(r, "queued", 76001, "build", []string{"ubuntu-latest"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if code := s.send("workflow_job", fmt.Sprintf("replay-%d", i), job); code != 202 {
			t.Fatalf("replay %d: status %d", i, code)
		}
	}
	for i := range 20 {
		s.processed(fmt.Sprintf("replay-%d", i))
	}
	if list := s.decisions(url.Values{"repository": {r.Repo}}); len(list) != 1 {
		t.Errorf("%d decisions on 20 replays of one job, want 1", len(list))
	}
	var calls int
	for _, c := range s.gh.Fake.Calls() {
		if strings.HasPrefix(c.Path, "/repos/"+r.Repo+"/") {
			calls++
		}
	}
	// The run, its workflow at the head and on the default branch, and the
	// check run with its warnings (references the fake does not serve).
	if calls > 4 {
		t.Errorf("%d GitHub calls for 20 replays of one job, want at most 4", calls)
	}
	// Another job of the same run attempt is judged on its own.
	other, _ := harness.WorkflowJob(r, "queued", 76002, "test", []string{"ubuntu-latest"})
	s.send("workflow_job", "other-job-1", other)
	s.processed("other-job-1")
	s.only("other-job-1")
}

// TestStalledBodies: unauthenticated senders that stall after sending more
// than 256 KB hold what they sent of the large-body budget and their own
// address's turns, not the budget, and only until the body's deadline: a
// genuine large delivery from another address arriving meanwhile is
// accepted at once.
func TestStalledBodies(t *testing.T) {
	s := newStack(t, nil)
	addr := strings.TrimPrefix(s.srv.URL, "http://")
	const stalled, turns = 4, 2 // large_bodies: 2 per address
	// The senders come from 127.0.0.2, GitHub (the harness) from 127.0.0.1.
	dialer := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	var conns []net.Conn
	for i := range stalled {
		conn, err := dialer.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // the test stops by itself
		head := fmt.Sprintf("POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: workflow_run\r\n"+
			"X-GitHub-Delivery: stalled-%d\r\nX-Hub-Signature-256: sha256=%s\r\nContent-Length: 400000\r\n\r\n", i, strings.Repeat("ab", 32))
		if _, err := io.WriteString(conn, head); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(bytes.Repeat([]byte("{"), 300<<10)); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn) // and nothing more: it stalls
	}
	// The server reads two past 256 KB, each taking a chunk of the budget;
	// the others wait for their address's turn.
	held := func() int {
		n, _ := strconv.ParseFloat(s.metric("runpolicy_webhook_large_body_bytes", ""), 64)
		return int(n)
	}
	if !harness.WaitFor(5*time.Second, func() bool { return held() >= turns*256<<10 }) {
		t.Logf("large-body bytes held: %d, want the stalled bodies' %d", held(), turns*256<<10)
	}

	r := harness.Run{Repo: "acme/big", ID: 7700, HeadSHA: sha(7700), Path: ".github/workflows/ci.yml", Installation: installation}
	s.gh.Publish(r, goodWorkflow, goodWorkflow)
	body, err := harness.WorkflowRunRequested(r)
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(body, &payload); err != nil {
		t.Fatal(err)
	}
	payload["padding"] = strings.Repeat("x", 600<<10) // a genuine delivery over 256 KB
	if body, err = json.Marshal(payload); err != nil {
		t.Fatal(err)
	}
	if code := s.send("workflow_run", "big-1", body); code != 202 {
		t.Fatalf("a genuine %d KB delivery beside %d stalled bodies: status %d, want 202", len(body)>>10, stalled, code)
	}
	s.processed("big-1")
	if d := s.only("big-1"); d.Outcome != "allow" {
		t.Errorf("decision = %s", jsonOf(d))
	}

	// The stalled senders are let go: 503 for those that waited for a turn
	// in vain, 408 once the body's deadline passes for those that had one,
	// well before the server's 2-minute read timeout.
	got := map[int]int{}
	for i, conn := range conns {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Errorf("stalled sender %d: %v, want a 408 or 503", i, err)
			continue
		}
		resp.Body.Close()
		got[resp.StatusCode]++
	}
	if got[http.StatusRequestTimeout] != turns || got[http.StatusServiceUnavailable] != stalled-turns {
		t.Errorf("stalled senders answered %v, want %d × 408 and %d × 503", got, turns, stalled-turns)
	}
	if !harness.WaitFor(5*time.Second, func() bool { return held() == 0 }) {
		t.Errorf("large-body bytes still held after the stalled senders were let go: %d", held())
	}
	if n := s.decisions(url.Values{"delivery_id": {"stalled-0"}}); len(n) != 0 {
		t.Errorf("a stalled, unauthenticated body was judged")
	}
}
