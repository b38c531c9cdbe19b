package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/runpolicy/runpolicy/test/pgtest"
)

// backends returns a DSN per database kind for one test: an SQLite file,
// and a Postgres database of the test's own (see pgtest).
func backends(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{"sqlite": filepath.Join(t.TempDir(), "runpolicy.db")}
	if dsn, ok := postgresDatabase(t); ok {
		out["postgres"] = dsn
	}
	return out
}

// postgresDatabase is pgtest.Database for tests that also run without
// Postgres: false when it is unreachable and not required.
func postgresDatabase(t *testing.T) (string, bool) {
	t.Helper()
	if !pgtest.Required() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pgtest.URL())
		if err != nil {
			t.Logf("postgres not reachable, testing sqlite only: %v", err)
			return "", false
		}
		conn.Close(ctx)
	}
	_, dsn := pgtest.Database(t)
	return dsn, true
}

type echoArgs struct {
	ID string `json:"id"`
}

func (echoArgs) Kind() string { return "test_echo" }

type echoWorker struct {
	river.WorkerDefaults[echoArgs]
	mu   sync.Mutex
	seen map[string]int
	done chan string
}

func (w *echoWorker) Work(ctx context.Context, job *river.Job[echoArgs]) error {
	w.mu.Lock()
	w.seen[job.Args.ID]++
	w.mu.Unlock()
	w.done <- job.Args.ID
	return nil
}

// jobOptions are the options of a store on dsn that works jobs with
// workers: the settings of the work are given, as the server gives its
// configuration's, at the tests' pace.
func jobOptions(dsn string, workers *river.Workers) Options {
	return Options{DSN: dsn, Workers: workers, MaxWorkers: 10, JobTimeout: time.Minute, RescueAfter: 90 * time.Second,
		PollInterval: 50 * time.Millisecond}
}

func open(t *testing.T, dsn string, workers *river.Workers) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, jobOptions(dsn, workers))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestDeliveriesAreDeduplicatedAndWorkedOnce(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			w := &echoWorker{seen: map[string]int{}, done: make(chan string, 10)}
			workers := river.NewWorkers()
			river.AddWorker(workers, w)
			s := open(t, dsn, workers)
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer s.Stop(ctx)

			d := Delivery{ID: "d-1", Event: "workflow_run", Action: "requested", InstallationID: 7,
				Repository: "acme/api", Payload: []byte(`{"x":1}`), ReceivedAt: time.Now()}
			first, err := s.AcceptDelivery(ctx, d, echoArgs{ID: d.ID})
			if err != nil || !first {
				t.Fatalf("first accept = %v, %v; want true, nil", first, err)
			}
			again, err := s.AcceptDelivery(ctx, d, echoArgs{ID: d.ID})
			if err != nil || again {
				t.Fatalf("second accept = %v, %v; want false, nil", again, err)
			}
			select {
			case <-w.done:
			case <-time.After(10 * time.Second):
				t.Fatal("job was not worked")
			}
			if err := s.FinishDelivery(ctx, d.ID, DeliveryProcessed, "judged"); err != nil {
				t.Fatal(err)
			}
			if again, _ := s.AcceptDelivery(ctx, d, echoArgs{ID: d.ID}); again {
				t.Fatal("processed delivery accepted again")
			}
			select {
			case id := <-w.done:
				t.Fatalf("delivery %s worked twice", id)
			case <-time.After(300 * time.Millisecond):
			}
			got, err := s.Delivery(ctx, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != DeliveryProcessed || string(got.Payload) != `{"x":1}` || got.InstallationID != 7 || got.Note != "judged" {
				t.Errorf("Delivery = %+v", got)
			}
			known, err := s.KnownDeliveries(ctx, []string{"d-1", "d-2"})
			if err != nil || !known["d-1"] || known["d-2"] {
				t.Errorf("KnownDeliveries = %v, %v", known, err)
			}
			if _, err := s.Delivery(ctx, "nope"); !errors.Is(err, ErrNotFound) {
				t.Errorf("missing delivery: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestDeliveriesWithoutJob(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil)
			// The process died after saving the delivery, before queuing it.
			if _, err := s.exec(ctx, `INSERT INTO runpolicy_delivery (id, event, action, installation_id, repository, payload, received_at, state)
				VALUES ('lost', 'workflow_run', 'requested', 1, 'a/b', ?, 1, 'received')`, []byte("{}")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AcceptDelivery(ctx, Delivery{ID: "queued", Payload: []byte("{}"), ReceivedAt: time.Now().Add(-time.Hour)},
				deliveryArgs{DeliveryID: "queued"}); err != nil {
				t.Fatal(err)
			}
			waitQueued(t, s, 1)
			ids, err := s.DeliveriesWithoutJob(ctx, deliveryArgs{}.Kind(), time.Now(), 10)
			if err != nil || fmt.Sprint(ids) != "[lost]" {
				t.Fatalf("DeliveriesWithoutJob = %v, %v; want [lost]", ids, err)
			}
			if ids, _ := s.DeliveriesWithoutJob(ctx, deliveryArgs{}.Kind(), time.Unix(0, 0), 10); len(ids) != 0 {
				t.Errorf("cutoff ignored: %v", ids)
			}
		})
	}
}

type deliveryArgs struct {
	DeliveryID string `json:"delivery_id"`
}

func (deliveryArgs) Kind() string { return "test_delivery" }

func TestDecisionsOncePerDelivery(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil)
			d := Decision{ID: "dec-1", DeliveryID: "d-1", Event: "workflow_run", Repository: "acme/api",
				RunID: 42, RunAttempt: 1, Outcome: OutcomeDeny, Cancel: true, CreatedAt: time.Now(), Log: []byte(`{"decision_id":"dec-1"}`)}
			got, err := s.SaveDecision(ctx, d)
			if err != nil || got.ID != "dec-1" {
				t.Fatalf("SaveDecision = %v, %v", got.ID, err)
			}
			d2 := d
			d2.ID, d2.Outcome, d2.Cancel = "dec-2", OutcomeAllow, false
			got, err = s.SaveDecision(ctx, d2)
			if err != nil || got.ID != "dec-1" || !got.Cancel || got.Outcome != OutcomeDeny {
				t.Fatalf("second SaveDecision = %+v, %v; want the first decision", got, err)
			}
			list, err := s.Decisions(ctx, DecisionFilter{RunID: 42})
			if err != nil || len(list) != 1 || string(list[0].Log) != `{"decision_id":"dec-1"}` {
				t.Errorf("Decisions = %+v, %v", list, err)
			}
			if byID, err := s.DecisionByID(ctx, "dec-1"); err != nil || byID.DeliveryID != "d-1" || !byID.Cancel ||
				string(byID.Log) != `{"decision_id":"dec-1"}` {
				t.Errorf("DecisionByID(dec-1) = %+v, %v", byID, err)
			}
			if _, err := s.DecisionByID(ctx, "dec-2"); !errors.Is(err, ErrNotFound) {
				t.Errorf("DecisionByID of a decision never saved: %v, want ErrNotFound", err)
			}
		})
	}
}

// TestDecisionLogEntry: a decision saved with its entry as a value gets
// the entry's JSON as its log, and reads back into the writer's type; one
// that cannot be encoded is not saved. The encoding is the same on every
// backend: SQLite serves.
func TestDecisionLogEntry(t *testing.T) {
	type entry struct {
		DecisionID string            `json:"decision_id"`
		Run        map[string]string `json:"run"`
		Note       string            `json:"note,omitempty"`
	}
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "runpolicy.db"), nil)
	want := entry{DecisionID: "dec-1", Run: map[string]string{"workflow_path": ".github/workflows/ci.yml"}, Note: "<&>"}
	d := Decision{ID: "dec-1", DeliveryID: "d-1", Event: "workflow_run", Repository: "acme/api", RunID: 42, RunAttempt: 1,
		Outcome: OutcomeAllow, CreatedAt: time.Now(), Entry: want}
	saved, err := s.SaveDecision(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	const log = `{"decision_id":"dec-1","run":{"workflow_path":".github/workflows/ci.yml"},"note":"\u003c\u0026\u003e"}`
	if string(saved.Log) != log || saved.Entry != nil {
		t.Errorf("saved log %s, entry %v; want %s and the entry encoded", saved.Log, saved.Entry, log)
	}
	back, err := s.DecisionForDelivery(ctx, "d-1")
	if err != nil || string(back.Log) != log {
		t.Fatalf("DecisionForDelivery = %+v, %v", back, err)
	}
	var got entry
	if err := back.DecodeLog(&got); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeLog = %+v, %v; want %+v", got, err, want)
	}
	if page, err := s.Evaluations(ctx, EvaluationFilter{Scope: Scope{All: true}, Workflow: ".github/workflows/ci.yml"}); err != nil || len(page.Evaluations) != 1 {
		t.Errorf("the entry's workflow is not summarized: %+v, %v", page, err)
	}

	d.ID, d.DeliveryID, d.Entry = "dec-2", "d-2", map[string]any{"bad": make(chan int)}
	if _, err := s.SaveDecision(ctx, d); err == nil || !strings.Contains(err.Error(), "save decision for delivery d-2: encode log") {
		t.Errorf("an entry that cannot be encoded: %v", err)
	}
	if _, err := s.DecisionForDelivery(ctx, "d-2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a decision whose entry cannot be encoded was saved: %v", err)
	}
	bad := Decision{ID: "dec-3", Log: []byte("{")}
	if err := bad.DecodeLog(&got); err == nil || !strings.Contains(err.Error(), "log of decision dec-3") {
		t.Errorf("DecodeLog of a broken log: %v", err)
	}
}

func TestActionsHaveOneOwner(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil)
			key := RunKey{Repository: "acme/api", RunID: 42, Attempt: 1}
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					owner := string(rune('a' + i))
					a, err := s.Claim(ctx, key, "cancel", owner, 1)
					if err != nil {
						t.Error(err)
						return
					}
					if a.Owner == owner {
						wins.Add(1)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d claims won, want 1", wins.Load())
			}
			a, _ := s.Action(ctx, key, "cancel")
			if a.Done() {
				t.Fatal("claimed action is done")
			}
			if err := s.Complete(ctx, key, "cancel", "not-the-owner", "x"); err != nil {
				t.Fatal(err)
			}
			if a, _ := s.Action(ctx, key, "cancel"); a.Done() {
				t.Fatal("a non-owner completed the action")
			}
			if err := s.Complete(ctx, key, "cancel", a.Owner, "accepted"); err != nil {
				t.Fatal(err)
			}
			if a, _ := s.Action(ctx, key, "cancel"); !a.Done() || a.Ref != "accepted" {
				t.Fatalf("after Complete: %+v", a)
			}
			if a, _ := s.Action(ctx, key, "cancel"); a.RaisedBy != "" || a.Shows() != a.Owner {
				t.Fatalf("before a raise: %+v shows %q, want its owner's", a, a.Shows())
			}
			raised, err := s.Raise(ctx, key, "cancel", "raiser", 2)
			if err != nil || !raised {
				t.Fatalf("Raise = %v, %v", raised, err)
			}
			if raised, _ := s.Raise(ctx, key, "cancel", "late", 2); raised {
				t.Fatal("raised twice to the same level")
			}
			if r, _ := s.Action(ctx, key, "cancel"); r.Level != 2 || r.RaisedBy != "raiser" || r.Shows() != "raiser" || r.Owner != a.Owner {
				t.Fatalf("after the raise: %+v shows %q; want level 2, the raiser's, owner %s", r, r.Shows(), a.Owner)
			}
		})
	}
}

// A marked action holds the last write, whoever made it, and is done.
func TestActionMarked(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil)
			key := RunKey{Repository: "acme/api", RunID: 0, Attempt: 7}
			if err := s.Mark(ctx, key, "shows", "dec-1", "42/1"); err != nil {
				t.Fatal(err)
			}
			first, err := s.Action(ctx, key, "shows")
			if err != nil || first.Ref != "42/1" || first.Owner != "dec-1" || !first.Done() {
				t.Fatalf("after the first mark: %+v, %v", first, err)
			}
			if err := s.Mark(ctx, key, "shows", "dec-2", "43/1"); err != nil {
				t.Fatal(err)
			}
			if a, err := s.Action(ctx, key, "shows"); err != nil || a.Ref != "43/1" || a.Owner != "dec-2" || !a.Done() ||
				a.CreatedAt.Before(first.CreatedAt) {
				t.Fatalf("after a later mark: %+v, %v; want the later write", a, err)
			}
			if raised, err := s.Raise(ctx, key, "shows", "dec-3", 1); err != nil || !raised {
				t.Fatalf("Raise = %v, %v", raised, err)
			}
			if err := s.Mark(ctx, key, "shows", "dec-4", "44/1"); err != nil {
				t.Fatal(err)
			}
			if a, err := s.Action(ctx, key, "shows"); err != nil || a.Shows() != "dec-4" {
				t.Fatalf("a mark after a raise: %+v, %v; want it to show the mark's writer", a, err)
			}
		})
	}
}

// An action claimed and not finished stays its owner's until the owner's
// delivery gives up and hands it back; then exactly one decision takes it
// over, and knows that it is not fresh.
func TestActionsHandedBackAndTakenOver(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil)
			key := RunKey{Repository: "acme/api", RunID: 43, Attempt: 1}
			if _, err := s.SaveDecision(ctx, Decision{ID: "dec-job", DeliveryID: "del-job", Event: "workflow_job", Repository: key.Repository,
				RunID: key.RunID, RunAttempt: 1, Outcome: OutcomeDeny, Cancel: true, CreatedAt: time.Now(), Log: []byte("{}")}); err != nil {
				t.Fatal(err)
			}
			a, err := s.Claim(ctx, key, "check_run", "dec-job", 2)
			if err != nil || a.Owner != "dec-job" || !a.Fresh {
				t.Fatalf("first claim = %+v, %v; want it fresh", a, err)
			}
			if a, err := s.Claim(ctx, key, "check_run", "dec-job", 2); err != nil || a.Owner != "dec-job" || a.Fresh {
				t.Fatalf("the owner's second claim = %+v, %v; want it not fresh", a, err)
			}
			if a, err := s.Claim(ctx, key, "check_run", "dec-run", 2); err != nil || a.Owner != "dec-job" || a.Fresh || a.Done() {
				t.Fatalf("another decision's claim = %+v, %v", a, err)
			}
			if ok, err := s.TakeOver(ctx, key, "check_run", "", "dec-run", 2); err != nil || ok {
				t.Fatalf("took over a claim not handed back: %v, %v", ok, err)
			}
			if _, err := s.Claim(ctx, key, "cancel", "dec-job", 1); err != nil {
				t.Fatal(err)
			}
			if err := s.Complete(ctx, key, "cancel", "dec-job", "accepted"); err != nil {
				t.Fatal(err)
			}
			if back, err := s.HandedBack(ctx, key); err != nil || back {
				t.Fatalf("HandedBack before the hand-back = %v, %v", back, err)
			}
			if n, err := s.HandBack(ctx, "del-other"); err != nil || n != 0 {
				t.Fatalf("HandBack of another delivery = %d, %v", n, err)
			}
			if n, err := s.HandBack(ctx, "del-job"); err != nil || n != 1 {
				t.Fatalf("HandBack = %d, %v; want the unfinished check run only", n, err)
			}
			if a, _ := s.Action(ctx, key, "cancel"); a.Owner != "dec-job" || !a.Done() {
				t.Fatalf("a finished action was handed back: %+v", a)
			}
			if back, err := s.HandedBack(ctx, key); err != nil || !back {
				t.Fatalf("HandedBack = %v, %v", back, err)
			}
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := s.TakeOver(ctx, key, "check_run", "", fmt.Sprintf("dec-%d", i), 1)
					if err != nil {
						t.Error(err)
					}
					if ok {
						wins.Add(1)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d take-overs won, want 1", wins.Load())
			}
			a, _ = s.Action(ctx, key, "check_run")
			if a.Owner == "" || a.Level != 1 || a.Done() {
				t.Fatalf("after the take-over: %+v", a)
			}
			if a, _ := s.Claim(ctx, key, "check_run", a.Owner, 1); a.Fresh {
				t.Fatalf("a claim taken over is fresh: %+v", a)
			}
		})
	}
}

func TestInstallationsAndSettings(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil)
			if err := s.SaveInstallation(ctx, Installation{ID: 5, Account: "Acme", AccountType: "Organization", RepositorySelection: "all", UpdatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			in, err := s.InstallationFor(ctx, "acme/api")
			if err != nil || in.ID != 5 {
				t.Fatalf("InstallationFor = %+v, %v", in, err)
			}
			if err := s.SaveInstallation(ctx, Installation{ID: 5, Account: "Acme", Deleted: true, UpdatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.InstallationFor(ctx, "acme/api"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("deleted installation found: %v", err)
			}
			if err := s.InstallationRepositories(ctx, 5, []string{"acme/a", "acme/b"}, []string{"acme/a"}); err != nil {
				t.Fatal(err)
			}
			first, err := s.ClaimRedelivery(ctx, "guid-1", 99, time.Now().Add(-time.Minute))
			if err != nil || !first {
				t.Fatalf("ClaimRedelivery = %v, %v", first, err)
			}
			if again, _ := s.ClaimRedelivery(ctx, "guid-1", 99, time.Now().Add(-time.Minute)); again {
				t.Fatal("redelivery claimed twice")
			}
			// A claim that brought no new attempt in time is claimed again.
			if stale, err := s.ClaimRedelivery(ctx, "guid-1", 99, time.Now().Add(time.Second)); err != nil || !stale {
				t.Fatalf("ClaimRedelivery of a stale claim = %v, %v; want true", stale, err)
			}
			// The redelivery failed too: its attempt is asked for again, once.
			if next, err := s.ClaimRedelivery(ctx, "guid-1", 100, time.Now().Add(-time.Minute)); err != nil || !next {
				t.Fatalf("ClaimRedelivery of a failed redelivery = %v, %v; want true", next, err)
			}
			if again, _ := s.ClaimRedelivery(ctx, "guid-1", 100, time.Now().Add(-time.Minute)); again {
				t.Fatal("a failed redelivery claimed twice")
			}
			if err := s.SetSetting(ctx, "k", "v1"); err != nil {
				t.Fatal(err)
			}
			if err := s.SetSetting(ctx, "k", "v2"); err != nil {
				t.Fatal(err)
			}
			if v, err := s.Setting(ctx, "k"); err != nil || v != "v2" {
				t.Fatalf("Setting = %q, %v", v, err)
			}
		})
	}
}

func TestRebind(t *testing.T) {
	for _, tc := range []struct {
		d        dialect
		in, want string
	}{
		{sqliteDialect, "a = ? AND b = ?", "a = ? AND b = ?"},
		{postgresDialect, "a = ? AND b = ?", "a = $1 AND b = $2"},
		{postgresDialect, "SELECT 1", "SELECT 1"},
	} {
		if got := tc.d.rebind(tc.in); got != tc.want {
			t.Errorf("%s.rebind(%q) = %q, want %q", tc.d.name, tc.in, got, tc.want)
		}
	}
}

func TestSQLiteDSN(t *testing.T) {
	got := sqliteDSN("/tmp/x.db?_pragma=busy_timeout(1)", 10000)
	want := "file:/tmp/x.db?_pragma=busy_timeout(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=wal_autocheckpoint(0)"
	if got != want {
		t.Errorf("sqliteDSN = %q, want %q", got, want)
	}
}

// A store that works jobs is given every setting of the work: a zero is
// refused in one line naming it, not replaced by a default of the
// store's own (webhook.DefaultConfig is their one home). An insert-only
// store needs none of them, but cannot lease without a job timeout.
func TestOpenRefusesWorkWithoutItsSettings(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		set  func(*Options)
		want string // "" when it opens
	}{
		{"all given", func(*Options) {}, ""},
		{"max workers", func(o *Options) { o.MaxWorkers = 0 }, "store: max workers 0: a store that works jobs needs at least 1"},
		{"job timeout", func(o *Options) { o.JobTimeout = 0 }, "store: job timeout 0s: a store that works jobs needs one"},
		{"poll interval", func(o *Options) { o.PollInterval = 0 }, "store: poll interval 0s: a store that works jobs needs one"},
		{"rescue after", func(o *Options) { o.RescueAfter = 0 }, "store: rescue after 0s: must be longer than the job timeout 1m0s"},
		{"rescue within job timeout", func(o *Options) { o.RescueAfter = o.JobTimeout },
			"store: rescue after 1m0s: must be longer than the job timeout 1m0s"},
		{"negative", func(o *Options) { o.Workers, o.PollInterval = nil, -time.Second }, "store: poll interval -1s: must not be negative"},
		{"insert-only", func(o *Options) { *o = Options{DSN: o.DSN} }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := jobOptions(filepath.Join(t.TempDir(), "runpolicy.db"), river.NewWorkers())
			tc.set(&o)
			s, err := Open(ctx, o)
			if err == nil {
				s.Close()
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Open: %v", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Fatalf("Open = %v, want %q", err, tc.want)
			}
		})
	}
	s, err := Open(ctx, Options{DSN: filepath.Join(t.TempDir(), "insert-only.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.AcceptDelivery(ctx, Delivery{ID: "d-1", Payload: []byte("{}"), ReceivedAt: time.Now()}, echoArgs{ID: "d-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LeaseDelivery(ctx, "d-1", "a"); err == nil || !strings.Contains(err.Error(), "without a job timeout") {
		t.Errorf("lease on a store without a job timeout = %v, want refused", err)
	}
}

func TestSQLiteFileServesOneProcess(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "one.db")
	s := open(t, dsn, nil)
	if _, err := Open(context.Background(), Options{DSN: dsn}); err == nil {
		t.Fatal("a second store opened the same SQLite file")
	}
	s.Close()
	again, err := Open(context.Background(), Options{DSN: dsn})
	if err != nil {
		t.Fatalf("reopen after close: %v", err)
	}
	again.Close()
}

// A process killed mid-job leaves it running; the next start hands it back.
func TestOrphanedJobsAreHandedBack(t *testing.T) {
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "orphans.db")
	s, err := Open(ctx, Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, echoArgs{ID: "x"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.exec(ctx, "UPDATE river_job SET state = 'running', attempt = 1, attempted_at = CURRENT_TIMESTAMP"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dsn, nil)
	depth, err := s.QueueDepth(ctx)
	if err != nil || depth["available"] != 1 || depth["running"] != 0 {
		t.Fatalf("QueueDepth after restart = %v, %v; want the job available again", depth, err)
	}
}

// waitQueued waits until the feeder queued n jobs.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if depth, err := s.QueueDepth(context.Background()); err == nil && depth["available"] >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%d jobs not queued in time", n)
}

func TestDeliveryLease(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, Options{DSN: dsn, JobTimeout: 200 * time.Millisecond, RescueAfter: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.AcceptDelivery(ctx, Delivery{ID: "d-1", Payload: []byte("{}"), ReceivedAt: time.Now()}, echoArgs{ID: "d-1"}); err != nil {
				t.Fatal(err)
			}
			resumed, err := s.LeaseDelivery(ctx, "d-1", "a")
			if err != nil || resumed {
				t.Fatalf("first lease = %v, %v; want a fresh lease", resumed, err)
			}
			if _, err := s.LeaseDelivery(ctx, "d-1", "b"); !errors.Is(err, ErrLeased) {
				t.Fatalf("second worker's lease: %v, want ErrLeased", err)
			}
			if err := s.ReleaseDelivery(ctx, "d-1", "b"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.LeaseDelivery(ctx, "d-1", "b"); !errors.Is(err, ErrLeased) {
				t.Fatal("a worker released a lease it does not hold")
			}
			if err := s.ReleaseDelivery(ctx, "d-1", "a"); err != nil {
				t.Fatal(err)
			}
			if resumed, err := s.LeaseDelivery(ctx, "d-1", "b"); err != nil || !resumed {
				t.Fatalf("lease after a release = %v, %v; want it, resuming a's work", resumed, err)
			}
			time.Sleep(300 * time.Millisecond) // past the job timeout: b died
			if resumed, err := s.LeaseDelivery(ctx, "d-1", "c"); err != nil || !resumed {
				t.Fatalf("lease after expiry = %v, %v; want it, resuming", resumed, err)
			}
			if _, err := s.LeaseDelivery(ctx, "nope", "c"); !errors.Is(err, ErrNotFound) {
				t.Errorf("lease of a missing delivery: %v, want ErrNotFound", err)
			}
		})
	}
}
