package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/runpolicy/runpolicy/test/pgtest"
)

// These tests run several stores on one Postgres database, as replicas do.

// Replicas that start at once must not trip over each other's migrations.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	_, dsn := pgtest.Database(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(ctx, Options{DSN: dsn})
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Open: %v", err)
	}
	s := open(t, dsn, nil)
	var n, versions int
	if err := s.queryRow(ctx, "SELECT count(*), count(DISTINCT version) FROM runpolicy_schema").Scan(&n, &versions); err != nil ||
		n != len(migrations) || versions != n {
		t.Fatalf("schema rows = %d (%d versions), %v; want %d, each once", n, versions, err, len(migrations))
	}
}

// countingWorker counts the jobs it works, by id, for one store.
type countingWorker struct {
	river.WorkerDefaults[echoArgs]
	store string
	mu    *sync.Mutex
	seen  map[string][]string // job id → stores that worked it
	hold  time.Duration
}

func (w *countingWorker) Work(ctx context.Context, job *river.Job[echoArgs]) error {
	w.mu.Lock()
	w.seen[job.Args.ID] = append(w.seen[job.Args.ID], w.store)
	w.mu.Unlock()
	if w.hold > 0 {
		select {
		case <-time.After(w.hold):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// replicaStores opens n started stores on dsn whose workers record into
// seen, with the options set changes, if any.
func replicaStores(t *testing.T, dsn string, n int, mu *sync.Mutex, seen map[string][]string, set func(*Options)) []*Store {
	t.Helper()
	ctx := context.Background()
	var out []*Store
	for i := range n {
		workers := river.NewWorkers()
		river.AddWorker(workers, &countingWorker{store: fmt.Sprintf("r%d", i), mu: mu, seen: seen, hold: 2 * time.Millisecond})
		opts := jobOptions(dsn, workers)
		opts.ID, opts.PollInterval = fmt.Sprintf("replica-%d", i), 20*time.Millisecond
		if set != nil {
			set(&opts)
		}
		s, err := Open(ctx, opts)
		if err != nil {
			t.Fatalf("Open replica %d: %v", i, err)
		}
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = s.Stop(stopCtx)
			s.Close()
		})
		out = append(out, s)
	}
	return out
}

// A delivery received by any replica, as often as GitHub sends it, is
// saved once with its job in the same transaction, and worked exactly
// once by exactly one replica.
func TestReplicasShareDeliveriesExactlyOnce(t *testing.T) {
	_, dsn := pgtest.Database(t)
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[string][]string{}
	stores := replicaStores(t, dsn, 3, &mu, seen, nil)

	const n = 300
	var fresh atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		id := fmt.Sprintf("d-%d", i)
		// Every delivery reaches all three replicas at once.
		for _, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := Delivery{ID: id, Event: "workflow_run", Action: "requested", Payload: []byte("{}"), ReceivedAt: time.Now()}
				ok, err := s.AcceptDelivery(ctx, d, echoArgs{ID: id})
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					fresh.Add(1)
					// Acknowledged means queued: the job is there now.
					var jobs int
					if err := s.queryRow(ctx, "SELECT count(*) FROM river_job WHERE args->>'id' = ?", id).Scan(&jobs); err != nil || jobs != 1 {
						t.Errorf("delivery %s acknowledged with %d jobs (%v), want 1", id, jobs, err)
					}
				}
			}()
		}
	}
	wg.Wait()
	if fresh.Load() != n {
		t.Fatalf("%d deliveries accepted as new, want %d", fresh.Load(), n)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		done := len(seen)
		mu.Unlock()
		if done == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a second working would show now
	mu.Lock()
	defer mu.Unlock()
	perStore := map[string]int{}
	for i := range n {
		by := seen[fmt.Sprintf("d-%d", i)]
		if len(by) != 1 {
			t.Errorf("job d-%d worked %d times (%v), want once", i, len(by), by)
			continue
		}
		perStore[by[0]]++
	}
	t.Logf("jobs worked per replica: %v", perStore)
	if len(perStore) < 2 {
		t.Errorf("one replica worked everything (%v): the work is not shared", perStore)
	}
}

// A job left running by a replica that died is handed back about
// rescue_after after its attempt began, and worked by a live one; a job a
// live replica is working is left alone; one with no attempt left is
// discarded.
func TestStuckJobsAreRescued(t *testing.T) {
	_, dsn := pgtest.Database(t)
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[string][]string{}
	// The dead replica: it saved the jobs and took them, then vanished.
	dead := open(t, dsn, nil)
	for _, id := range []string{"orphan", "fresh", "spent"} {
		if err := dead.Enqueue(ctx, echoArgs{ID: id}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() - interval '10 seconds', attempted_by = '{dead}' WHERE args->>'id' = 'orphan'`,
		`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() + interval '1 hour', attempted_by = '{alive}' WHERE args->>'id' = 'fresh'`,
		`UPDATE river_job SET state = 'running', attempt = max_attempts, attempted_at = now() - interval '10 seconds', attempted_by = '{dead}' WHERE args->>'id' = 'spent'`,
	} {
		if _, err := dead.exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	replicaStores(t, dsn, 1, &mu, seen, func(o *Options) { o.JobTimeout, o.RescueAfter = time.Second, 2*time.Second })
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(seen["orphan"])
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	picked := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	if len(seen["orphan"]) != 1 {
		t.Fatalf("orphaned job worked %d times, want 1", len(seen["orphan"]))
	}
	// Its attempt began 10s before rescue_after (2s): one rescue round.
	if picked > 2*time.Second {
		t.Errorf("orphaned job picked up after %s; want within a rescue round (rescue_after/10)", picked)
	}
	t.Logf("orphaned job picked up %s after a live replica started", picked.Round(time.Millisecond))
	if len(seen["fresh"]) != 0 {
		t.Error("a job a live replica holds was taken from it")
	}
	var state, errs string
	if err := dead.queryRow(ctx, "SELECT state, errors::text FROM river_job WHERE args->>'id' = 'spent'").Scan(&state, &errs); err != nil {
		t.Fatal(err)
	}
	if state != "discarded" || len(seen["spent"]) != 0 {
		t.Errorf("a stuck job with no attempt left: state %s, worked %d times; want discarded, never worked", state, len(seen["spent"]))
	}
	// Ours or River's own rescuer ("Stuck job rescued by JobRescuer"),
	// whichever ran first: both discard it.
	if want := "stuck job rescued"; !strings.Contains(strings.ToLower(errs), want) {
		t.Errorf("rescued job's errors %s lack %q", errs, want)
	}
}

// Periodic jobs are enqueued by the leader alone, however many replicas
// run them.
func TestPeriodicJobsDoNotMultiply(t *testing.T) {
	_, dsn := pgtest.Database(t)
	var mu sync.Mutex
	seen := map[string][]string{}
	every := 300 * time.Millisecond
	var tick atomic.Int32
	periodic := river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
		return echoArgs{ID: fmt.Sprintf("tick-%d", tick.Add(1))}, nil
	}, &river.PeriodicJobOpts{RunOnStart: true, ID: "tick"})
	replicaStores(t, dsn, 3, &mu, seen, func(o *Options) { o.PeriodicJobs = []*river.PeriodicJob{periodic} })
	runs := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	// The leader starts its periodic work a moment after it is elected.
	deadline := time.Now().Add(15 * time.Second)
	for runs() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	first := runs()
	if first == 0 {
		t.Fatal("no periodic run within 15s")
	}
	window := 8 * every
	time.Sleep(window)
	n := runs() - first
	most := int(window/every) + 2
	t.Logf("%d periodic runs in %s with 3 replicas (one leader: at most %d; three would make about %d)", n, window, most, 3*int(window/every))
	if n > most {
		t.Errorf("%d periodic runs in %s, want at most %d: periodic work multiplies", n, window, most)
	}
}
