package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkAcceptDelivery is the store's part of acknowledging a
// delivery: save it and queue its processing.
func BenchmarkAcceptDelivery(b *testing.B) {
	for name, dsn := range map[string]string{"sqlite": filepath.Join(b.TempDir(), "bench.db")} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, Options{DSN: dsn})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			payload := make([]byte, 20<<10)
			i := 0
			for b.Loop() {
				i++
				d := Delivery{ID: fmt.Sprintf("d-%d", i), Event: "workflow_run", Action: "requested", Repository: "a/b",
					Payload: payload, ReceivedAt: time.Now()}
				if _, err := s.AcceptDelivery(ctx, d, echoArgs{ID: d.ID}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
