// Package store is runpolicy's durable state: the deliveries GitHub sent,
// the decisions made on them, which actions were taken on which run, the
// App's installations, and the River job queue that does the work.
//
// It runs on an embedded SQLite file (one process) or on Postgres (several
// replicas sharing the work). The same SQL serves both; only the column
// types and placeholders differ.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

// Options configures Open.
type Options struct {
	// DSN is "postgres://…" (or "postgresql://…") for Postgres; anything
	// else is an SQLite file path or "file:" URI.
	DSN string
	// Workers are the River workers this process runs. Nil makes an
	// insert-only store (no jobs are worked).
	Workers *river.Workers
	// PeriodicJobs are enqueued by the leader on their schedule.
	PeriodicJobs []*river.PeriodicJob
	// MaxWorkers, JobTimeout, RescueAfter and PollInterval shape the work
	// on jobs. They have no defaults here: a store that works jobs is given
	// them all (the server passes its configuration's, whose defaults live
	// in webhook.DefaultConfig), and Open refuses one without them. An
	// insert-only store leaves them zero, except JobTimeout for leases.
	//
	// MaxWorkers is how many jobs run at once in this process.
	MaxWorkers int
	// MaxAttempts is how often a job is tried before it is discarded; the
	// server passes its max_attempts (webhook.Config), 0 is River's default.
	MaxAttempts int
	// RetryPolicy decides when a failed job runs again (default River's).
	RetryPolicy river.ClientRetryPolicy
	// JobTimeout bounds one attempt of a job, and is how long a delivery
	// lease lasts (LeaseDelivery).
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay running before another
	// worker takes it over, as after a crash; longer than JobTimeout.
	// On Postgres every replica looks for such jobs every RescueAfter/10
	// (at most every 5s), so that a job a dead replica held is picked up
	// about RescueAfter after it started, not on the queue's own
	// 30-second rescue round.
	RescueAfter time.Duration
	// PollInterval is how often workers look for jobs they were not told
	// about; two looks are at least fetchCooldown apart.
	PollInterval time.Duration
	// ID names this process in the queue (default River's).
	ID string
	// Logger receives the queue's own logs (warnings and up).
	Logger *slog.Logger
	// DecisionRetention is how long decisions are kept; older ones are
	// pruned in the background by a periodic job (retention.go), when
	// Workers is set. Zero or less keeps them forever.
	DecisionRetention time.Duration
}

// Store is the database and the queue on top of it. It is safe for
// concurrent use.
type Store struct {
	db *sql.DB
	// ack takes the delivery inserts: on SQLite a connection of its own,
	// so that acknowledging does not queue behind the workers.
	ack     *sql.DB
	feeder  *feeder
	dialect dialect
	pool    *pgxpool.Pool // Postgres only
	// pg is the queue client on Postgres, where a delivery and its job are
	// saved in one transaction.
	pg *river.Client[pgx.Tx]
	// rescueAfter and stopRescuer run the Postgres rescuer (rescue.go).
	rescueAfter time.Duration
	// leaseFor is how long a delivery lease lasts: as long as a job may
	// run, and a little more.
	leaseFor    time.Duration
	stopRescuer func()
	lock        *os.File // SQLite only: held while the file is open
	// stopCheckpointer ends the SQLite background checkpoints.
	stopCheckpointer func()
	queue            queue
	logger           *slog.Logger
}

// queue is the part of a River client the store uses; both the SQLite and
// the Postgres client types satisfy it.
type queue interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// Open connects to the database, runs the schema migrations (River's and
// runpolicy's) and builds the queue client. It does not start working jobs.
func Open(ctx context.Context, o Options) (*Store, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{logger: o.Logger}
	if o.Workers != nil && o.DecisionRetention > 0 {
		if err := s.addPruning(&o); err != nil {
			return nil, err
		}
	}
	var err error
	if isPostgres(o.DSN) {
		err = s.openPostgres(ctx, o)
	} else {
		err = s.openSQLite(ctx, o)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	s.feeder = newFeeder(s.queue, s.logger)
	if o.Workers == nil {
		s.feeder.start() // an insert-only store is never started
	}
	s.rescueAfter = o.RescueAfter
	s.leaseFor = o.JobTimeout
	return s, nil
}

// fetchCooldown is the least time between two looks for jobs: short, so
// that a job enqueued right after another is not left waiting.
const fetchCooldown = 2 * time.Millisecond

// check refuses options a store cannot run with, in one line naming the
// option: a zero where a store that works jobs needs a value is a caller
// that forgot it, not a request for some default.
func (o Options) check() error {
	for _, d := range []struct {
		name string
		val  time.Duration
	}{{"job timeout", o.JobTimeout}, {"rescue after", o.RescueAfter}, {"poll interval", o.PollInterval}} {
		if d.val < 0 {
			return fmt.Errorf("store: %s %s: must not be negative", d.name, d.val)
		}
	}
	if o.Workers == nil {
		return nil
	}
	switch {
	case o.MaxWorkers < 1:
		return fmt.Errorf("store: max workers %d: a store that works jobs needs at least 1", o.MaxWorkers)
	case o.JobTimeout == 0:
		return errors.New("store: job timeout 0s: a store that works jobs needs one")
	case o.PollInterval == 0:
		return errors.New("store: poll interval 0s: a store that works jobs needs one")
	case o.RescueAfter <= o.JobTimeout:
		return fmt.Errorf("store: rescue after %s: must be longer than the job timeout %s", o.RescueAfter, o.JobTimeout)
	}
	return nil
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// riverConfig is the queue configuration shared by both drivers.
func riverConfig(o Options) *river.Config {
	cfg := &river.Config{
		ID:           o.ID,
		Logger:       slog.New(quiet{o.Logger.Handler()}).With("component", "queue"),
		MaxAttempts:  o.MaxAttempts,
		RetryPolicy:  o.RetryPolicy,
		PeriodicJobs: o.PeriodicJobs,
	}
	// An insert-only client works no job: the settings of the work are
	// the queue's own then, and unused.
	if o.Workers != nil {
		cfg.Workers = o.Workers
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.MaxWorkers}}
		cfg.JobTimeout = o.JobTimeout
		cfg.RescueStuckJobsAfter = o.RescueAfter
		cfg.FetchPollInterval = o.PollInterval
		cfg.FetchCooldown = min(fetchCooldown, o.PollInterval)
	}
	return cfg
}

// Backend names the database kind: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.dialect.name }

// Start works jobs until Stop.
func (s *Store) Start(ctx context.Context) error {
	if err := s.queue.Start(ctx); err != nil {
		return fmt.Errorf("start queue: %w", err)
	}
	s.feeder.start()
	if s.pg != nil {
		s.startRescuer(s.rescueAfter)
	}
	return nil
}

// Stop lets running jobs finish; when ctx ends first, it cancels them so
// that they are handed back to the queue and retried later.
func (s *Store) Stop(ctx context.Context) error {
	s.endRescuer()
	err := s.queue.Stop(ctx)
	if err == nil {
		return nil
	}
	s.logger.Warn("jobs did not finish in time, handing them back", "err", err)
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.queue.StopAndCancel(stopCtx)
}

// Close releases the database. Call Stop first when the queue was started.
func (s *Store) Close() error {
	s.endRescuer()
	if s.feeder != nil {
		s.feeder.close()
	}
	if s.stopCheckpointer != nil {
		s.stopCheckpointer()
		s.stopCheckpointer = nil
	}
	var err error
	if s.ack != nil && s.ack != s.db {
		err = s.ack.Close()
	}
	if s.db != nil {
		err = errors.Join(err, s.db.Close())
	}
	s.ack, s.db = nil, nil
	if s.pool != nil {
		s.pool.Close()
		s.pool = nil
	}
	if s.lock != nil {
		s.lock.Close() // releases the flock
		s.lock = nil
	}
	return err
}

// background runs fn on a goroutine of its own and returns stop, which
// cancels fn's context and waits for fn to return.
func background(fn func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Enqueue adds a job. Unique jobs (see river.UniqueOpts) that already exist
// are not added twice.
func (s *Store) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := s.queue.Insert(ctx, args, opts); err != nil {
		return fmt.Errorf("store: enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

// QueueDepth counts the jobs waiting or running, by River state.
func (s *Store) QueueDepth(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT state, count(*) FROM river_job
		WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled') GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("store: queue depth: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("store: queue depth: %w", err)
		}
		out[state] = n
	}
	return out, rows.Err()
}

// exec, query and queryRow run one statement written with ? placeholders.
func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, s.dialect.rebind(q), args...)
}

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.db.QueryContext(ctx, s.dialect.rebind(q), args...)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, s.dialect.rebind(q), args...)
}

// nanos and fromNanos store times as Unix nanoseconds, the same on both databases.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// quiet passes on the queue's warnings and errors only: its routine
// progress reports would drown the server's own lines.
type quiet struct{ slog.Handler }

func (q quiet) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && q.Handler.Enabled(ctx, l)
}

func (q quiet) WithAttrs(attrs []slog.Attr) slog.Handler { return quiet{q.Handler.WithAttrs(attrs)} }
func (q quiet) WithGroup(name string) slog.Handler       { return quiet{q.Handler.WithGroup(name)} }
