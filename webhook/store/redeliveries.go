package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ClaimRedelivery records that a failed delivery (by GUID) is being asked
// for again after its failed attempt hookDeliveryID, and reports whether
// this call is the first to do so: each failed attempt is asked for once,
// by one replica. A redelivery that fails as well (the database was still
// down) is a new attempt, claimed on a later sweep, until one succeeds or
// the delivery leaves the sweep's lookback. A claim made before
// retryBefore that brought no new attempt (the replica died or lost the
// database before asking GitHub) may be claimed again.
func (s *Store) ClaimRedelivery(ctx context.Context, guid string, hookDeliveryID int64, retryBefore time.Time) (bool, error) {
	res, err := s.exec(ctx, `INSERT INTO runpolicy_redelivery (guid, hook_delivery_id, requested_at)
		VALUES (?, ?, ?) ON CONFLICT (guid) DO UPDATE
		SET hook_delivery_id = excluded.hook_delivery_id, requested_at = excluded.requested_at
		WHERE runpolicy_redelivery.hook_delivery_id <> excluded.hook_delivery_id
			OR runpolicy_redelivery.requested_at < ?`, guid, hookDeliveryID, time.Now().UnixNano(), nanos(retryBefore))
	if err != nil {
		return false, fmt.Errorf("store: redelivery of %s: %w", guid, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: redelivery of %s: %w", guid, err)
	}
	return n == 1, nil
}

// ReleaseRedelivery forgets a claim whose request failed, so that the next
// sweep tries again.
func (s *Store) ReleaseRedelivery(ctx context.Context, guid string) error {
	if _, err := s.exec(ctx, "DELETE FROM runpolicy_redelivery WHERE guid = ?", guid); err != nil {
		return fmt.Errorf("store: release redelivery of %s: %w", guid, err)
	}
	return nil
}

// Setting returns a stored value, "" when unset.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.queryRow(ctx, "SELECT value FROM runpolicy_setting WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting stores a value.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.exec(ctx, `INSERT INTO runpolicy_setting (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("store: set %s: %w", key, err)
	}
	return nil
}
