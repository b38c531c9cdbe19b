package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// Decisions are kept for Options.DecisionRetention, then pruned in the
// background: a periodic job (the queue leader enqueues it, so one replica
// prunes) deletes what is older in bounded batches, each its own short
// transaction, so that neither SQLite's one writer nor Postgres's locks are
// held for long. With a decision go the policies that fired in it, and
// with the same cutoff the deliveries that finished processing, the
// actions taken on runs and the replays. The inventory stays: it is the
// summary that outlives them.

// PruneBatch is how many decisions one pruning transaction deletes.
const PruneBatch = 1000

// pruneEvery is how often the leader enqueues the pruning job.
const pruneEvery = time.Hour

// pruneArgs is the periodic pruning job.
type pruneArgs struct{}

func (pruneArgs) Kind() string { return "runpolicy_prune" }

type pruneWorker struct {
	river.WorkerDefaults[pruneArgs]
	s      *Store
	retain time.Duration
}

// Work prunes for at most half the job's time; when more is left it
// snoozes for a second and goes on, so that a large backlog (retention
// shortened, a long stop) is worked off in steps no rescuer mistakes for
// a stuck job.
func (w *pruneWorker) Work(ctx context.Context, job *river.Job[pruneArgs]) error {
	ctx, cancel := context.WithTimeout(ctx, w.s.leaseFor/2)
	defer cancel()
	n, more, err := w.s.Prune(ctx, time.Now().Add(-w.retain))
	if n.Total() > 0 {
		w.s.logger.Info("pruned decisions older than decision_retention", "retention", w.retain.String(),
			"decisions", n.Decisions, "deliveries", n.Deliveries, "run_actions", n.RunActions, "replays", n.Replays)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return river.JobSnooze(time.Second) // out of this step's time: the next goes on
	case err != nil:
		return err
	case more:
		return river.JobSnooze(time.Second)
	}
	return nil
}

// addPruning registers the pruning worker and its periodic job.
func (s *Store) addPruning(o *Options) error {
	if err := river.AddWorkerSafely(o.Workers, &pruneWorker{s: s, retain: o.DecisionRetention}); err != nil {
		return fmt.Errorf("store: pruning worker: %w", err)
	}
	o.PeriodicJobs = append(o.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(pruneEvery),
		func() (river.JobArgs, *river.InsertOpts) {
			return pruneArgs{}, &river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: pruneEvery}}
		},
		&river.PeriodicJobOpts{RunOnStart: true, ID: "prune"}))
	return nil
}

// Pruned counts what one Prune deleted.
type Pruned struct {
	Decisions, Deliveries, RunActions, Replays int64
}

// Total is everything deleted.
func (p Pruned) Total() int64 { return p.Decisions + p.Deliveries + p.RunActions + p.Replays }

// maxPruneBatches bounds one Prune call; more says whether it stopped there.
const maxPruneBatches = 1000

// Prune deletes the decisions made before cutoff, with the policies that
// fired in them, and the finished deliveries, run actions and finished
// replays from before it, PruneBatch rows per transaction, until none is
// left (more false) or ctx ends. It stops after maxPruneBatches batches of
// each table, with more true.
func (s *Store) Prune(ctx context.Context, cutoff time.Time) (n Pruned, more bool, err error) {
	at := nanos(cutoff)
	steps := []struct {
		count *int64
		batch func(ctx context.Context) (int64, error)
	}{
		{&n.Decisions, func(ctx context.Context) (int64, error) { return s.pruneDecisions(ctx, at) }},
		{&n.Deliveries, func(ctx context.Context) (int64, error) {
			return s.pruneRows(ctx, `DELETE FROM runpolicy_delivery WHERE id IN (SELECT id FROM runpolicy_delivery
				WHERE received_at < ? AND state <> ? LIMIT ?)`, at, DeliveryReceived, PruneBatch)
		}},
		{&n.RunActions, func(ctx context.Context) (int64, error) {
			return s.pruneRows(ctx, `DELETE FROM runpolicy_run_action WHERE (repository, run_id, run_attempt, action) IN (
				SELECT repository, run_id, run_attempt, action FROM runpolicy_run_action WHERE created_at < ? LIMIT ?)`,
				at, PruneBatch)
		}},
		{&n.Replays, func(ctx context.Context) (int64, error) {
			return s.pruneRows(ctx, `DELETE FROM runpolicy_replay WHERE id IN (SELECT id FROM runpolicy_replay
				WHERE created_at < ? AND state <> ? LIMIT ?)`, at, ReplayRunning, PruneBatch)
		}},
	}
	for _, step := range steps {
		for i := 0; ; i++ {
			if i == maxPruneBatches {
				return n, true, nil
			}
			if err := ctx.Err(); err != nil {
				return n, true, fmt.Errorf("store: prune: %w", err)
			}
			deleted, err := step.batch(ctx)
			*step.count += deleted
			if err != nil {
				return n, true, fmt.Errorf("store: prune: %w", err)
			}
			if deleted < PruneBatch {
				break
			}
		}
	}
	return n, false, nil
}

// pruneDecisions deletes one batch of decisions older than at, oldest
// first, with their policies, in one transaction.
func (s *Store) pruneDecisions(ctx context.Context, at int64) (int64, error) {
	rows, err := s.query(ctx, "SELECT id FROM runpolicy_decision WHERE created_at < ? ORDER BY created_at LIMIT ?", at, PruneBatch)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return 0, err
	}
	in := placeholders(1, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, s.dialect.rebind("DELETE FROM runpolicy_decision_policy WHERE decision_id IN "+in), args...); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, s.dialect.rebind("DELETE FROM runpolicy_decision WHERE id IN "+in), args...)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// pruneRows runs one batched DELETE and returns the rows it deleted.
func (s *Store) pruneRows(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
