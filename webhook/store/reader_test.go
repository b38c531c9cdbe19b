package store

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A reader opens the database beside the server that holds it, and
// refuses what is not this binary's schema.
func TestOpenReader(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil) // the server, holding the SQLite file
			save(t, s, rec{id: "d1", repo: "acme/web", run: 1, at: time.Now(), uses: []string{"a/b@v1"}})
			r, err := OpenReader(ctx, dsn)
			if err != nil {
				t.Fatalf("OpenReader beside the server: %v", err)
			}
			defer r.Close()
			rows, _, err := r.Inventory(ctx, InventoryQuery{Scope: Scope{All: true}, Name: "a/b"})
			if err != nil || len(rows) != 1 {
				t.Errorf("reader's inventory = %v, %v", rows, err)
			}
		})
	}
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	if _, err := OpenReader(ctx, missing); err == nil || !strings.Contains(err.Error(), "missing.db") {
		t.Errorf("a missing file: %v", err)
	}
	foreign := filepath.Join(dir, "foreign.db")
	db, _ := sql.Open("sqlite", foreign)
	if _, err := db.Exec("CREATE TABLE x (y INTEGER)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := OpenReader(ctx, foreign); err == nil || !strings.Contains(err.Error(), "not a runpolicy database") {
		t.Errorf("a database of something else: %v", err)
	}
	old := filepath.Join(dir, "old.db")
	db, _ = sql.Open("sqlite", sqliteDSN(old, 1000))
	st := &Store{db: db, dialect: sqliteDialect, logger: slog.New(slog.DiscardHandler)}
	if _, _, err := st.migrateList(ctx, migrations[:2]); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := OpenReader(ctx, old); err == nil || !strings.Contains(err.Error(), "schema 2 is older") {
		t.Errorf("a database of schema 2: %v", err)
	}
}
