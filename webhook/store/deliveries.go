package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
)

// States of a delivery.
const (
	DeliveryReceived  = "received"  // persisted and acknowledged, not yet processed
	DeliveryProcessed = "processed" // processing finished (judged, ignored or recorded)
	DeliveryFailed    = "failed"    // processing gave up after its last attempt
)

// Delivery is one webhook delivery GitHub sent, as received.
type Delivery struct {
	ID             string // X-GitHub-Delivery
	Event          string // X-GitHub-Event
	Action         string
	InstallationID int64
	Repository     string // owner/name, empty for events without one
	Payload        []byte
	ReceivedAt     time.Time
	State          string
	FinishedAt     time.Time
	Note           string
}

// AcceptDelivery persists d, deduplicated on its ID, and queues job to
// process it. It returns false when the delivery was seen before; a
// delivery seen before whose processing never got queued (the process died
// between the two writes) is queued now, which is why job must be unique
// by its arguments.
func (s *Store) AcceptDelivery(ctx context.Context, d Delivery, job river.JobArgs) (bool, error) {
	res, err := s.exec(ctx, `INSERT INTO runpolicy_delivery
		(id, event, action, installation_id, repository, payload, received_at, state)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		d.ID, d.Event, d.Action, d.InstallationID, d.Repository, d.Payload, nanos(d.ReceivedAt), DeliveryReceived)
	if err != nil {
		return false, fmt.Errorf("store: save delivery %s: %w", d.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: save delivery %s: %w", d.ID, err)
	}
	if n == 0 {
		var state string
		if err := s.queryRow(ctx, "SELECT state FROM runpolicy_delivery WHERE id = ?", d.ID).Scan(&state); err != nil {
			return false, fmt.Errorf("store: delivery %s: %w", d.ID, err)
		}
		if state != DeliveryReceived {
			return false, nil
		}
	}
	if err := s.Enqueue(ctx, job, nil); err != nil {
		return false, err
	}
	return n == 1, nil
}

// Delivery returns one delivery with its payload.
func (s *Store) Delivery(ctx context.Context, id string) (*Delivery, error) {
	d := &Delivery{}
	var received, finished int64
	err := s.queryRow(ctx, `SELECT id, event, action, installation_id, repository, payload, received_at, state, finished_at, note
		FROM runpolicy_delivery WHERE id = ?`, id).
		Scan(&d.ID, &d.Event, &d.Action, &d.InstallationID, &d.Repository, &d.Payload, &received, &d.State, &finished, &d.Note)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: delivery %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: delivery %s: %w", id, err)
	}
	d.ReceivedAt, d.FinishedAt = fromNanos(received), fromNanos(finished)
	return d, nil
}

// FinishDelivery records that processing of a delivery ended in state
// (processed or failed), with a short note saying how.
func (s *Store) FinishDelivery(ctx context.Context, id, state, note string) error {
	_, err := s.exec(ctx, "UPDATE runpolicy_delivery SET state = ?, note = ?, finished_at = ? WHERE id = ?",
		state, note, time.Now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("store: finish delivery %s: %w", id, err)
	}
	return nil
}

// KnownDeliveries reports which of ids were received.
func (s *Store) KnownDeliveries(ctx context.Context, ids []string) (map[string]bool, error) {
	known := map[string]bool{}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 200)]
		ids = ids[len(batch):]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		q := "SELECT id FROM runpolicy_delivery WHERE id IN (?" + strings.Repeat(", ?", len(batch)-1) + ")"
		rows, err := s.query(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("store: known deliveries: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: known deliveries: %w", err)
			}
			known[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: known deliveries: %w", err)
		}
	}
	return known, nil
}

// UnfinishedDeliveries lists the deliveries received before cutoff that are
// still waiting to be processed, oldest first, at most limit.
func (s *Store) UnfinishedDeliveries(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	rows, err := s.query(ctx, `SELECT id FROM runpolicy_delivery WHERE state = ? AND received_at < ?
		ORDER BY received_at LIMIT ?`, DeliveryReceived, nanos(cutoff), limit)
	if err != nil {
		return nil, fmt.Errorf("store: unfinished deliveries: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: unfinished deliveries: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
