package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A replay evaluates recorded decisions' input documents with candidate
// policies (package replay). The replica that runs one records its
// progress here, so that any replica answers how far it got.

// States of a replay.
const (
	ReplayRunning = "running"
	ReplayDone    = "done"
	ReplayFailed  = "failed"
)

// Replay is one replay's record.
type Replay struct {
	ID    string
	State string
	// Request is what was asked (JSON, the replay package's Request).
	Request []byte
	// RequestedBy names who asked: a console user's login, "admin" for
	// the admin token.
	RequestedBy string
	// Worker is the process running it; UpdatedAt its last word. A
	// running replay whose worker stopped talking has lost its process.
	Worker      string
	Done, Total int
	// Result is the outcome (JSON, the replay package's Result), once done.
	Result     []byte
	Error      string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time
}

// CreateReplay records a replay as running.
func (s *Store) CreateReplay(ctx context.Context, r Replay) error {
	now := nanos(time.Now())
	_, err := s.exec(ctx, `INSERT INTO runpolicy_replay (id, state, request, requested_by, worker, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, r.ID, ReplayRunning, r.Request, r.RequestedBy, r.Worker, now, now)
	if err != nil {
		return fmt.Errorf("store: create replay %s: %w", r.ID, err)
	}
	return nil
}

// ReplayProgress records how many of a running replay's decisions are done.
func (s *Store) ReplayProgress(ctx context.Context, id string, done, total int) error {
	_, err := s.exec(ctx, "UPDATE runpolicy_replay SET done = ?, total = ?, updated_at = ? WHERE id = ? AND state = ?",
		done, total, nanos(time.Now()), id, ReplayRunning)
	if err != nil {
		return fmt.Errorf("store: replay %s progress: %w", id, err)
	}
	return nil
}

// FinishReplay records a replay's end: ReplayDone with its result, or
// ReplayFailed with why.
func (s *Store) FinishReplay(ctx context.Context, id, state string, result []byte, why string) error {
	now := nanos(time.Now())
	_, err := s.exec(ctx, `UPDATE runpolicy_replay SET state = ?, result = ?, error = ?, updated_at = ?, finished_at = ?
		WHERE id = ? AND state = ?`, state, result, why, now, now, id, ReplayRunning)
	if err != nil {
		return fmt.Errorf("store: finish replay %s: %w", id, err)
	}
	return nil
}

const replayColumns = "id, state, request, requested_by, worker, done, total, result, error, created_at, updated_at, finished_at"

func scanReplay(sc interface{ Scan(...any) error }) (Replay, error) {
	var r Replay
	var created, updated, finished int64
	err := sc.Scan(&r.ID, &r.State, &r.Request, &r.RequestedBy, &r.Worker, &r.Done, &r.Total, &r.Result, &r.Error,
		&created, &updated, &finished)
	r.CreatedAt, r.UpdatedAt, r.FinishedAt = fromNanos(created), fromNanos(updated), fromNanos(finished)
	return r, err
}

// Replay returns one replay's record.
func (s *Store) Replay(ctx context.Context, id string) (*Replay, error) {
	r, err := scanReplay(s.queryRow(ctx, "SELECT "+replayColumns+" FROM runpolicy_replay WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: replay %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: replay %s: %w", id, err)
	}
	return &r, nil
}

// Replays lists the latest replays, newest first, without their results.
func (s *Store) Replays(ctx context.Context, limit int) ([]Replay, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.query(ctx, `SELECT id, state, request, requested_by, worker, done, total, NULL, error,
		created_at, updated_at, finished_at FROM runpolicy_replay ORDER BY created_at DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: replays: %w", err)
	}
	defer rows.Close()
	var out []Replay
	for rows.Next() {
		r, err := scanReplay(rows)
		if err != nil {
			return nil, fmt.Errorf("store: replays: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CountEvaluations counts the decisions f selects (its cursors and limit
// ignored): the total a replay's progress is measured against.
func (s *Store) CountEvaluations(ctx context.Context, f EvaluationFilter) (int, error) {
	f.Before, f.After = nil, nil
	cond, args := f.where()
	var n int
	if err := s.queryRow(ctx, "SELECT count(*) FROM runpolicy_decision d WHERE "+cond, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count evaluations: %w", err)
	}
	return n, nil
}

// DecisionLogs returns the decisions f selects older than before (nil:
// from the newest), newest first, at most limit (at most 1000), with
// their log entries: what a replay evaluates again. next is the cursor of
// the following page, nil on the last. f's own cursors and limit are
// ignored.
func (s *Store) DecisionLogs(ctx context.Context, f EvaluationFilter, before *Cursor, limit int) (list []Decision, next *Cursor, err error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	f.Before, f.After = nil, nil
	cond, args := f.where()
	if before != nil {
		cond += " AND d.created_at <= ? AND (d.created_at < ? OR d.id < ?)"
		args = append(args, nanos(before.At), nanos(before.At), before.ID)
	}
	rows, err := s.query(ctx, "SELECT "+strings.ReplaceAll("d."+decisionColumns, ", ", ", d.")+
		" FROM runpolicy_decision d WHERE "+cond+" ORDER BY d.created_at DESC, d.id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, nil, fmt.Errorf("store: decision logs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, nil, fmt.Errorf("store: decision logs: %w", err)
		}
		list = append(list, d)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: decision logs: %w", err)
	}
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		next = &Cursor{At: last.CreatedAt, ID: last.ID}
	}
	return list, next, nil
}
