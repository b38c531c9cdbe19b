package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// RunKey names one attempt of one workflow run: the unit runpolicy acts
// on once, however many deliveries mention it.
type RunKey struct {
	Repository string
	RunID      int64
	Attempt    int
}

func (k RunKey) String() string {
	return fmt.Sprintf("%s run %d attempt %d", k.Repository, k.RunID, k.Attempt)
}

// Action is one thing done to a run attempt at most once: "cancel",
// "force_cancel", "check_run", "comment:<pr number>". It is done only when
// GitHub confirmed it: until then its owner finishes it or hands it back.
type Action struct {
	Key  RunKey
	Name string
	// Owner is the decision whose processing performs the action; only it
	// may complete it. "" when its owner handed it back unfinished: the
	// next decision that needs it takes it over (TakeOver).
	Owner string
	// Level orders reports: a later decision that must say more (a cancel
	// after a dry-run report) raises it and updates what was created.
	Level int
	// RaisedBy is the decision that raised the action last, whose report
	// what was created now shows; "" when none did (Shows).
	RaisedBy string
	// Ref identifies what was created on GitHub (check run or comment id)
	// or how it ended (for cancel).
	Ref       string
	CreatedAt time.Time
	DoneAt    time.Time
	// Fresh says this Claim call made the owner responsible and nothing
	// was tried yet. An action its owner finds neither fresh nor done may
	// have been done on GitHub by an earlier try that did not record it.
	Fresh bool
}

// Done reports whether the owner completed the action.
func (a Action) Done() bool { return !a.DoneAt.IsZero() }

// Shows names the decision whose report the action's check run or comment
// shows now: the one that raised it last, else its owner.
func (a Action) Shows() string {
	if a.RaisedBy != "" {
		return a.RaisedBy
	}
	return a.Owner
}

// Claim makes owner responsible for an action on a run attempt unless
// another decision already is, and returns the action on record. The
// caller performs it when the returned Owner is itself and it is not Done.
func (s *Store) Claim(ctx context.Context, key RunKey, name, owner string, level int) (Action, error) {
	res, err := s.exec(ctx, `INSERT INTO runpolicy_run_action
		(repository, run_id, run_attempt, action, owner, level, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		key.Repository, key.RunID, key.Attempt, name, owner, level, time.Now().UnixNano())
	if err != nil {
		return Action{}, fmt.Errorf("store: claim %s on %s: %w", name, key, err)
	}
	inserted, err := res.RowsAffected()
	if err != nil {
		return Action{}, fmt.Errorf("store: claim %s on %s: %w", name, key, err)
	}
	a, err := s.Action(ctx, key, name)
	a.Fresh = err == nil && inserted == 1 && a.Owner == owner
	return a, err
}

// TakeOver makes owner responsible for an unfinished action that from
// owned (from is "" for one handed back), at owner's level, and reports
// whether this call did it: of several callers exactly one wins.
func (s *Store) TakeOver(ctx context.Context, key RunKey, name, from, owner string, level int) (bool, error) {
	res, err := s.exec(ctx, `UPDATE runpolicy_run_action SET owner = ?, level = ?
		WHERE repository = ? AND run_id = ? AND run_attempt = ? AND action = ? AND owner = ? AND done_at = 0`,
		owner, level, key.Repository, key.RunID, key.Attempt, name, from)
	if err != nil {
		return false, fmt.Errorf("store: take over %s on %s: %w", name, key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: take over %s on %s: %w", name, key, err)
	}
	return n == 1, nil
}

// HandBack gives up the unfinished actions of the decision made for a
// delivery whose processing gave up, so that the next decision of the run
// attempt that needs them does them. It returns how many it handed back.
func (s *Store) HandBack(ctx context.Context, deliveryID string) (int64, error) {
	res, err := s.exec(ctx, `UPDATE runpolicy_run_action SET owner = ''
		WHERE done_at = 0 AND owner IN (SELECT id FROM runpolicy_decision WHERE delivery_id = ?)`, deliveryID)
	if err != nil {
		return 0, fmt.Errorf("store: hand back actions of delivery %s: %w", deliveryID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: hand back actions of delivery %s: %w", deliveryID, err)
	}
	return n, nil
}

// HandedBack reports whether an action of a run attempt waits, handed
// back, for a decision to take it over.
func (s *Store) HandedBack(ctx context.Context, key RunKey) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT count(*) FROM runpolicy_run_action
		WHERE repository = ? AND run_id = ? AND run_attempt = ? AND owner = '' AND done_at = 0`,
		key.Repository, key.RunID, key.Attempt).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: actions of %s: %w", key, err)
	}
	return n > 0, nil
}

// Action returns the record of an action on a run attempt.
func (s *Store) Action(ctx context.Context, key RunKey, name string) (Action, error) {
	a := Action{Key: key, Name: name}
	var created, done int64
	err := s.queryRow(ctx, `SELECT owner, level, raised_by, ref, created_at, done_at FROM runpolicy_run_action
		WHERE repository = ? AND run_id = ? AND run_attempt = ? AND action = ?`,
		key.Repository, key.RunID, key.Attempt, name).Scan(&a.Owner, &a.Level, &a.RaisedBy, &a.Ref, &created, &done)
	if errors.Is(err, sql.ErrNoRows) {
		return Action{}, fmt.Errorf("store: %s on %s: %w", name, key, ErrNotFound)
	}
	if err != nil {
		return Action{}, fmt.Errorf("store: %s on %s: %w", name, key, err)
	}
	a.CreatedAt, a.DoneAt = fromNanos(created), fromNanos(done)
	return a, nil
}

// SetRef records what the owner created before the action is complete, so
// that a retry after a crash updates it instead of creating another.
func (s *Store) SetRef(ctx context.Context, key RunKey, name, owner, ref string) error {
	_, err := s.exec(ctx, `UPDATE runpolicy_run_action SET ref = ?
		WHERE repository = ? AND run_id = ? AND run_attempt = ? AND action = ? AND owner = ?`,
		ref, key.Repository, key.RunID, key.Attempt, name, owner)
	if err != nil {
		return fmt.Errorf("store: record %s on %s: %w", name, key, err)
	}
	return nil
}

// Complete marks the owner's action done, with ref saying what it made.
func (s *Store) Complete(ctx context.Context, key RunKey, name, owner, ref string) error {
	_, err := s.exec(ctx, `UPDATE runpolicy_run_action SET ref = ?, done_at = ?
		WHERE repository = ? AND run_id = ? AND run_attempt = ? AND action = ? AND owner = ?`,
		ref, time.Now().UnixNano(), key.Repository, key.RunID, key.Attempt, name, owner)
	if err != nil {
		return fmt.Errorf("store: complete %s on %s: %w", name, key, err)
	}
	return nil
}

// Mark records ref on an action whoever writes it, the last write
// winning: what a pull request's one comment shows now, which every run of
// the pull request changes. It creates the action, done, when there is
// none, and dates it from the write, so that retention prunes it only
// once no run has written it for that long.
func (s *Store) Mark(ctx context.Context, key RunKey, name, owner, ref string) error {
	now := time.Now().UnixNano()
	_, err := s.exec(ctx, `INSERT INTO runpolicy_run_action
		(repository, run_id, run_attempt, action, owner, level, ref, created_at, done_at)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)
		ON CONFLICT (repository, run_id, run_attempt, action) DO UPDATE
		SET owner = excluded.owner, raised_by = '', ref = excluded.ref, created_at = excluded.created_at, done_at = excluded.done_at`,
		key.Repository, key.RunID, key.Attempt, name, owner, ref, now, now)
	if err != nil {
		return fmt.Errorf("store: mark %s on %s: %w", name, key, err)
	}
	return nil
}

// Raise lifts a completed action's level to level for decision by, which
// updated what was created to its report, and reports whether this call
// did it: exactly one caller wins. The action then shows by's report
// (Shows), which is what a click on the check run acts on.
func (s *Store) Raise(ctx context.Context, key RunKey, name, by string, level int) (bool, error) {
	res, err := s.exec(ctx, `UPDATE runpolicy_run_action SET level = ?, raised_by = ?
		WHERE repository = ? AND run_id = ? AND run_attempt = ? AND action = ? AND level < ? AND done_at <> 0`,
		level, by, key.Repository, key.RunID, key.Attempt, name, level)
	if err != nil {
		return false, fmt.Errorf("store: raise %s on %s: %w", name, key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: raise %s on %s: %w", name, key, err)
	}
	return n == 1, nil
}
