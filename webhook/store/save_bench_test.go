package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/replay/replaytest"
	"github.com/runpolicy/runpolicy/test/pgtest"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// BenchmarkSaveDecision is the store's part of recording a decision: the
// decision, its filter columns and policies, and the inventory rows of
// what the run used, in one transaction. The logs are the corpus
// workflows' real decisions; "bare" records the same decisions with an
// empty log, the cost before the inventory.
func BenchmarkSaveDecision(b *testing.B) {
	ctx := context.Background()
	eng, err := engine.New(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	facts, names, err := replaytest.Workflows("../../test/testdata/corpus/workflows")
	if err != nil {
		b.Fatal(err)
	}
	var logs []store.Decision
	for i, name := range names {
		r := replaytest.Run{Repository: "acme/web", ID: int64(i), At: time.Now()}
		d, err := replaytest.Decision(ctx, eng, "x", replaytest.Document(facts[name], name, r), r)
		if err != nil {
			b.Fatal(err)
		}
		logs = append(logs, d)
	}
	backends := map[string]string{"sqlite": filepath.Join(b.TempDir(), "b.db")}
	_, backends["postgres"] = pgtest.Database(b)
	for name, dsn := range backends {
		s, err := store.Open(ctx, store.Options{DSN: dsn})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		for _, mode := range []string{"inventory", "bare"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					d := logs[i%len(logs)]
					d.ID, d.DeliveryID, d.RunID = fmt.Sprintf("%s-%d", mode, i), fmt.Sprintf("del-%s-%d", mode, i), int64(i)
					d.Repository = fmt.Sprintf("acme/repo%d", i%100)
					if mode == "bare" {
						d.Log = []byte("{}")
					}
					if _, err := s.SaveDecision(ctx, d); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
