package test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // to read what the server stored

	"github.com/runpolicy/runpolicy/test/harness"
)

// Proof 6: 1,000 hostile requests through the live server, while GitHub's
// good deliveries keep coming: wrong signatures, declared and streamed
// bodies over the 25 MB limit, slow-loris bodies and headers, deeply
// nested JSON, malformed headers, and signed deliveries whose workflow
// files (served by the fake GitHub) are YAML bombs, 50 MB, or deeper than
// any workflow. The server keeps acknowledging every good delivery
// quickly, its memory stays bounded, and nothing it refused is stored;
// the runs it could not judge are denied and cancelled.
func TestHostileInput(t *testing.T) {
	// The server runs as the README says to deploy it: with a soft memory
	// limit (GOMEMLIMIT) under the container's. HOSTILE_GOMEMLIMIT=off
	// measures it without one.
	limit := cmp.Or(os.Getenv("HOSTILE_GOMEMLIMIT"), "400MiB")
	s := newStackWith(t, map[string]any{"on_error": "cancel", "log_level": "info"}, func(s *stack) {
		if limit != "off" {
			s.env = []string{"GOMEMLIMIT=" + limit}
		}
	})
	addr := strings.TrimPrefix(s.srv.URL, "http://")
	ctx := context.Background()

	// Runs whose workflow files are hostile; GitHub signs their deliveries.
	bomb := aliasBombWorkflow()
	huge := bytes.Repeat([]byte("# padding of a 50 MB workflow file\n"), 50<<20/35)
	deep := []byte("on: push\njobs:\n  j:\n    runs-on: x\n    strategy:\n      matrix:\n        v: " +
		strings.Repeat("[", 50_000) + strings.Repeat("]", 50_000) + "\n    steps:\n      - run: echo\n")
	wide := bytes.Repeat([]byte("[a, "), 1<<20) // 4 MB of flow structure
	type hostileRun struct {
		id   string
		body []byte
		repo string
		run  int64
	}
	var hostileRuns []hostileRun
	for i, hostile := range []struct {
		content []byte
		runs    int
	}{{bomb, 60}, {huge, 20}, {deep, 60}, {wide, 60}} {
		content := hostile.content
		for j := range hostile.runs {
			n := 10000 + i*100 + j
			r := harness.Run{Repo: fmt.Sprintf("acme/hostile-%d", i), ID: int64(n), HeadSHA: sha(n),
				Path: ".github/workflows/x.yml", PullRequests: []int{j + 1}, Installation: installation}
			s.gh.Publish(r, content, nil)
			body, err := harness.WorkflowRunRequested(r)
			if err != nil {
				t.Fatal(err)
			}
			hostileRuns = append(hostileRuns, hostileRun{fmt.Sprintf("hostile-run-%d", n), body, r.Repo, r.ID})
		}
	}
	// A good run, delivered again and again under new ids: judged once.
	good := harness.Run{Repo: "acme/good", ID: 1, HeadSHA: sha(1), Path: ".github/workflows/ci.yml", Installation: installation}
	s.gh.Publish(good, goodWorkflow, goodWorkflow)
	goodBody, err := harness.WorkflowRunRequested(good)
	if err != nil {
		t.Fatal(err)
	}
	normal := goodBody // a real delivery's size, for the forgeries

	// The good deliveries: one every 20ms until the attack is over.
	stop := make(chan struct{})
	var goodIDs []string
	var goodAcks []time.Duration
	goodDone := make(chan struct{})
	go func() {
		defer close(goodDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			id := fmt.Sprintf("good-%d", i)
			t0 := time.Now()
			code, err := s.gh.Send(ctx, s.srv.URL, harness.Delivery{Event: "workflow_run", ID: id, Body: goodBody})
			if err != nil || code != http.StatusAccepted {
				t.Errorf("good delivery %s: %d, %v", id, code, err)
				continue
			}
			goodIDs = append(goodIDs, id)
			goodAcks = append(goodAcks, time.Since(t0))
		}
	}()

	// The attack: 1,000 requests, 16 at a time (the slow ones all at once).
	type attack struct {
		kind string
		id   string
		want int // expected status; 0: none awaited (the client gives up)
		do   func() (int, error)
	}
	var attacks []attack
	add := func(kind string, n, want int, do func(id string) (int, error)) {
		for i := range n {
			id := fmt.Sprintf("%s-%d", kind, i)
			attacks = append(attacks, attack{kind, id, want, func() (int, error) { return do(id) }})
		}
	}
	// The server may refuse these by closing the connection while the
	// client still writes: a reset counts as refused.
	mayCut := map[string]bool{"declared-oversize": true, "streamed-oversize": true, "huge-header": true}
	signed := func(id, event string, body []byte, header http.Header) (int, error) {
		return s.gh.SendWith(ctx, s.srv.URL, harness.Delivery{Event: event, ID: id, Body: body}, header)
	}
	sig := func(body []byte) http.Header {
		return http.Header{"X-Hub-Signature-256": {signWith(s.gh.Secret, body)}}
	}
	forgeries := []http.Header{
		{},
		{"X-Hub-Signature": {"sha1=0123456789abcdef0123456789abcdef01234567"}},
		{"X-Hub-Signature-256": {"sha256=" + strings.Repeat("g", 64)}},
		{"X-Hub-Signature-256": {"sha256=" + strings.Repeat("0", 63)}},
		{"X-Hub-Signature-256": {signWith("guessed-secret", normal)}},
		{"X-Hub-Signature-256": {strings.ToUpper(signWith(s.gh.Secret, []byte("another body")))}},
	}
	add("forged", 300, http.StatusUnauthorized, func(id string) (int, error) {
		var n int
		fmt.Sscanf(id, "forged-%d", &n)
		return signed(id, "workflow_run", normal, forgeries[n%len(forgeries)])
	})
	add("declared-oversize", 40, http.StatusRequestEntityTooLarge, func(id string) (int, error) {
		return rawRequest(addr, "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: workflow_run\r\n"+
			"X-GitHub-Delivery: "+id+"\r\nX-Hub-Signature-256: sha256="+strings.Repeat("ab", 32)+"\r\nContent-Length: 30000000\r\n\r\n",
			bytes.Repeat([]byte("{"), 64<<10), 0)
	})
	add("streamed-oversize", 12, http.StatusRequestEntityTooLarge, func(id string) (int, error) {
		// No Content-Length: the server learns the size by reading.
		body := io.LimitReader(zeros{}, 26<<20)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.srv.URL+"/webhook", body)
		if err != nil {
			return 0, err
		}
		req.Header.Set("X-GitHub-Event", "workflow_run")
		req.Header.Set("X-GitHub-Delivery", id)
		req.Header.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("cd", 32))
		resp, err := harness.Client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	})
	add("deep-json-signed", 80, http.StatusBadRequest, func(id string) (int, error) {
		body := []byte(`{"action":"requested","workflow_run":` + strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000) + `}`)
		return signed(id, "workflow_run", body, sig(body))
	})
	add("deep-json-forged", 40, http.StatusUnauthorized, func(id string) (int, error) {
		body := []byte(strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000))
		return signed(id, "workflow_run", body, sig([]byte("x")))
	})
	add("not-json-signed", 30, http.StatusBadRequest, func(id string) (int, error) {
		body := []byte("\x00\x01binary garbage, not JSON")
		return signed(id, "workflow_run", body, sig(body))
	})
	add("bad-delivery-id", 30, http.StatusBadRequest, func(id string) (int, error) {
		return signed("../../etc/passwd;"+strings.Repeat("x", 200), "workflow_run", normal, sig(normal))
	})
	add("form-without-payload", 20, http.StatusBadRequest, func(id string) (int, error) {
		body := []byte("payloadx=1&other=2")
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.srv.URL+"/webhook", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-GitHub-Event", "workflow_run")
		req.Header.Set("X-GitHub-Delivery", id)
		req.Header.Set("X-Hub-Signature-256", signWith(s.gh.Secret, body))
		resp, err := harness.Client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	})
	add("huge-header", 20, http.StatusRequestHeaderFieldsTooLarge, func(id string) (int, error) {
		return rawRequest(addr, "POST /webhook HTTP/1.1\r\nHost: x\r\nX-Filler: "+strings.Repeat("a", 2<<20)+"\r\nContent-Length: 2\r\n\r\n", []byte("{}"), 0)
	})
	add("wrong-method", 20, http.StatusMethodNotAllowed, func(id string) (int, error) {
		return rawRequest(addr, "PUT /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n", []byte("{}"), 0)
	})
	add("slow-body", 100, 0, func(id string) (int, error) {
		// Declares 10 KB, sends a byte every 200ms for 3s, gives up.
		return rawRequest(addr, "POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: workflow_run\r\nX-GitHub-Delivery: "+id+
			"\r\nX-Hub-Signature-256: "+signWith(s.gh.Secret, normal)+"\r\nContent-Length: 10000\r\n\r\n", bytes.Repeat([]byte("{"), 15), 200*time.Millisecond)
	})
	add("slow-headers", 20, 0, func(id string) (int, error) {
		return rawRequest(addr, "", []byte("POST /webhook HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaa"), 200*time.Millisecond)
	})
	for i, hr := range hostileRuns {
		attacks = append(attacks, attack{"hostile-workflow", hr.id, http.StatusAccepted, func() (int, error) {
			return signed(hostileRuns[i].id, "workflow_run", hostileRuns[i].body, sig(hostileRuns[i].body))
		}})
	}
	add("ignored-event-signed", 88, http.StatusAccepted, func(id string) (int, error) {
		body := []byte(`{"action":"opened","issue":{"number":1}}`)
		return signed(id, "issues", body, sig(body))
	})
	if len(attacks) != 1000 {
		t.Fatalf("%d hostile requests, want 1,000", len(attacks))
	}

	time.Sleep(300 * time.Millisecond) // some good deliveries before the attack
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	var mu sync.Mutex
	got := map[string]map[int]int{} // kind → status → count
	for _, a := range attacks {
		slow := strings.HasPrefix(a.kind, "slow-")
		if !slow {
			sem <- struct{}{}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !slow {
				defer func() { <-sem }()
			}
			code, err := a.do()
			if a.want != 0 && (err != nil || code != a.want) && !(mayCut[a.kind] && err != nil) {
				t.Errorf("%s %s: status %d, %v; want %d", a.kind, a.id, code, err, a.want)
			}
			mu.Lock()
			if got[a.kind] == nil {
				got[a.kind] = map[int]int{}
			}
			got[a.kind][code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	attackTook := time.Since(start)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	<-goodDone
	t.Logf("1,000 hostile requests in %s; answers by kind: %v", attackTook.Round(time.Millisecond), got)

	p50, p99, worst := percentile(goodAcks, .5), percentile(goodAcks, .99), percentile(goodAcks, 1)
	t.Logf("%d good deliveries during the attack, all acknowledged: p50 %s, p99 %s, max %s",
		len(goodAcks), p50.Round(time.Microsecond), p99.Round(time.Microsecond), worst.Round(time.Microsecond))
	// The target is a p99 under 50ms; a loaded 2-core CI machine running
	// the attack itself gets a generous bound.
	if p99 > 500*time.Millisecond {
		t.Errorf("good deliveries' p99 ack %s during the attack, want under 500ms (target 50ms)", p99)
	}
	if len(goodAcks) < 50 {
		t.Errorf("only %d good deliveries went through during the attack", len(goodAcks))
	}

	// Every run with a hostile workflow ends in a cancel, judged once.
	for _, hr := range hostileRuns {
		s.processed(hr.id)
	}
	for _, id := range goodIDs {
		s.processed(id)
	}
	hwm, rss := memoryOf(t, s.srv.PID())
	t.Logf("server memory (GOMEMLIMIT %s): VmHWM %d MB (peak resident), VmRSS %d MB now", limit, hwm>>20, rss>>20)
	if hwm > 500<<20 {
		t.Errorf("server peak memory %d MB, want under 500 MB", hwm>>20)
	}

	db := openStore(t, filepath.Join(s.dir, "runpolicy.db"))
	stored := map[string]bool{}
	rows, err := db.Query("SELECT id FROM runpolicy_delivery")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		stored[id] = true
	}
	rows.Close()
	allowed := map[string]bool{}
	for _, id := range goodIDs {
		allowed[id] = true
	}
	for _, hr := range hostileRuns {
		allowed[hr.id] = true
	}
	for id := range stored {
		if !allowed[id] {
			t.Errorf("stored a delivery the server should have refused: %q", id)
		}
	}
	if len(stored) != len(allowed) {
		t.Errorf("%d deliveries stored, want %d (the good ones and the signed hostile-workflow ones)", len(stored), len(allowed))
	}
	outcomes := map[string]int{}
	rows, err = db.Query("SELECT outcome, cancel, CAST(log AS TEXT) FROM runpolicy_decision WHERE repository LIKE 'acme/hostile-%'")
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int{}
	for rows.Next() {
		var outcome, log string
		var cancel int
		_ = rows.Scan(&outcome, &cancel, &log)
		outcomes[fmt.Sprintf("%s/cancel=%d", outcome, cancel)]++
		if i := strings.Index(log, `"code":"`); i >= 0 {
			code := log[i+8:]
			codes[code[:strings.IndexByte(code, '"')]]++
		}
	}
	rows.Close()
	t.Logf("hostile-workflow decisions: %v, error codes %v", outcomes, codes)
	// Their authors made them unreadable: denied whatever on_error says.
	if outcomes["deny/cancel=1"] != len(hostileRuns) {
		t.Errorf("hostile-workflow decisions %v, want all %d deny/cancel=1", outcomes, len(hostileRuns))
	}
	for _, hr := range hostileRuns {
		if n := s.calls("POST", cancelPath(hr.repo, hr.run)); n != 1 {
			t.Errorf("run %d with a hostile workflow cancelled %d times, want 1", hr.run, n)
		}
	}
	var goodDecisions int
	if err := db.QueryRow("SELECT count(*) FROM runpolicy_decision WHERE repository = 'acme/good' AND outcome = 'allow'").Scan(&goodDecisions); err != nil || goodDecisions != 1 {
		t.Errorf("the good run has %d allow decisions (%v), want 1", goodDecisions, err)
	}
	if s.srv.Exited() {
		t.Fatal("the server died")
	}
}

// rawRequest writes head and body on a fresh connection, a byte every
// pace when pace is set (then it gives up after 3s, awaiting no answer),
// and returns the status of the answer.
func rawRequest(addr, head string, body []byte, pace time.Duration) (int, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if pace > 0 {
		if _, err := io.WriteString(conn, head); err != nil {
			return 0, err
		}
		deadline := time.Now().Add(3 * time.Second)
		for _, b := range body {
			if time.Now().After(deadline) {
				break
			}
			if _, err := conn.Write([]byte{b}); err != nil {
				return 0, nil // the server hung up: fine
			}
			time.Sleep(pace)
		}
		return 0, nil
	}
	// The server may answer (and close) before all is written.
	go func() {
		if _, err := io.WriteString(conn, head); err == nil {
			_, _ = conn.Write(body)
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	audit.Record("raw response "+strconv.Itoa(resp.StatusCode), string(text))
	return resp.StatusCode, nil
}

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// memoryOf reads a process's peak and current resident memory in bytes.
func memoryOf(t *testing.T, pid int) (hwm, rss int64) {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Errorf("server memory: %v", err)
		return 0, 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "VmHWM:":
				hwm = n << 10
			case "VmRSS:":
				rss = n << 10
			}
		}
	}
	return hwm, rss
}

// openStore opens the server's SQLite database beside it, for reading.
func openStore(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// aliasBombWorkflow is a "billion laughs" workflow: nine levels of nine
// aliases, 387 million nodes once expanded, a few hundred bytes.
func aliasBombWorkflow() []byte {
	var b strings.Builder
	b.WriteString("on: push\nx0: &a0 [lol]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [", i, i)
		for j := range 9 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("jobs:\n  j:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        v: *a9\n    steps:\n      - run: echo\n")
	return []byte(b.String())
}
