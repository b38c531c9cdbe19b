package test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/runpolicy/runpolicy/test/fakegithub"
	"github.com/runpolicy/runpolicy/test/harness"
	"github.com/runpolicy/runpolicy/test/pgtest"
)

// A cluster is several runpolicy replicas sharing one Postgres database of
// the test's own, behind a load balancer the test plays, with a fake
// GitHub that records failed deliveries and redelivers them through the
// balancer when the replicas ask.

type cluster struct {
	t  *testing.T
	gh *harness.GitHub
	// db is the test's own connection to the database, for checks.
	db     *pgxpool.Pool
	dbName string
	cfg    map[string]any
	reps   []*replica
	next   atomic.Uint64
}

// replica is one `runpolicy serve`; up is what the balancer's health
// check knows of it.
type replica struct {
	name string
	dir  string
	// api is the GitHub API URL it uses, "" for the fake's own.
	api string
	mu  sync.Mutex
	srv *harness.Server
	up  atomic.Bool
}

func (r *replica) server() *harness.Server {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.srv
}

type clusterOptions struct {
	replicas int
	// dsn turns the database's DSN into the one the replicas use (a proxy).
	dsn    func(direct string) string
	config map[string]any
	// tagCalls sends each replica's GitHub calls through a proxy that
	// names it in ReplicaHeader, so that a fault can tell who called.
	tagCalls bool
}

// ReplicaHeader names the replica that made a GitHub call (tagCalls).
const ReplicaHeader = "X-Test-Replica"

func newCluster(t *testing.T, o clusterOptions) *cluster {
	t.Helper()
	gh := newGitHub(t, "acme")
	name, dsn := pgtest.Database(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	c := &cluster{t: t, gh: gh, db: pool, dbName: name}
	dir := t.TempDir()
	cfg, err := gh.Config(dir)
	if err != nil {
		t.Fatal(err)
	}
	replicaDSN := dsn
	if o.dsn != nil {
		replicaDSN = o.dsn(dsn)
	}
	for k, v := range map[string]any{
		"database":                replicaDSN,
		"admin_token":             adminToken,
		"workers":                 10,
		"retry_base":              "40ms",
		"retry_max":               "400ms",
		"github_timeout":          "1s",
		"poll_interval":           "20ms",
		"judge_attempts":          5,
		"max_attempts":            20,
		"job_timeout":             "2s",
		"rescue_after":            "3s",
		"cancel_escalation_delay": "0s",
		"redeliver_interval":      "1s",
		"log_level":               "info",
		"shutdown_timeout":        "10s",
		"resolve":                 false,
	} {
		cfg[k] = v
	}
	for k, v := range o.config {
		cfg[k] = v
	}
	c.cfg = cfg
	// GitHub sends a redelivery through the balancer; it records the
	// attempt's status itself.
	gh.Fake.OnRedeliver(func(d fakegithub.HookDelivery) int {
		return c.send(harness.Delivery{Event: d.Event, ID: d.GUID, Body: d.Payload})
	})
	for i := range o.replicas {
		r := &replica{name: fmt.Sprintf("r%d", i), dir: t.TempDir()}
		if o.tagCalls {
			r.api = tagProxy(t, gh.Fake.URL(), r.name)
		}
		c.reps = append(c.reps, r)
	}
	// Start them at once, as a deploy does: migrations must not collide.
	var wg sync.WaitGroup
	for _, r := range c.reps {
		wg.Add(1)
		go func() { defer wg.Done(); c.start(r) }()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Cleanup(func() {
		for _, r := range c.reps {
			if srv := r.server(); srv != nil && !srv.Exited() {
				srv.Kill()
			}
		}
	})
	return c
}

// start (re)starts a replica and waits until it is ready.
func (c *cluster) start(r *replica) {
	cfg := c.cfg
	if r.api != "" {
		cfg = map[string]any{"github_api_url": r.api}
		for k, v := range c.cfg {
			if k != "github_api_url" {
				cfg[k] = v
			}
		}
	}
	srv, err := harness.Start(harness.Options{Binary: binary, Dir: r.dir, Config: cfg,
		Echo: audit.Writer(c.t.Name() + "/" + r.name)})
	if err != nil {
		c.t.Error(err)
		return
	}
	if err := srv.WaitReady(60 * time.Second); err != nil {
		c.t.Errorf("%s: %v\n%s", r.name, err, srv.Logs)
		return
	}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	r.up.Store(true)
}

// tagProxy forwards to the fake GitHub at target, naming the replica in
// ReplicaHeader, and returns its URL.
func tagProxy(t *testing.T, target, name string) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.Transport = &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}
	direct := p.Director
	p.Director = func(r *http.Request) {
		direct(r)
		r.Header.Set(ReplicaHeader, name)
	}
	// A call its client gave up on ends quietly, as at GitHub.
	p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusBadGateway) }
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

// caller is the replica that made a GitHub call (tagCalls), nil if unknown.
func (c *cluster) caller(r *http.Request) *replica {
	for _, rep := range c.reps {
		if rep.name == r.Header.Get(ReplicaHeader) {
			return rep
		}
	}
	return nil
}

// kill ends a replica with SIGKILL; the balancer stops sending to it.
func (c *cluster) kill(r *replica) time.Time {
	r.up.Store(false)
	at := time.Now()
	r.server().Kill() // SIGKILL, then waits for the exit
	return at
}

// send delivers through the balancer to the next replica up and returns
// the status, 0 when no connection was made.
func (c *cluster) send(d harness.Delivery) int {
	for range 2 * len(c.reps) {
		r := c.reps[c.next.Add(1)%uint64(len(c.reps))]
		if !r.up.Load() {
			continue
		}
		code, err := c.gh.Send(context.Background(), r.server().URL, d)
		if err != nil {
			return 0
		}
		return code
	}
	return 0
}

// deliver sends as GitHub does: a delivery that fails (no connection, a
// 5xx) is recorded in the App's delivery log, where the replicas' sweep
// finds it and asks for it again.
func (c *cluster) deliver(d loadDelivery) int {
	code := c.send(d.Delivery)
	if code == 0 || code >= 500 {
		action := "requested"
		if d.Event == "workflow_job" {
			action = "queued"
		}
		c.gh.Fake.AddHookDelivery(fakegithub.HookDelivery{GUID: d.ID, Event: d.Event, Action: action,
			StatusCode: code, Payload: d.Body})
	}
	return code
}

// ---- the runs and deliveries of a load ----

// Kinds of runs: the workflow decides what the policies say.
const (
	kindDeny = "deny" // compromised_actions (enforce): cancelled, reported
	kindDry  = "dry"  // allowed_actions (dry_run): reported, goes on
	kindGood = "good" // nothing to say
)

type runSpec struct {
	harness.Run
	kind string
	// stuck runs have if: always() jobs: still in progress after their
	// cancel, until a force-cancel ends them.
	stuck bool
}

// makeRuns publishes n runs across 20 repositories of acme, a third of
// each kind, each with one pull request.
func makeRuns(gh *harness.GitHub, prefix string, first, n int) []runSpec {
	return makeRunsIn(gh, prefix, first, n, 0)
}

// makeRunsIn is makeRuns spread over orgs organizations (org0, org1, …),
// each with an installation of its own; 0 puts every run in acme.
func makeRunsIn(gh *harness.GitHub, prefix string, first, n, orgs int) []runSpec {
	workflows := map[string][]byte{kindDeny: badWorkflow, kindDry: dryRunWorkflow, kindGood: goodWorkflow}
	kinds := []string{kindDeny, kindDry, kindGood}
	for o := range orgs {
		gh.Fake.AddInstallation(fmt.Sprintf("org%d", o), int64(50000+o))
	}
	var runs []runSpec
	for i := range n {
		id := first + i
		kind := kinds[i%3]
		owner, inst := "acme", int64(installation)
		if orgs > 0 {
			owner, inst = fmt.Sprintf("org%d", i%orgs), int64(50000+i%orgs)
		}
		r := harness.Run{Repo: fmt.Sprintf("%s/%s-%d", owner, prefix, i%20), ID: int64(id), HeadSHA: sha(id),
			Path: ".github/workflows/" + kind + ".yml", PullRequests: []int{id%100000 + 1}, Installation: inst}
		gh.Publish(r, workflows[kind], workflows[kind])
		runs = append(runs, runSpec{Run: r, kind: kind})
	}
	return runs
}

type loadDelivery struct {
	harness.Delivery
	run int // index in the runs
}

// deliveriesFor builds total deliveries for runs: one original per run,
// then redeliveries of an original (same delivery id) and replays (a new
// delivery id for the same run attempt) in equal parts, each placed at a
// random point after its original.
func deliveriesFor(t *testing.T, runs []runSpec, prefix string, total int, seed uint64) []loadDelivery {
	t.Helper()
	rnd := rand.New(rand.NewPCG(seed, seed+1))
	out := make([]loadDelivery, 0, total)
	bodies := make([][]byte, len(runs))
	for i, r := range runs {
		body, err := harness.WorkflowRunRequested(r.Run)
		if err != nil {
			t.Fatal(err)
		}
		bodies[i] = body
		out = append(out, loadDelivery{harness.Delivery{Event: "workflow_run", ID: fmt.Sprintf("%s-%d", prefix, i), Body: body}, i})
	}
	for k := 0; len(out) < total; k++ {
		i := rnd.IntN(len(runs))
		d := loadDelivery{harness.Delivery{Event: "workflow_run", ID: fmt.Sprintf("%s-%d", prefix, i), Body: bodies[i]}, i}
		if k%2 == 1 {
			d.ID = fmt.Sprintf("%s-%d-replay-%d", prefix, i, k)
		}
		// Insert after its original (at index i) at a random point.
		at := i + 1 + rnd.IntN(len(out)-i)
		out = append(out, loadDelivery{})
		copy(out[at+1:], out[at:])
		out[at] = d
	}
	return out
}

type sendResult struct {
	code int
	took time.Duration
}

// blast sends the deliveries through the balancer with conc in flight,
// each no earlier than its slot at rate per second (0: as fast as they are
// answered), and returns each one's status and time to answer. during is
// called with the index of each delivery before it leaves.
func (c *cluster) blast(ds []loadDelivery, conc int, rate float64, during func(i int)) ([]sendResult, time.Duration) {
	out := make([]sendResult, len(ds))
	var wg sync.WaitGroup
	sem := make(chan struct{}, conc)
	start := time.Now()
	for i, d := range ds {
		if rate > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		}
		if during != nil {
			during(i)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			t0 := time.Now()
			code := c.deliver(d)
			out[i] = sendResult{code, time.Since(t0)}
		}()
	}
	wg.Wait()
	return out, time.Since(start)
}

// ---- checks ----

// settle waits until every delivery in ids is stored and processed and
// every run has its workflow_run decision.
func (c *cluster) settle(ids map[string]bool, runs int, timeout time.Duration) {
	c.t.Helper()
	ctx := context.Background()
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	deadline := time.Now().Add(timeout)
	progress := time.Now()
	var done, judged int
	for {
		err := c.db.QueryRow(ctx, `SELECT count(*) FROM runpolicy_delivery WHERE id = ANY($1) AND state <> 'received'`, list).Scan(&done)
		if err == nil {
			err = c.db.QueryRow(ctx, `SELECT count(DISTINCT (repository, run_id, run_attempt)) FROM runpolicy_decision
				WHERE event = 'workflow_run'`).Scan(&judged)
		}
		if err == nil && done == len(list) && judged >= runs {
			return
		}
		// RUNPOLICY_SETTLE_DEBUG=1 logs where things stand every 5s.
		if os.Getenv("RUNPOLICY_SETTLE_DEBUG") != "" && time.Since(progress) > 5*time.Second {
			progress = time.Now()
			var stored, jobs, leader string
			_ = c.db.QueryRow(ctx, `SELECT string_agg(state || '=' || n, ' ') FROM (SELECT state, count(*) n FROM runpolicy_delivery GROUP BY state) x`).Scan(&stored)
			_ = c.db.QueryRow(ctx, `SELECT string_agg(kind || ':' || state || '=' || n, ' ') FROM (SELECT kind, state, count(*) n FROM river_job GROUP BY kind, state) x`).Scan(&jobs)
			_ = c.db.QueryRow(ctx, `SELECT leader_id || ' until ' || expires_at::text FROM river_leader`).Scan(&leader)
			c.t.Logf("settle: %d/%d processed, %d/%d judged; deliveries %s; jobs %s; leader %s", done, len(list), judged, runs, stored, jobs, leader)
		}
		if time.Now().After(deadline) {
			c.t.Errorf("after %s: %d of %d deliveries processed, %d of %d runs judged (%v)", timeout, done, len(list), judged, runs, err)
			c.explain(list)
			c.t.FailNow()
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// drain waits until the queue has no job left to run but its periodic
// sweep: deliveries waiting on another decision's claim, retries and
// scheduled force-cancels included.
func (c *cluster) drain(timeout time.Duration) {
	c.t.Helper()
	var left int
	var err error
	ok := harness.WaitFor(timeout, func() bool {
		err = c.db.QueryRow(context.Background(), `SELECT count(*) FROM river_job
			WHERE state NOT IN ('completed', 'cancelled', 'discarded') AND kind <> 'runpolicy_redeliver'`).Scan(&left)
		return err == nil && left == 0
	})
	if !ok {
		c.t.Errorf("after %s: %d jobs still to run (%v)", timeout, left, err)
	}
}

// explain logs what became of the deliveries in ids not processed: not
// stored (and what GitHub's log says of them), or stored with their job.
func (c *cluster) explain(ids []string) {
	ctx := context.Background()
	shown := 0
	for _, id := range ids {
		var state string
		err := c.db.QueryRow(ctx, "SELECT state FROM runpolicy_delivery WHERE id = $1", id).Scan(&state)
		if err == nil && state != "received" {
			continue
		}
		if shown++; shown > 10 {
			return
		}
		if err != nil {
			var attempts []string
			for _, d := range c.gh.Fake.HookDeliveries() {
				if d.GUID == id {
					attempts = append(attempts, fmt.Sprintf("%d redelivery=%v at %s", d.StatusCode, d.Redelivery, d.DeliveredAt.Format("15:04:05.000")))
				}
			}
			var claimed string
			_ = c.db.QueryRow(ctx, "SELECT hook_delivery_id::text FROM runpolicy_redelivery WHERE guid = $1", id).Scan(&claimed)
			c.t.Logf("delivery %s: not stored (%v); GitHub's log: %v; redelivery claimed for attempt %q", id, err, attempts, claimed)
			continue
		}
		var jobs []string
		rows, _ := c.db.Query(ctx, "SELECT state::text || ' attempt ' || attempt || ' ' || errors::text FROM river_job WHERE args->>'delivery_id' = $1", id)
		for rows != nil && rows.Next() {
			var j string
			_ = rows.Scan(&j)
			jobs = append(jobs, j)
		}
		if rows != nil {
			rows.Close()
		}
		c.t.Logf("delivery %s: stored, %s; jobs: %.600q", id, state, jobs)
	}
}

// checkExactlyOnce checks the promise of a cluster: every run judged once
// with the verdict its workflow calls for, every denied run cancelled
// once, one check run for each run with something to report and a
// comment for each cancelled one (comment_on: deny), no delivery given up; strictCancels also forbids a second
// cancel request (none needed without GitHub faults). It returns the
// decisions per replica instance.
func (c *cluster) checkExactlyOnce(runs []runSpec, acked map[string]bool, strictCancels bool) map[string]int {
	c.t.Helper()
	t := c.t
	ctx := context.Background()
	type key struct {
		repo string
		id   int64
	}
	decisions := map[key][]string{}
	checkRuns := map[string]int{} // repository@head sha → created
	perInstance := map[string]int{}
	rows, err := c.db.Query(ctx, `SELECT repository, run_id, outcome, convert_from(log, 'UTF8')::jsonb->'labels'->>'id'
		FROM runpolicy_decision WHERE event = 'workflow_run'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k key
		var outcome, instance string
		if err := rows.Scan(&k.repo, &k.id, &outcome, &instance); err != nil {
			t.Fatal(err)
		}
		decisions[k] = append(decisions[k], outcome)
		perInstance[instance]++
	}
	rows.Close()

	states := map[string]int{}
	rows, err = c.db.Query(ctx, `SELECT state, count(*) FROM runpolicy_delivery GROUP BY state`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		var n int
		_ = rows.Scan(&s, &n)
		states[s] = n
	}
	rows.Close()
	if states["failed"] > 0 || states["received"] > 0 {
		t.Errorf("deliveries by state: %v; want every one processed", states)
		rows, err := c.db.Query(ctx, `SELECT id, state, note FROM runpolicy_delivery WHERE state <> 'processed' LIMIT 5`)
		if err == nil {
			for rows.Next() {
				var id, state, note string
				_ = rows.Scan(&id, &state, &note)
				t.Errorf("delivery %s: %s: %s", id, state, note)
			}
			rows.Close()
		}
	}
	var lost int
	ids := make([]string, 0, len(acked))
	for id := range acked {
		ids = append(ids, id)
	}
	if err := c.db.QueryRow(ctx, `SELECT $2::int - count(*) FROM runpolicy_delivery WHERE id = ANY($1)`, ids, len(ids)).Scan(&lost); err != nil || lost != 0 {
		t.Errorf("%d acknowledged deliveries are not in the store (%v)", lost, err)
	}
	var gaveUp int
	if err := c.db.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'runpolicy_delivery' AND state IN ('discarded', 'cancelled')`).Scan(&gaveUp); err != nil || gaveUp != 0 {
		t.Errorf("%d delivery jobs given up (%v)", gaveUp, err)
	}

	cancels := map[string][2]int{} // path → all, accepted
	forces := map[string]int{}     // run path → force-cancels accepted
	// Run paths whose every cancel request may have stayed unanswered and
	// undone (the connection dropped): a run in progress after such a
	// request is force-cancelled, not cancelled again.
	unanswered := map[string]bool{}
	for _, call := range c.gh.Fake.Calls() {
		if call.Method != "POST" {
			continue
		}
		if run, ok := strings.CutSuffix(call.Path, "/force-cancel"); ok && call.Status == http.StatusAccepted {
			forces[run]++
		}
		if strings.HasSuffix(call.Path, "/cancel") {
			n := cancels[call.Path]
			n[0]++
			if call.Status == http.StatusAccepted {
				n[1]++
			}
			cancels[call.Path] = n
			if call.Status == 0 || call.Injected == fakegithub.InjectedDropped {
				unanswered[strings.TrimSuffix(call.Path, "/cancel")] = true
			}
		}
	}
	// Runs whose cancel a replica recorded as maybe sent: a try took the
	// claim and died (a kill, a job timeout) without knowing whether its
	// request reached GitHub, which may then have seen no request at all.
	// The taker sends no blind second cancel to a run in progress; the
	// force-cancel ends it.
	maybeSent := map[string]bool{}
	rows, err = c.db.Query(ctx, `SELECT repository, run_id FROM runpolicy_run_action WHERE action = 'cancel' AND ref = 'unconfirmed'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var repo string
		var id int64
		if err := rows.Scan(&repo, &id); err != nil {
			t.Fatal(err)
		}
		maybeSent[strings.TrimSuffix(cancelPath(repo, id), "/cancel")] = true
	}
	rows.Close()
	for _, cr := range c.gh.Fake.CheckRuns() {
		checkRuns[cr.Repo+"@"+cr.HeadSHA]++
	}
	comments := map[key]int{}
	for _, cm := range c.gh.Fake.Comments() {
		comments[key{cm.Repo, int64(cm.Issue)}]++
	}
	bad := 0
	var firstBad int64 // the first run that went wrong, for its logs
	report := func(run int64, format string, a ...any) {
		if bad++; bad <= 20 {
			t.Errorf(format, a...)
		}
		if firstBad == 0 {
			firstBad = run
		}
	}
	endedByForce := 0
	for _, r := range runs {
		k := key{r.Repo, r.ID}
		want := map[string]string{kindDeny: "deny", kindDry: "allow", kindGood: "allow"}[r.kind]
		if got := decisions[k]; len(got) != 1 || got[0] != want {
			report(r.ID, "run %d (%s): decisions %v, want exactly one %s", r.ID, r.kind, got, want)
		}
		n := cancels[cancelPath(r.Repo, r.ID)]
		runPath := strings.TrimSuffix(cancelPath(r.Repo, r.ID), "/cancel")
		wantCancel, wantForce := 0, 0
		if r.kind == kindDeny {
			wantCancel = 1
			if r.stuck {
				wantForce = 1
			}
		}
		if r.stuck && n[1] == 0 && (unanswered[runPath] || n[0] == 0 && maybeSent[runPath]) && forces[runPath] == 1 {
			wantCancel = 0 // its cancel never arrived; the force-cancel ended it
			endedByForce++
		}
		if n[1] != wantCancel || (strictCancels && n[0] != wantCancel) {
			report(r.ID, "run %d (%s): %d cancel requests, %d accepted; want %d", r.ID, r.kind, n[0], n[1], wantCancel)
		}
		if forces[runPath] != wantForce {
			report(r.ID, "run %d (%s, stuck %v): %d force-cancels accepted, want %d", r.ID, r.kind, r.stuck, forces[runPath], wantForce)
		}
		if run, _ := c.gh.Fake.Run(r.Repo, r.ID); r.kind == kindDeny && run.Status != "completed" {
			report(r.ID, "run %d (%s, stuck %v): %s at the end, want completed", r.ID, r.kind, r.stuck, run.Status)
		}
		wantReport := 1
		if r.kind == kindGood {
			wantReport = 0
		}
		if got := checkRuns[r.Repo+"@"+r.HeadSHA]; got != wantReport {
			report(r.ID, "run %d (%s): %d check runs, want %d", r.ID, r.kind, got, wantReport)
		}
		wantComment := 0 // comment_on: deny comments on a cancelled run only
		if r.kind == kindDeny {
			wantComment = 1
		}
		for _, pr := range r.PullRequests {
			if got := comments[key{r.Repo, int64(pr)}]; got != wantComment {
				report(r.ID, "run %d (%s): %d comments on pull request %d, want %d", r.ID, r.kind, got, pr, wantComment)
			}
		}
	}
	if endedByForce > 0 {
		t.Logf("%d stuck runs whose cancel never reached GitHub were ended by their force-cancel alone", endedByForce)
	}
	if bad > 20 {
		t.Errorf("… and %d more", bad-20)
	}
	if bad > 0 {
		// What the replicas said about the first run that went wrong.
		for _, rep := range c.reps {
			if srv := rep.server(); srv != nil {
				for _, line := range srv.Logs.Lines() {
					if strings.Contains(line, fmt.Sprintf(`"run_id":%d,`, firstBad)) {
						t.Logf("%s: %.400s", rep.name, line)
					}
				}
			}
		}
	}
	return perInstance
}

// percentile of durations, q in [0, 1].
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// leader is the replica River elected leader, nil when none is (yet).
func (c *cluster) leader() *replica {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var id string
		err := c.db.QueryRow(context.Background(), "SELECT leader_id FROM river_leader WHERE expires_at > now()").Scan(&id)
		if err == nil {
			for _, r := range c.reps {
				if srv := r.server(); srv != nil && r.up.Load() {
					if m := srv.Logs.Find("listening"); m != nil && m["instance"] == id {
						return r
					}
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// outcomes splits the deliveries sent into those acknowledged (202) and
// those GitHub recorded as failed (no connection, 5xx); any other answer
// fails the test.
func (c *cluster) outcomes(ds []loadDelivery, results []sendResult) (acked, failed map[string]bool) {
	c.t.Helper()
	acked, failed = map[string]bool{}, map[string]bool{}
	for i, r := range results {
		switch {
		case r.code == http.StatusAccepted:
			acked[ds[i].ID] = true
		case r.code == 0 || r.code >= 500:
			failed[ds[i].ID] = true
		default:
			c.t.Errorf("delivery %s: status %d", ds[i].ID, r.code)
		}
	}
	return acked, failed
}

func union(a, b map[string]bool) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// redeliveryRequests counts the redeliveries the replicas asked GitHub for.
func (c *cluster) redeliveryRequests() int {
	n := 0
	for _, call := range c.gh.Fake.Calls() {
		if call.Method == "POST" && strings.HasPrefix(call.Path, "/app/hook/deliveries/") && call.Status == http.StatusAccepted {
			n++
		}
	}
	return n
}
