package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Outcomes of a decision.
const (
	OutcomeAllow = "allow" // no enforced violation
	OutcomeDeny  = "deny"  // an enforced violation
	OutcomeError = "error" // the run could not be judged; on_error decided
)

// Decision is one judgment of one delivery.
type Decision struct {
	ID         string
	DeliveryID string
	Event      string
	Repository string
	RunID      int64
	RunAttempt int
	Outcome    string
	// Cancel says whether the run is to be cancelled: an enforced deny, or
	// an error with on_error: cancel.
	Cancel    bool
	CreatedAt time.Time
	// Log is the decision log entry (JSON, in the shape of OPA's decision
	// logs): bundle revisions, input, result, timings. DecodeLog reads it
	// into its writer's type.
	Log []byte
	// Entry is the log entry to save, as its writer's value: SaveDecision
	// encodes it as Log. Nil when Log is given as it is.
	Entry any
}

// SaveDecision records d, its Entry encoded as its Log, unless the
// delivery already has a decision, and returns the decision on record: d,
// or the earlier one.
func (s *Store) SaveDecision(ctx context.Context, d Decision) (Decision, error) {
	d, err := d.encoded()
	if err != nil {
		return Decision{}, fmt.Errorf("store: save decision for delivery %s: %w", d.DeliveryID, err)
	}
	inserted, err := s.insertDecision(ctx, d)
	if err != nil {
		return Decision{}, fmt.Errorf("store: save decision for delivery %s: %w", d.DeliveryID, err)
	}
	if inserted {
		return d, nil
	}
	prev, err := s.DecisionForDelivery(ctx, d.DeliveryID)
	if err != nil {
		return Decision{}, err
	}
	return *prev, nil
}

// encoded is d with its Entry, when it has one, encoded as its Log.
func (d Decision) encoded() (Decision, error) {
	if d.Entry == nil {
		return d, nil
	}
	log, err := json.Marshal(d.Entry)
	if err != nil {
		return d, fmt.Errorf("encode log: %w", err)
	}
	d.Log, d.Entry = log, nil
	return d, nil
}

// DecodeLog reads the decision's log entry into entry, a pointer to its
// writer's type.
func (d *Decision) DecodeLog(entry any) error {
	if err := json.Unmarshal(d.Log, entry); err != nil {
		return fmt.Errorf("store: log of decision %s: %w", d.ID, err)
	}
	return nil
}

const decisionColumns = "id, delivery_id, event, repository, run_id, run_attempt, outcome, cancel, created_at, log"

func scanDecision(sc interface{ Scan(...any) error }) (Decision, error) {
	var d Decision
	var cancel int
	var created int64
	err := sc.Scan(&d.ID, &d.DeliveryID, &d.Event, &d.Repository, &d.RunID, &d.RunAttempt, &d.Outcome, &cancel, &created, &d.Log)
	d.Cancel, d.CreatedAt = cancel == 1, fromNanos(created)
	return d, err
}

// DecisionForDelivery returns the decision made on a delivery.
func (s *Store) DecisionForDelivery(ctx context.Context, deliveryID string) (*Decision, error) {
	d, err := scanDecision(s.queryRow(ctx, "SELECT "+decisionColumns+" FROM runpolicy_decision WHERE delivery_id = ?", deliveryID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: decision for delivery %s: %w", deliveryID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: decision for delivery %s: %w", deliveryID, err)
	}
	return &d, nil
}

// DecisionByID returns the decision with id: the one a report shows
// (Action.Shows), read without listing its run's decisions.
func (s *Store) DecisionByID(ctx context.Context, id string) (*Decision, error) {
	d, err := scanDecision(s.queryRow(ctx, "SELECT "+decisionColumns+" FROM runpolicy_decision WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: decision %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: decision %s: %w", id, err)
	}
	return &d, nil
}

// DecisionFilter selects decisions; zero fields match everything.
type DecisionFilter struct {
	Repository string
	RunID      int64
	DeliveryID string
	// Limit caps the result, newest first (default 100, at most 1000).
	Limit int
}

// Decisions lists decisions, newest first.
func (s *Store) Decisions(ctx context.Context, f DecisionFilter) ([]Decision, error) {
	q := "SELECT " + decisionColumns + " FROM runpolicy_decision WHERE 1 = 1"
	var args []any
	if f.Repository != "" {
		q += " AND repository = ?"
		args = append(args, f.Repository)
	}
	if f.RunID != 0 {
		q += " AND run_id = ?"
		args = append(args, f.RunID)
	}
	if f.DeliveryID != "" {
		q += " AND delivery_id = ?"
		args = append(args, f.DeliveryID)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = min(max(f.Limit, 100), 1000)
	}
	q += " ORDER BY created_at DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: decisions: %w", err)
	}
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		d, err := scanDecision(rows)
		if err != nil {
			return nil, fmt.Errorf("store: decisions: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
