package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
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

const insertDelivery = `INSERT INTO runpolicy_delivery
	(id, event, action, installation_id, repository, payload, received_at, state)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`

// AcceptDelivery persists d, deduplicated on its ID, and hands job, which
// processes it, to the queue. It returns false when the delivery was seen
// before.
//
// On Postgres the delivery and its job are saved in one transaction: once
// this returns true, the job exists, whichever replica dies next. On SQLite
// the job is queued in the background, right after (see feeder): a process
// that dies in between leaves a delivery without its job, which
// DeliveriesWithoutJob finds on the next start.
func (s *Store) AcceptDelivery(ctx context.Context, d Delivery, job river.JobArgs) (bool, error) {
	if s.pg != nil {
		return s.acceptPostgres(ctx, d, job)
	}
	insert := s.dialect.rebind(insertDelivery)
	var res sql.Result
	err := retryBusy(ctx, func() error {
		var err error
		res, err = s.ack.ExecContext(ctx, insert,
			d.ID, d.Event, d.Action, d.InstallationID, d.Repository, d.Payload, nanos(d.ReceivedAt), DeliveryReceived)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: save delivery %s: %w", d.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: save delivery %s: %w", d.ID, err)
	}
	if n == 0 {
		return false, nil
	}
	s.feeder.add(job)
	return true, nil
}

// acceptPostgres saves a delivery and queues its job atomically. Replicas
// that receive the same delivery at once serialize on its primary key: one
// inserts it, the others find it there and queue nothing.
func (s *Store) acceptPostgres(ctx context.Context, d Delivery, job river.JobArgs) (bool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("store: save delivery %s: %w", d.ID, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // a no-op after Commit
	tag, err := tx.Exec(ctx, s.dialect.rebind(insertDelivery),
		d.ID, d.Event, d.Action, d.InstallationID, d.Repository, d.Payload, nanos(d.ReceivedAt), DeliveryReceived)
	if err != nil {
		return false, fmt.Errorf("store: save delivery %s: %w", d.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if _, err := s.pg.InsertTx(ctx, tx, job, nil); err != nil {
		return false, fmt.Errorf("store: queue delivery %s: %w", d.ID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("store: save delivery %s: %w", d.ID, err)
	}
	return true, nil
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

// ErrLeased is returned by LeaseDelivery while another worker holds the
// delivery.
var ErrLeased = errors.New("another worker is processing it")

// LeaseDelivery makes worker the one processing a delivery for the next
// job timeout, unless another worker holds an unexpired lease on it
// (ErrLeased). The queue may run a job twice at once: a worker that lost
// the database cannot record that its attempt ended, the job is rescued
// and taken by another, and the first one's late report hands it out
// again. The lease keeps such twins from acting on GitHub together.
//
// resumed reports that an earlier worker began processing the delivery:
// it may have acted on GitHub before it stopped, so the caller looks for
// what it did before doing it again. Leases compare the replicas' clocks,
// which must agree to well within the job timeout.
func (s *Store) LeaseDelivery(ctx context.Context, id, worker string) (resumed bool, err error) {
	if s.leaseFor <= 0 {
		return false, fmt.Errorf("store: lease delivery %s: the store was opened without a job timeout to lease it for", id)
	}
	var owner string
	var until int64
	err = s.queryRow(ctx, "SELECT lease_owner, lease_until FROM runpolicy_delivery WHERE id = ?", id).Scan(&owner, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("store: lease delivery %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return false, fmt.Errorf("store: lease delivery %s: %w", id, err)
	}
	now := time.Now()
	if owner != "" && owner != worker && until > now.UnixNano() {
		return false, fmt.Errorf("store: lease delivery %s: %w (%s, for %s more)", id, ErrLeased, owner,
			time.Duration(until-now.UnixNano()).Round(time.Millisecond))
	}
	// Taken only if nobody took it since it was read.
	res, err := s.exec(ctx, `UPDATE runpolicy_delivery SET lease_owner = ?, lease_until = ?
		WHERE id = ? AND lease_owner = ? AND lease_until = ?`, worker, now.Add(s.leaseFor).UnixNano(), id, owner, until)
	if err != nil {
		return false, fmt.Errorf("store: lease delivery %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, fmt.Errorf("store: lease delivery %s: %w", id, ErrLeased)
	}
	return owner != "", nil
}

// ReleaseDelivery ends worker's lease on a delivery, so that a retry need
// not wait for it to expire. The delivery keeps the worker's name: a retry
// knows it resumes.
func (s *Store) ReleaseDelivery(ctx context.Context, id, worker string) error {
	if _, err := s.exec(ctx, "UPDATE runpolicy_delivery SET lease_until = 0 WHERE id = ? AND lease_owner = ?", id, worker); err != nil {
		return fmt.Errorf("store: release delivery %s: %w", id, err)
	}
	return nil
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

// DeliveriesWithoutJob lists the deliveries received before cutoff that
// wait to be processed but have no job of the given kind in the queue,
// oldest first, at most limit. The job's arguments must carry the delivery
// id as "delivery_id".
func (s *Store) DeliveriesWithoutJob(ctx context.Context, kind string, cutoff time.Time, limit int) ([]string, error) {
	rows, err := s.query(ctx, `SELECT id FROM runpolicy_delivery WHERE state = ? AND received_at < ?
		ORDER BY received_at LIMIT ?`, DeliveryReceived, nanos(cutoff), limit)
	if err != nil {
		return nil, fmt.Errorf("store: unfinished deliveries: %w", err)
	}
	var waiting []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: unfinished deliveries: %w", err)
		}
		waiting = append(waiting, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(waiting) == 0 {
		return nil, err
	}
	queued, err := s.queuedDeliveries(ctx, kind)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range waiting {
		if !queued[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// queuedDeliveries returns the delivery ids of the live jobs of a kind.
func (s *Store) queuedDeliveries(ctx context.Context, kind string) (map[string]bool, error) {
	rows, err := s.query(ctx, `SELECT `+s.dialect.jobArgs+` FROM river_job WHERE kind = ?
		AND state IN ('available', 'pending', 'retryable', 'running', 'scheduled')`, kind)
	if err != nil {
		return nil, fmt.Errorf("store: queued deliveries: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("store: queued deliveries: %w", err)
		}
		var args struct {
			DeliveryID string `json:"delivery_id"`
		}
		if json.Unmarshal(raw, &args) == nil && args.DeliveryID != "" {
			out[args.DeliveryID] = true
		}
	}
	return out, rows.Err()
}

// retryBusy runs fn again while SQLite reports its write lock taken, every
// 100µs for up to 10s: the lock is held for a statement or a short
// transaction of the queue.
func retryBusy(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := fn()
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Microsecond):
		}
	}
}
