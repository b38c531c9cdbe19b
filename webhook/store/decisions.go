package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
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
	// logs): bundle revisions, input, result, timings.
	Log []byte
}

// SaveDecision records d unless the delivery already has a decision, and
// returns the decision on record: d, or the earlier one. In the same
// transaction it records what the console filters decisions by, the
// policies that fired and the inventory of the actions the run used, all
// read from d.Log. A log the store cannot read is still recorded, without
// them, and logged: the decision is what must not be lost.
func (s *Store) SaveDecision(ctx context.Context, d Decision) (Decision, error) {
	cancel := 0
	if d.Cancel {
		cancel = 1
	}
	sm, err := summarize(d)
	if err != nil {
		s.logger.Warn("decision recorded without its index and inventory", "decision_id", d.ID, "err", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Decision{}, fmt.Errorf("store: save decision for delivery %s: %w", d.DeliveryID, err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	res, err := tx.ExecContext(ctx, s.dialect.rebind(`INSERT INTO runpolicy_decision
		(id, delivery_id, event, repository, run_id, run_attempt, outcome, cancel, created_at, log,
		 owner, workflow, branch, run_event, verdict)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		d.ID, d.DeliveryID, d.Event, d.Repository, d.RunID, d.RunAttempt, d.Outcome, cancel, nanos(d.CreatedAt), d.Log,
		sm.owner, sm.workflow, sm.branch, sm.runEvent, sm.verdict)
	if err != nil {
		return Decision{}, fmt.Errorf("store: save decision for delivery %s: %w", d.DeliveryID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		_ = tx.Rollback()
		prev, err := s.DecisionForDelivery(ctx, d.DeliveryID)
		if err != nil {
			return Decision{}, err
		}
		return *prev, nil
	}
	if err := s.savePolicies(ctx, tx, d, sm.policies); err != nil {
		return Decision{}, fmt.Errorf("store: save decision for delivery %s: %w", d.DeliveryID, err)
	}
	if err := s.saveInventory(ctx, tx, d, sm); err != nil {
		return Decision{}, fmt.Errorf("store: save decision for delivery %s: %w", d.DeliveryID, err)
	}
	if err := tx.Commit(); err != nil {
		return Decision{}, fmt.Errorf("store: save decision for delivery %s: %w", d.DeliveryID, err)
	}
	return d, nil
}

// savePolicies records the policies that fired in a decision, with the
// decision's time, owner and repository: a policy filter walks the policy
// rows of an organization or repository newest first (evaluations.go).
func (s *Store) savePolicies(ctx context.Context, tx *sql.Tx, d Decision, hits []PolicyHit) error {
	if len(hits) == 0 {
		return nil
	}
	q := "INSERT INTO runpolicy_decision_policy (decision_id, policy, mode, findings, created_at, owner, repository) VALUES " +
		placeholders(len(hits), 7)
	args := make([]any, 0, 7*len(hits))
	for _, h := range hits {
		args = append(args, d.ID, h.Policy, h.Mode, h.Findings, nanos(d.CreatedAt), ownerOf(d.Repository), d.Repository)
	}
	if _, err := tx.ExecContext(ctx, s.dialect.rebind(q), args...); err != nil {
		return fmt.Errorf("policies: %w", err)
	}
	return nil
}

// placeholders is "(?, …), (?, …)": rows tuples of cols placeholders.
func placeholders(rows, cols int) string {
	tuple := "(" + strings.Repeat("?, ", cols-1) + "?)"
	return strings.Repeat(tuple+", ", rows-1) + tuple
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
