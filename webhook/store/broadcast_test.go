package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/test/pgtest"
)

// A broadcast from one replica reaches the subscribers of every replica,
// and a subscriber whose connection is killed listens again and is told it
// may have missed some.
func TestBroadcastReachesEveryReplica(t *testing.T) {
	_, dsn := pgtest.Database(t)
	ctx := context.Background()
	a, b := open(t, dsn, nil), open(t, dsn, nil)
	heard := map[string]chan string{"a": make(chan string, 10), "b": make(chan string, 10)}
	for name, s := range map[string]*Store{"a": a, "b": b} {
		stop := s.Subscribe("runpolicy_test", func(p string) { heard[name] <- p })
		t.Cleanup(stop)
	}
	expect := func(name, want string) {
		t.Helper()
		select {
		case got := <-heard[name]:
			if got != want {
				t.Fatalf("%s heard %q, want %q", name, got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s heard nothing, want %q", name, want)
		}
	}

	if err := b.Broadcast(ctx, "runpolicy_test", "acme/policies"); err != nil {
		t.Fatal(err)
	}
	expect("a", "acme/policies")
	expect("b", "acme/policies") // the sender's own subscribers too
	if err := a.Broadcast(ctx, "another_channel", "x"); err != nil {
		t.Fatal(err)
	}

	// Kill every other connection to the database: the listeners' among
	// them. Each listens again and says so with Resync.
	if _, err := b.pool.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"); err != nil {
		t.Fatal(err)
	}
	expect("a", Resync)
	expect("b", Resync)
	// The pools' connections were killed too: the next broadcast may meet
	// a dead one first, as a real outage would.
	var err error
	for range 5 {
		if err = a.Broadcast(ctx, "runpolicy_test", "after"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	expect("a", "after")
	expect("b", "after")
}

func TestBroadcastOnSQLiteDoesNothing(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "rp.db"), nil)
	stop := s.Subscribe("runpolicy_test", func(p string) { t.Errorf("heard %q on SQLite", p) })
	defer stop()
	if err := s.Broadcast(context.Background(), "runpolicy_test", "x"); err != nil {
		t.Fatal(err)
	}
}
