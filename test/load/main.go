// Command load measures the server with the real binary and a fake GitHub
// on loopback, and prints latency percentiles. It asserts nothing.
//
//	go run ./test/load -mode ack -rate 500 -duration 10s -idle
//	go run ./test/load -mode ack -rate 500 -duration 10s -latency 100ms
//	go run ./test/load -mode cancel -rate 100 -duration 10s
//	go run ./test/load -mode cancel -rate 20 -duration 10s -latency 100ms
//
// Throughput of one replica and of three on Postgres (-rate 0: as fast as
// they answer, -conc deliveries in flight, spread over the replicas; a
// fresh database is made on the server -database names, and dropped):
//
//	go run ./test/load -rate 0 -duration 10s -database postgres://postgres@127.0.0.1:5432/test -replicas 1
//	go run ./test/load -rate 0 -duration 10s -database postgres://postgres@127.0.0.1:5432/test -replicas 3
//
// ack: time from sending a signed delivery to its 202 (persisted and
// queued), on the embedded store, while the server works the deliveries
// (with -idle it only acknowledges them: no policy set ever becomes
// active). The generator and the fake GitHub run on the same machine.
// cancel: time from sending a workflow_run delivery of a denied run to the
// cancel request reaching GitHub, and to GitHub's 202 reaching back; each
// run's workflow file has distinct content, so neither the file cache nor
// the parsed-workflow cache helps.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runpolicy/runpolicy/test/harness"
	"github.com/runpolicy/runpolicy/test/pgtest"
)

func main() {
	mode := flag.String("mode", "ack", "ack or cancel")
	rate := flag.Int("rate", 500, "deliveries per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	warmup := flag.Duration("warmup", 2*time.Second, "sending before measuring")
	latency := flag.Duration("latency", 0, "fake GitHub's delay on every answer")
	database := flag.String("database", "", "database (default: an SQLite file in a temp dir)")
	resolveRefs := flag.Bool("resolve", true, "resolve composite actions and reusable workflows")
	binary := flag.String("binary", "", "runpolicy binary (default: go build)")
	verbose := flag.Bool("v", false, "print the server's logs")
	flag.IntVar(&workers, "workers", 50, "the server's workers")
	flag.IntVar(&replicas, "replicas", 1, "servers sharing the database (postgres:// only above 1)")
	flag.IntVar(&conc, "conc", 64, "deliveries in flight with -rate 0")
	flag.BoolVar(&idle, "idle", false, "keep the server unready (a policy source that never loads): acknowledge only, process nothing")
	flag.Parse()
	if err := run(*mode, *rate, *duration, *warmup, *latency, *database, *resolveRefs, *binary, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

var (
	workers  int
	idle     bool
	replicas int
	conc     int
)

func run(mode string, rate int, duration, warmup, latency time.Duration, database string, resolveRefs bool, binary string, verbose bool) error {
	dir, err := os.MkdirTemp("", "runpolicy-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if binary == "" {
		if binary, err = harness.Build(dir); err != nil {
			return err
		}
	}
	gh, err := harness.NewGitHub(4242, "load-secret")
	if err != nil {
		return err
	}
	defer gh.Fake.Close()
	gh.Fake.AddInstallation("acme", 1)
	cfg, err := gh.Config(dir)
	if err != nil {
		return err
	}
	if database == "" {
		database = filepath.Join(dir, "runpolicy.db")
	}
	if storeKind(database) == "postgres" {
		fresh, drop, err := freshDatabase(database)
		if err != nil {
			return err
		}
		defer drop()
		database = fresh
	} else if replicas > 1 {
		return fmt.Errorf("-replicas %d needs a postgres:// -database", replicas)
	}
	cfg["database"] = database
	cfg["log_level"] = "info"
	cfg["workers"] = workers
	cfg["redeliver_interval"] = "0s"
	cfg["cancel_escalation_delay"] = "0s"
	cfg["resolve"] = resolveRefs
	cfg["admin_token"] = "load"
	if idle {
		cfg["bundles"] = []map[string]any{{"name": "missing", "type": "dir", "url": filepath.Join(dir, "no-such-dir")}}
	}
	var echo *os.File
	if verbose {
		echo = os.Stderr
	}
	var servers []*harness.Server
	for i := range replicas {
		rdir := filepath.Join(dir, fmt.Sprintf("replica-%d", i))
		if err := os.MkdirAll(rdir, 0o755); err != nil {
			return err
		}
		opts := harness.Options{Binary: binary, Dir: rdir, Config: cfg}
		if echo != nil {
			opts.Echo = echo
		}
		srv, err := harness.Start(opts)
		if err != nil {
			return err
		}
		defer srv.Stop(30 * time.Second)
		if !idle {
			if err := srv.WaitReady(time.Minute); err != nil {
				return err
			}
		}
		servers = append(servers, srv)
	}
	srv := servers[0]

	if rate <= 0 {
		return closedLoop(gh, servers, duration, warmup)
	}
	total := int((warmup + duration).Seconds() * float64(rate))
	skip := int(warmup.Seconds() * float64(rate))
	type result struct {
		sent time.Time
		ack  time.Duration
		code int
		err  error
		repo string
		id   int64
	}
	results := make([]result, total)
	bodies := make([][]byte, total)
	for i := range total {
		r := harness.Run{Repo: "acme/load", ID: int64(100000 + i), HeadSHA: fmt.Sprintf("%040x", 100000+i),
			Path: ".github/workflows/changes.yml", Installation: 1}
		gh.Publish(r, harness.Numbered(harness.CompromisedWorkflow, i), nil)
		if bodies[i], err = harness.WorkflowRunRequested(r); err != nil {
			return err
		}
		results[i].repo, results[i].id = r.Repo, r.ID
	}
	// The cancel figure is measured against a fake that answers at once,
	// or after -latency; setting it after the seeding keeps setup quick.
	gh.Fake.SetLatency(latency)

	ctx := context.Background()
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	var wg sync.WaitGroup
	for i := range total {
		// Open loop: each delivery leaves at its time, whatever the
		// previous ones are doing, as GitHub sends them.
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			code, err := gh.Send(ctx, servers[i%len(servers)].URL, harness.Delivery{Event: "workflow_run", ID: fmt.Sprintf("load-%d", i), Body: bodies[i]})
			results[i] = result{sent: t0, ack: time.Since(t0), code: code, err: err, repo: results[i].repo, id: results[i].id}
		}()
	}
	wg.Wait()
	sendTime := time.Since(start)

	var acks []time.Duration
	failures := 0
	for _, r := range results[skip:] {
		if r.err != nil || r.code != 202 {
			failures++
			continue
		}
		acks = append(acks, r.ack)
	}
	fmt.Printf("mode=%s rate=%d/s duration=%s latency=%s store=%s replicas=%d resolve=%v\n", mode, rate, duration, latency, storeKind(database), replicas, resolveRefs)
	fmt.Printf("sent %d deliveries in %s (%.0f/s), %d measured, %d failed\n", total, sendTime.Round(time.Millisecond), float64(total)/sendTime.Seconds(), len(acks), failures)
	report("ack (send → 202)", acks)
	printHistogram(srv.URL, "runpolicy_webhook_ack_seconds")
	if mode != "cancel" {
		return nil
	}

	// Wait until every run is cancelled, then match cancel calls to sends.
	paths := map[string]int{}
	for i, r := range results {
		paths[fmt.Sprintf("/repos/%s/actions/runs/%d/cancel", r.repo, r.id)] = i
	}
	deadline := time.Now().Add(2*time.Minute + time.Duration(total)*latency)
	var sentAt, answered []time.Duration
	for time.Now().Before(deadline) {
		seen := 0
		for _, c := range gh.Fake.Calls() {
			if _, ok := paths[c.Path]; ok && c.Method == "POST" && c.Status == 202 {
				seen++
			}
		}
		if seen >= total {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, c := range gh.Fake.Calls() {
		i, ok := paths[c.Path]
		if !ok || c.Method != "POST" || c.Status != 202 || i < skip {
			continue
		}
		d := c.At.Sub(results[i].sent)
		sentAt = append(sentAt, d)
		answered = append(answered, d+latency)
	}
	report("delivery → cancel request at GitHub", sentAt)
	printHistogram(srv.URL, "runpolicy_delivery_to_cancel_seconds")
	timers(srv, skip)
	if latency > 0 {
		report("delivery → cancel answered (202 back)", answered)
	}
	return nil
}

func storeKind(db string) string {
	if len(db) > 8 && db[:8] == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

func report(name string, d []time.Duration) {
	if len(d) == 0 {
		fmt.Printf("%-40s no samples\n", name)
		return
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	p := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	fmt.Printf("%-40s n=%d p50=%s p90=%s p99=%s max=%s\n", name, len(d),
		p(.50).Round(10*time.Microsecond), p(.90).Round(10*time.Microsecond), p(.99).Round(10*time.Microsecond), d[len(d)-1].Round(10*time.Microsecond))
}

// printHistogram prints a server histogram's cumulative buckets.
func printHistogram(base, name string) {
	resp, err := harness.Client.Get(base + "/metrics")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var line []string
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, name+"_bucket") || strings.HasPrefix(l, name+"_count") {
			l = strings.TrimPrefix(l, name)
			line = append(line, strings.ReplaceAll(strings.ReplaceAll(l, "_bucket{le=", "≤"), "}", ":"))
		}
	}
	fmt.Printf("server-side %s: %s\n", name, strings.Join(line, " "))
}

// timers prints the median and p99 of each timing in the decision logs.
func timers(srv *harness.Server, skip int) {
	var logs []struct {
		DeliveryID string           `json:"delivery_id"`
		Metrics    map[string]int64 `json:"metrics"`
	}
	if _, err := srv.Get(context.Background(), "/admin/decisions?limit=1000", "load", &logs); err != nil {
		fmt.Println("decision timings:", err)
		return
	}
	byName := map[string][]time.Duration{}
	for _, l := range logs {
		var i int
		if _, err := fmt.Sscanf(l.DeliveryID, "load-%d", &i); err != nil || i < skip {
			continue
		}
		for k, v := range l.Metrics {
			byName[k] = append(byName[k], time.Duration(v))
		}
	}
	names := make([]string, 0, len(byName))
	for k := range byName {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		report("decision "+k, byName[k])
	}
}

// closedLoop sends deliveries as fast as the servers acknowledge them,
// conc in flight, round-robin over the servers, and prints how many were
// acknowledged per second after the warm-up. Each delivery is a distinct
// run, so every one is stored, queued and (unless -idle) judged.
func closedLoop(gh *harness.GitHub, servers []*harness.Server, duration, warmup time.Duration) error {
	r := harness.Run{Repo: "acme/load", ID: 1, HeadSHA: fmt.Sprintf("%040x", 1), Path: ".github/workflows/changes.yml", Installation: 1}
	gh.Publish(r, harness.Numbered(harness.CompromisedWorkflow, 0), nil)
	body, err := harness.WorkflowRunRequested(r)
	if err != nil {
		return err
	}
	ctx := context.Background()
	var mu sync.Mutex
	var acks []time.Duration
	failed := 0
	var next atomic.Int64
	start := time.Now()
	measureFrom, end := start.Add(warmup), start.Add(warmup+duration)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				i := next.Add(1)
				t0 := time.Now()
				// One run for all: the figure is acknowledging, and a
				// replayed run is stored and queued like a new one.
				code, err := gh.Send(ctx, servers[int(i)%len(servers)].URL, harness.Delivery{Event: "workflow_run", ID: fmt.Sprintf("load-%d", i), Body: body})
				if t0.Before(measureFrom) {
					continue
				}
				mu.Lock()
				if err != nil || code != 202 {
					if failed++; failed <= 3 {
						fmt.Fprintf(os.Stderr, "delivery load-%d: %d, %v\n", i, code, err)
					}
				} else if time.Now().Before(end) {
					acks = append(acks, time.Since(t0))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Printf("closed loop: %d replicas, %d in flight, %s measured after %s warm-up\n", len(servers), conc, duration, warmup)
	fmt.Printf("acknowledged %d deliveries: %.0f/s, %d failed\n", len(acks), float64(len(acks))/duration.Seconds(), failed)
	report("ack (send → 202)", acks)
	for _, srv := range servers {
		printHistogram(srv.URL, "runpolicy_webhook_ack_seconds")
	}
	return nil
}

// freshDatabase makes an empty database on the Postgres server of dsn and
// returns a DSN for it and a function that drops it.
func freshDatabase(dsn string) (string, func(), error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("rp_load_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	fresh, err := pgtest.WithDatabase(dsn, name)
	if err != nil {
		return "", nil, err
	}
	drop := func() {
		if c, err := pgx.Connect(ctx, dsn); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	}
	return fresh, drop, nil
}
