package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	db, err := openSQLiteDB(sqliteDSN(filepath.Join(t.TempDir(), "cache.db"), 10000))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := db.ExecContext(ctx, "INSERT INTO t (k, v) VALUES (?, ?)", i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}

	// The same statement again while its rows are open (in one transaction,
	// so on one connection) must not disturb the first iteration.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	const q = "SELECT k FROM t WHERE k >= ? ORDER BY k"
	outer, err := tx.QueryContext(ctx, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for outer.Next() {
		var k int
		if err := outer.Scan(&k); err != nil {
			t.Fatal(err)
		}
		got = append(got, k)
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM t WHERE k >= ?", k).Scan(&n); err != nil || n != 5-k {
			t.Fatalf("inner count from %d = %d, %v", k, n, err)
		}
		inner, err := tx.QueryContext(ctx, q, k)
		if err != nil {
			t.Fatal(err)
		}
		inner.Close()
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Fatalf("outer iteration = %v", got)
	}

	// More distinct statements than the cache holds: evicted ones are
	// closed and prepared again when needed.
	for i := range stmtCacheSize + 20 {
		var v string
		if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT v FROM t WHERE k = ? AND %d = %d", i, i), i%5).Scan(&v); err != nil || v != fmt.Sprint("v", i%5) {
			t.Fatalf("query %d = %q, %v", i, v, err)
		}
	}
	// A schema change under cached statements is picked up.
	if _, err := db.ExecContext(ctx, "ALTER TABLE t ADD COLUMN w TEXT DEFAULT 'x'"); err != nil {
		t.Fatal(err)
	}
	var w string
	if err := db.QueryRowContext(ctx, "SELECT w FROM t WHERE k = ?", 1).Scan(&w); err != nil || w != "x" {
		t.Fatalf("after ALTER: %q, %v", w, err)
	}
}
