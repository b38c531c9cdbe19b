package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// dialect is what differs between SQLite and Postgres in runpolicy's SQL.
type dialect struct {
	name string
	// blob is the column type of raw bytes.
	blob string
	// dollar placeholders ($1, $2, …) instead of ?.
	dollar bool
	// jobArgs selects River's job arguments as JSON text (SQLite keeps
	// them in its binary JSON format).
	jobArgs string
}

var (
	sqliteDialect   = dialect{name: "sqlite", blob: "BLOB", jobArgs: "json(args)"}
	postgresDialect = dialect{name: "postgres", blob: "BYTEA", dollar: true, jobArgs: "args"}
)

// rebind rewrites ? placeholders for Postgres. runpolicy's statements have
// no ? inside string literals.
func (d dialect) rebind(q string) string {
	if !d.dollar || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// openSQLite opens the embedded database in WAL mode, where a commit does
// not wait for fsync. SQLite allows one writer at a time: the queue and the
// workers share one connection (as River recommends); delivery inserts and
// checkpoints each have another.
func (s *Store) openSQLite(ctx context.Context, o Options) error {
	if path := sqlitePath(o.DSN); path != "" {
		lock, err := lockFile(path + ".lock")
		if err != nil {
			return err
		}
		s.lock = lock
	}
	dsn := sqliteDSN(o.DSN, 10000)
	db, err := openSQLiteDB(dsn)
	if err != nil {
		return fmt.Errorf("store: open sqlite %s: %w", o.DSN, err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	s.db, s.dialect = db, sqliteDialect
	// Delivery inserts get a connection of their own. SQLite serializes
	// their writes with the queue's, which are short; its busy handler
	// would wait 1, 2, 5, 10 ms… for the lock, so this connection does not
	// wait (busy_timeout 0) and AcceptDelivery retries at a finer grain.
	if s.ack, err = openSQLiteDB(sqliteDSN(o.DSN, 0)); err != nil {
		return fmt.Errorf("store: open sqlite %s: %w", o.DSN, err)
	}
	s.ack.SetMaxOpenConns(1)
	if err := s.Ping(ctx); err != nil {
		return fmt.Errorf("store: open sqlite %s: %w", o.DSN, err)
	}
	driver := localDriver{riversqlite.New(db)}
	migrator, err := rivermigrate.New[*sql.Tx](driver, &rivermigrate.Config{Logger: slog.New(demoted{o.Logger.Handler()})})
	if err != nil {
		return fmt.Errorf("store: queue migrations: %w", err)
	}
	if err := migrateAll(ctx, s, migrator); err != nil {
		return err
	}
	if err := s.recoverOrphans(ctx); err != nil {
		return err
	}
	if err := s.startCheckpointer(dsn); err != nil {
		return err
	}
	client, err := river.NewClient[*sql.Tx](driver, riverConfig(o))
	if err != nil {
		return fmt.Errorf("store: queue client: %w", err)
	}
	s.queue = client
	return nil
}

// localDriver is River's SQLite driver without its notification outbox.
// That outbox is how several processes on one file would tell each other
// about new jobs, polled every 50 ms; but one process owns the file
// (lockFile), and without a listener River wakes its workers directly when
// this process inserts a job, which saves the outbox row and the wait.
type localDriver struct{ *riversqlite.Driver }

func (localDriver) SupportsListener() bool     { return false }
func (localDriver) SupportsListenNotify() bool { return false }

// recoverOrphans hands back the jobs a killed process left running, its
// leadership and its delivery leases. Only one process uses an SQLite file (lockFile sees to
// it), so whatever is running now has no worker; waiting for the queue's
// rescuer would delay them by its interval.
func (s *Store) recoverOrphans(ctx context.Context) error {
	res, err := s.db.ExecContext(ctx, "UPDATE river_job SET state = 'available' WHERE state = 'running'")
	if err != nil {
		return fmt.Errorf("store: recover jobs: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		s.logger.Warn("handed back jobs a previous process left running", "jobs", n)
	}
	if _, err := s.db.ExecContext(ctx, "DELETE FROM river_leader"); err != nil {
		return fmt.Errorf("store: recover leadership: %w", err)
	}
	// The workers that held deliveries are gone with the process.
	if _, err := s.db.ExecContext(ctx, "UPDATE runpolicy_delivery SET lease_until = 0 WHERE lease_until <> 0"); err != nil {
		return fmt.Errorf("store: recover delivery leases: %w", err)
	}
	return nil
}

// startCheckpointer copies the WAL into the database file every second on
// a connection of its own. A PASSIVE checkpoint runs beside the writer
// instead of holding it up, which keeps the fsync off the path that
// acknowledges deliveries.
func (s *Store) startCheckpointer(dsn string) error {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("store: checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	stop := background(func(ctx context.Context) {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				_, _ = db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
				return
			case <-tick.C:
				if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil && ctx.Err() == nil {
					s.logger.Warn("sqlite checkpoint failed", "err", err)
				}
			}
		}
	})
	s.stopCheckpointer = func() {
		stop()
		db.Close()
	}
	return nil
}

// sqlitePath is the file of an SQLite DSN, "" for an in-memory database.
func sqlitePath(dsn string) string {
	if dsn == "" {
		dsn = "runpolicy.db"
	}
	p := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if p == ":memory:" || p == "" {
		return ""
	}
	return p
}

// openSQLiteDB opens a pool whose connections cache prepared statements.
func openSQLiteDB(dsn string) (*sql.DB, error) {
	probe, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	drv := probe.Driver()
	probe.Close()
	return sql.OpenDB(cachingConnector{dsn: dsn, drv: drv}), nil
}

// sqliteDSN turns a path into a modernc.org/sqlite URI with the pragmas the
// queue needs and a busy timeout in milliseconds, keeping any the user gave.
func sqliteDSN(dsn string, busyMS int) string {
	if dsn == "" {
		dsn = "runpolicy.db"
	}
	if !strings.HasPrefix(dsn, "file:") {
		dsn = "file:" + dsn
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	// wal_autocheckpoint(0): the commit that crosses the threshold would
	// copy the WAL into the database and fsync while every writer waits;
	// a background connection checkpoints instead (startCheckpointer).
	busy := fmt.Sprintf("busy_timeout(%d)", busyMS)
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", busy, "foreign_keys(ON)", "wal_autocheckpoint(0)"} {
		name := p[:strings.IndexByte(p, '(')]
		if strings.Contains(dsn, "_pragma="+name) {
			continue
		}
		dsn += sep + "_pragma=" + p
		sep = "&"
	}
	return dsn
}

// migrateLockKey is the Postgres advisory lock that serializes migrations
// when several replicas start at once.
const migrateLockKey int64 = 0x72756e706f6c6963 // "runpolic"

func (s *Store) openPostgres(ctx context.Context, o Options) error {
	cfg, err := pgxpool.ParseConfig(o.DSN)
	if err != nil {
		return fmt.Errorf("store: database: %w", err)
	}
	if cfg.MaxConns < int32(o.MaxWorkers)+4 {
		cfg.MaxConns = int32(o.MaxWorkers) + 4
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("store: connect postgres: %w", err)
	}
	s.pool = pool
	s.db = stdlib.OpenDBFromPool(pool)
	s.ack = s.db
	s.dialect = postgresDialect
	if err := s.Ping(ctx); err != nil {
		return err
	}
	driver := riverpgxv5.New(pool)
	err = withAdvisoryLock(ctx, pool, migrateLockKey, func() error {
		migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: slog.New(demoted{o.Logger.Handler()})})
		if err != nil {
			return fmt.Errorf("store: queue migrations: %w", err)
		}
		return migrateAll(ctx, s, migrator)
	})
	if err != nil {
		return err
	}
	client, err := river.NewClient(driver, riverConfig(o))
	if err != nil {
		return fmt.Errorf("store: queue client: %w", err)
	}
	s.queue, s.pg = client, client
	return nil
}

// withAdvisoryLock runs fn while holding a session advisory lock on one
// connection, so that only one replica migrates at a time; the others wait
// and then find nothing left to do.
func withAdvisoryLock(ctx context.Context, pool *pgxpool.Pool, key int64, fn func() error) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("store: migration lock: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("store: migration lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must be released even when ctx ended.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key)
	}()
	return fn()
}
