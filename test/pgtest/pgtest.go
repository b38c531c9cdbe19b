// Package pgtest gives each test a PostgreSQL database of its own on the
// server RUNPOLICY_TEST_POSTGRES names (default: trust auth on
// 127.0.0.1:5432, database test). A database per test keeps replicas,
// queues, notifications and terminated connections of one test away from
// every other, and it is dropped when the test ends.
//
// When the server does not answer, tests that need it are skipped, unless
// RUNPOLICY_REQUIRE_POSTGRES is set: then they fail, so that CI, which sets
// it, never passes by skipping.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the server the tests use when RUNPOLICY_TEST_POSTGRES is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// URL is the administrative connection string: RUNPOLICY_TEST_POSTGRES or
// DefaultURL.
func URL() string {
	if u := os.Getenv("RUNPOLICY_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultURL
}

// Required reports whether tests must fail rather than skip when the
// server does not answer (RUNPOLICY_REQUIRE_POSTGRES set, as in CI).
func Required() bool { return os.Getenv("RUNPOLICY_REQUIRE_POSTGRES") != "" }

// Database creates an empty database and returns its name and a DSN that
// connects to it. It is dropped, with any connection left to it, when the
// test ends.
func Database(t testing.TB) (name, dsn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, URL())
	if err != nil {
		if Required() {
			t.Fatalf("postgres not reachable and RUNPOLICY_REQUIRE_POSTGRES is set: %v", err)
		}
		t.Skipf("postgres not reachable at %s (RUNPOLICY_REQUIRE_POSTGRES=1 makes this fail): %v", URL(), err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name = "rp_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, URL())
		if err != nil {
			t.Logf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	dsn, err = WithDatabase(URL(), name)
	if err != nil {
		t.Fatal(err)
	}
	return name, dsn
}

// WithDatabase returns dsn connecting to another database.
func WithDatabase(dsn, database string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("postgres URL: %w", err)
	}
	u.Path = "/" + database
	return u.String(), nil
}

// WithHost returns dsn connecting through another host:port (a proxy).
func WithHost(dsn, hostPort string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("postgres URL: %w", err)
	}
	u.Host = hostPort
	return u.String(), nil
}

// Exec runs one statement on dsn.
func Exec(ctx context.Context, dsn, sql string, args ...any) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, sql, args...)
	return err
}

// QueryRow runs one query on dsn and scans its row into dest.
func QueryRow(ctx context.Context, dsn, sql string, args []any, dest ...any) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	return c.QueryRow(ctx, sql, args...).Scan(dest...)
}
