package replay

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/replay/replaytest"
	"github.com/runpolicy/runpolicy/test/pgtest"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// BenchmarkReplay10k replays 10,000 recorded runs (the corpus workflows'
// real input documents, judged by the built-in policies, recorded as the
// server records them) with a candidate that adds a policy, on
// GOMAXPROCS evaluations at once. The target is under a minute on 2
// cores. It runs only with -bench; loading takes about a minute.
//
//	go test -run '^$' -bench Replay10k -benchtime 3x ./replay/
func BenchmarkReplay10k(b *testing.B) {
	const runs = 10_000
	ctx := context.Background()
	eng := builtin(b)
	facts, names, err := replaytest.Workflows(corpus)
	if err != nil {
		b.Fatal(err)
	}
	// Judge each workflow once; its runs share the verdict.
	type judged struct {
		doc    *input.Document
		result *engine.Decision
	}
	var set []judged
	for _, name := range names {
		doc := replaytest.Document(facts[name], name, replaytest.Run{Repository: "acme/x", ID: 1})
		res, err := eng.Eval(ctx, doc)
		if err != nil {
			b.Fatal(err)
		}
		set = append(set, judged{doc, res})
	}
	_, pg := pgtest.Database(b)
	candidate, err := Policies{}.Candidate(ctx, bundleDir(b, map[string]string{"no_checkout.rego": noCheckout}))
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now().Add(-7 * 24 * time.Hour)
	for _, backend := range []struct{ name, dsn string }{{"postgres", pg}, {"sqlite", filepath.Join(b.TempDir(), "r.db")}} {
		b.Run(backend.name, func(b *testing.B) {
			s := openStore(b, backend.dsn)
			begin := time.Now()
			for i := range runs {
				j := set[i%len(set)]
				r := replaytest.Run{Repository: fmt.Sprintf("acme/repo%02d", i%50), ID: int64(i + 1), At: t0.Add(time.Duration(i) * time.Minute)}
				doc := *j.doc
				doc.Repository.FullName, doc.Run.ID = r.Repository, r.ID
				d, err := replaytest.Recorded(fmt.Sprintf("d%05d", i), &doc, j.result, r)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.SaveDecision(ctx, d); err != nil {
					b.Fatal(err)
				}
			}
			b.Logf("recorded %d decisions in %s", runs, time.Since(begin).Round(time.Second))
			req := Request{Since: t0.Add(-time.Minute), Until: time.Now(), Scope: store.Scope{All: true}}
			var res *Result
			cpu0 := cpuTime()
			for b.Loop() {
				if res, err = Run(ctx, s, candidate, req, Options{Concurrency: runtime.GOMAXPROCS(0)}); err != nil {
					b.Fatal(err)
				}
			}
			if res.Runs != runs || res.NewlyDeniedRuns == 0 {
				b.Fatalf("replayed %d runs, %d newly denied; want %d runs, some newly denied", res.Runs, res.NewlyDeniedRuns, runs)
			}
			b.ReportMetric(float64(runs)/(float64(b.Elapsed())/float64(b.N)/float64(time.Second)), "runs/s")
			// CPU time is steadier than wall time on a shared machine; on
			// SQLite it includes the database's work, on Postgres not.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/float64(time.Second), "cpu-s/op")
		})
	}
}
