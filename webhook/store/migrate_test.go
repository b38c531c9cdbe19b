package store

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// A first start logs one line at info for all the migrations; River's
// per-migration lines only at debug. A second start logs none.
func TestMigrationsLogOneLine(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var buf bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
			s, err := Open(ctx, Options{DSN: dsn, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], `msg="database migrated"`) ||
				!strings.Contains(lines[0], "schema_from=0") || !strings.Contains(lines[0], "queue_migrations=") ||
				strings.Contains(lines[0], "queue_migrations=0") {
				t.Fatalf("first start logged at info:\n%s\nwant one database migrated line", buf.String())
			}

			buf.Reset()
			s, err = Open(ctx, Options{DSN: dsn, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			if buf.Len() != 0 {
				t.Errorf("second start logged at info:\n%s\nwant nothing", buf.String())
			}
		})
	}
}

func TestDemotedHandler(t *testing.T) {
	var buf bytes.Buffer
	h := demoted{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})}
	logger := slog.New(h).With("component", "queue")
	logger.Info("River migrator: Applied migration")
	logger.Warn("River migrator: slow")
	out := buf.String()
	if !strings.Contains(out, `level=DEBUG msg="River migrator: Applied migration" component=queue`) ||
		!strings.Contains(out, `level=WARN msg="River migrator: slow"`) {
		t.Errorf("demoted wrote:\n%s\nwant info at DEBUG and warn kept", out)
	}
	if (demoted{slog.NewTextHandler(&buf, nil)}).Enabled(context.Background(), slog.LevelInfo) {
		t.Error("info is enabled on an info handler after demotion to debug")
	}
}
