package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/riverqueue/river"
)

func count(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Pruning deletes what is older than the cutoff in batches, with the
// policies, finished deliveries, run actions and finished replays of the
// same age, and leaves the inventory whole.
func TestPrune(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil)
			now := time.Now()
			old, recent := now.Add(-100*24*time.Hour), now.Add(-time.Hour)
			n := PruneBatch + 7 // more than a batch
			for i := range n {
				save(t, s, rec{id: fmt.Sprintf("old-%04d", i), repo: "acme/web", workflow: "ci.yml", run: int64(i), at: old,
					uses: []string{fmt.Sprintf("a/b%d@v1", i%3)}, findings: []finding{{"p", "dry_run"}}})
			}
			save(t, s, rec{id: "new", repo: "acme/web", workflow: "ci.yml", run: 99999, at: recent,
				uses: []string{"a/b0@v1"}, findings: []finding{{"p", "dry_run"}}})
			for _, d := range []struct {
				id    string
				at    time.Time
				state string
			}{{"d-old", old, DeliveryProcessed}, {"d-old-failed", old, DeliveryFailed}, {"d-old-waiting", old, DeliveryReceived}, {"d-new", recent, DeliveryProcessed}} {
				if _, err := s.exec(ctx, insertDelivery, d.id, "workflow_run", "requested", 1, "acme/web", []byte("{}"), nanos(d.at), d.state); err != nil {
					t.Fatal(err)
				}
			}
			for _, a := range []struct {
				run int64
				at  time.Time
			}{{1, old}, {2, recent}} {
				if _, err := s.exec(ctx, `INSERT INTO runpolicy_run_action (repository, run_id, run_attempt, action, owner, created_at)
					VALUES ('acme/web', ?, 1, 'cancel', 'x', ?)`, a.run, nanos(a.at)); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range []string{"old-done", "old-running"} {
				if err := s.CreateReplay(ctx, Replay{ID: id, Request: []byte("{}"), RequestedBy: "admin", Worker: "w"}); err != nil {
					t.Fatal(err)
				}
				if _, err := s.exec(ctx, "UPDATE runpolicy_replay SET created_at = ? WHERE id = ?", nanos(old), id); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.FinishReplay(ctx, "old-done", ReplayDone, []byte("{}"), ""); err != nil {
				t.Fatal(err)
			}
			inventoryBefore := inventory(t, s, InventoryQuery{Scope: Scope{All: true}, Repository: "acme/web"})

			got, more, err := s.Prune(ctx, now.Add(-90*24*time.Hour))
			if err != nil || more {
				t.Fatalf("Prune = %+v, more %v, %v", got, more, err)
			}
			want := Pruned{Decisions: int64(n), Deliveries: 2, RunActions: 1, Replays: 1}
			if got != want {
				t.Errorf("Prune = %+v; want %+v", got, want)
			}
			if c := count(t, s, "runpolicy_decision"); c != 1 {
				t.Errorf("%d decisions left; want the recent one", c)
			}
			if c := count(t, s, "runpolicy_decision_policy"); c != 1 {
				t.Errorf("%d policy rows left; want the recent decision's", c)
			}
			if _, err := s.Delivery(ctx, "d-old-waiting"); err != nil {
				t.Errorf("a delivery still waiting to be processed was pruned: %v", err)
			}
			if _, err := s.Replay(ctx, "old-running"); err != nil {
				t.Errorf("a running replay was pruned: %v", err)
			}
			if after := inventory(t, s, InventoryQuery{Scope: Scope{All: true}, Repository: "acme/web"}); !slices.Equal(after, inventoryBefore) {
				t.Errorf("inventory after pruning:\n%v\nwant it whole:\n%v", after, inventoryBefore)
			}
			page, err := s.Evaluations(ctx, EvaluationFilter{Scope: Scope{All: true}, Policy: "p"})
			if err != nil || !slices.Equal(ids(page.Evaluations), []string{"new"}) {
				t.Errorf("evaluations after pruning = %v, %v; want [new]", ids(page.Evaluations), err)
			}
		})
	}
}

// With a retention and workers, the queue prunes on its own: the periodic
// job runs when the queue starts.
func TestPruneJobRuns(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			o := jobOptions(dsn, river.NewWorkers())
			o.DecisionRetention = 24 * time.Hour
			s, err := Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			save(t, s, rec{id: "old", repo: "acme/web", run: 1, at: time.Now().Add(-48 * time.Hour), uses: []string{"a/b@v1"}},
				rec{id: "new", repo: "acme/web", run: 2, at: time.Now()})
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer s.Stop(ctx)
			deadline := time.Now().Add(20 * time.Second)
			for count(t, s, "runpolicy_decision") != 1 {
				if time.Now().After(deadline) {
					t.Fatalf("%d decisions after 20s; want the old one pruned", count(t, s, "runpolicy_decision"))
				}
				time.Sleep(50 * time.Millisecond)
			}
			if _, _, err := s.Evaluation(ctx, Scope{All: true}, "new"); err != nil {
				t.Errorf("the recent decision: %v", err)
			}
			if c := count(t, s, "runpolicy_inventory"); c != 1 {
				t.Errorf("%d inventory rows; want the pruned decision's to stay", c)
			}
		})
	}
}

// A database of schema 2 gets the migrations after it: its decisions keep
// their place in the lists, by organization and outcome.
func TestMigrationFromSchema2(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			driver, source := "sqlite", sqliteDSN(dsn, 1000)
			d := sqliteDialect
			if isPostgres(dsn) {
				driver, source, d = "pgx", dsn, postgresDialect
			}
			db, err := sql.Open(driver, source)
			if err != nil {
				t.Fatal(err)
			}
			old := &Store{db: db, dialect: d, logger: slog.New(slog.DiscardHandler)}
			if _, to, err := old.migrateList(ctx, migrations[:2]); err != nil || to != 2 {
				t.Fatalf("schema 2: %d, %v", to, err)
			}
			if _, err := old.exec(ctx, `INSERT INTO runpolicy_decision
				(id, delivery_id, event, repository, run_id, run_attempt, outcome, cancel, created_at, log)
				VALUES ('before', 'del', 'workflow_run', 'acme/web', 1, 1, 'deny', 1, 5, ?)`, []byte("{}")); err != nil {
				t.Fatal(err)
			}
			db.Close()

			s := open(t, dsn, nil)
			page, err := s.Evaluations(ctx, EvaluationFilter{Scope: Scope{All: true}, Organization: "acme", Outcome: OutcomeDeny})
			if err != nil || len(page.Evaluations) != 1 || page.Evaluations[0].ID != "before" || page.Evaluations[0].Repository != "acme/web" {
				t.Fatalf("after migration 3: %+v, %v; want the decision made before", page.Evaluations, err)
			}
		})
	}
}

func TestReplayRecords(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil)
			if err := s.CreateReplay(ctx, Replay{ID: "r1", Request: []byte(`{"since":"7d"}`), RequestedBy: "octocat", Worker: "w1"}); err != nil {
				t.Fatal(err)
			}
			if err := s.ReplayProgress(ctx, "r1", 5, 10); err != nil {
				t.Fatal(err)
			}
			r, err := s.Replay(ctx, "r1")
			if err != nil || r.State != ReplayRunning || r.Done != 5 || r.Total != 10 || r.RequestedBy != "octocat" || r.Result != nil {
				t.Fatalf("running replay = %+v, %v", r, err)
			}
			if err := s.FinishReplay(ctx, "r1", ReplayDone, []byte(`{"runs":10}`), ""); err != nil {
				t.Fatal(err)
			}
			// A finished replay takes no more progress and no second end.
			_ = s.ReplayProgress(ctx, "r1", 1, 10)
			_ = s.FinishReplay(ctx, "r1", ReplayFailed, nil, "late")
			r, err = s.Replay(ctx, "r1")
			if err != nil || r.State != ReplayDone || r.Done != 5 || string(r.Result) != `{"runs":10}` || r.FinishedAt.IsZero() {
				t.Fatalf("finished replay = %+v, %v", r, err)
			}
			list, err := s.Replays(ctx, 10)
			if err != nil || len(list) != 1 || list[0].ID != "r1" || list[0].Result != nil {
				t.Fatalf("Replays = %+v, %v", list, err)
			}
			if _, err := s.Replay(ctx, "nope"); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown replay: %v; want ErrNotFound", err)
			}
		})
	}
}
