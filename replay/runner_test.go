package replay

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// waitState polls a replay until it leaves running.
func waitState(t *testing.T, r *Runner, id string) *Status {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := r.Status(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != store.ReplayRunning {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("replay %s still running after 60s: %+v", id, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunner(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, dsn)
			t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
			rec := record(t, s, t0)
			p := Policies{OnlyConfigured: true}
			r := NewRunner(s, p, Options{Concurrency: 1}, "test-worker", nil)
			defer r.Close()

			id, err := r.Start(ctx, Request{Bundle: tarballOf(t, map[string]string{"no_checkout.rego": noCheckout}), Since: t0.Add(-time.Minute), Scope: store.Scope{All: true}}, "octocat")
			if err != nil {
				t.Fatal(err)
			}
			st := waitState(t, r, id)
			if st.State != store.ReplayDone || st.Result == nil || st.Result.NewlyDeniedRuns != rec.checkoutAllowed ||
				st.RequestedBy != "octocat" || st.Total == 0 || st.Done != st.Total || st.FinishedAt.IsZero() {
				t.Errorf("finished replay = %+v; want done with %d newly denied", st, rec.checkoutAllowed)
			}
			list, err := r.List(ctx, 10)
			if err != nil || len(list) != 1 || list[0].ID != id || list[0].Result != nil {
				t.Errorf("List = %+v, %v", list, err)
			}

			// A server takes no path for a candidate.
			if _, err := r.Start(ctx, Request{Policy: "/etc", Since: t0}, "admin"); err == nil || !strings.Contains(err.Error(), "want NAME@REF") {
				t.Errorf("replay of a local path on a server: %v; want refused", err)
			}
			if _, err := r.Start(ctx, Request{Bundle: []byte("x"), Replace: "org", Since: t0}, "admin"); err == nil ||
				!strings.Contains(err.Error(), `no configured bundle source named "org"`) {
				t.Errorf("upload replacing an unknown source: %v; want refused", err)
			}
			// An upload that is no bundle is refused at once, in one line.
			if _, err := r.Start(ctx, Request{Bundle: []byte("not a tarball"), Since: t0}, "admin"); err == nil ||
				!strings.HasPrefix(err.Error(), "replay: the uploaded bundle: not a .tar.gz bundle") || strings.Contains(err.Error(), "\n") {
				t.Errorf("replay of an upload that is no bundle: %v; want refused in one line", err)
			}
			// A bundle that does not compile fails the replay, with why.
			broken := tarballOf(t, map[string]string{"broken.rego": "package runpolicy.policies.broken\n\ndeny contains x if { x := undefined_function(1) }\n"})
			id, err = r.Start(ctx, Request{Bundle: broken, Since: t0}, "admin")
			if err != nil {
				t.Fatal(err)
			}
			if st := waitState(t, r, id); st.State != store.ReplayFailed || !strings.Contains(st.Error, "candidate") {
				t.Errorf("replay of a broken upload = %+v; want failed, saying why", st)
			}

			if _, err := r.Start(ctx, Request{Since: t0}, "admin"); !errors.Is(err, ErrRefused) {
				t.Errorf("a replay without a candidate: %v, want ErrRefused", err)
			}
			if _, err := r.Start(ctx, Request{Policy: "a@b", Since: time.Now().Add(time.Hour)}, "admin"); !errors.Is(err, ErrRefused) {
				t.Errorf("a replay of the future: %v, want ErrRefused", err)
			}
			for _, req := range []Request{{Policy: "/etc", Since: t0}, {Bundle: []byte("x"), Replace: "org", Since: t0}, {Bundle: []byte("not a tarball"), Since: t0}} {
				if _, err := r.Start(ctx, req, "admin"); !errors.Is(err, ErrRefused) {
					t.Errorf("Start(%+v): %v, want ErrRefused", req, err)
				}
			}
		})
	}
}

// Closing the runner stops a running replay and records it failed.
func TestRunnerClose(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir()+"/runpolicy.db")
	t0 := time.Now().Add(-time.Hour)
	record(t, s, t0)
	slow := `package runpolicy.policies.slow

deny contains {"message": "x"} if {
	count([1 | some i in numbers.range(1, 3000); some j in numbers.range(1, 3000)]) < 0
}
`
	r := NewRunner(s, Policies{}, Options{Concurrency: 1}, "w", nil)
	slowDir := bundleDir(t, map[string]string{"slow.rego": slow})
	id, err := r.Start(ctx, Request{Policy: slowDir, Since: t0.Add(-time.Minute), Scope: store.Scope{All: true}}, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(ctx, Request{Policy: slowDir, Since: t0}, "admin"); !errors.Is(err, ErrBusy) {
		t.Errorf("second Start while one runs = %v; want ErrBusy", err)
	}
	time.Sleep(300 * time.Millisecond)
	r.Close()
	st, err := r.Status(ctx, id)
	if err != nil || st.State != store.ReplayFailed || !strings.Contains(st.Error, "canceled") {
		t.Errorf("replay after Close = %+v, %v; want failed, cancelled", st, err)
	}
	if _, err := r.Start(ctx, Request{Policy: slowDir, Since: t0}, "admin"); err == nil || !strings.Contains(err.Error(), "stopping") {
		t.Errorf("Start after Close = %v; want refused", err)
	}
}

// A running replay whose process stopped answering is reported failed.
func TestStatusOfLostReplay(t *testing.T) {
	now := time.Now()
	rec := store.Replay{ID: "r", State: store.ReplayRunning, Request: []byte(`{"policy":"org@main","since":"2026-01-01T00:00:00Z"}`),
		Worker: "host-1", UpdatedAt: now.Add(-2 * silentFor)}
	st, err := statusOf(rec, now)
	if err != nil || st.State != store.ReplayFailed || !strings.Contains(st.Error, "host-1") || st.Request.Policy != "org@main" {
		t.Errorf("lost replay = %+v, %v; want failed, naming its worker", st, err)
	}
	rec.UpdatedAt = now.Add(-heartbeat)
	if st, _ := statusOf(rec, now); st.State != store.ReplayRunning {
		t.Errorf("a replay heard from %s ago = %s; want running", heartbeat, st.State)
	}
}

func tarballOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	out := t.TempDir() + "/b.tar.gz"
	if err := writeTarball(bundleDir(t, files), out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
