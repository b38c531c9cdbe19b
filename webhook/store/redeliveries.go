package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ClaimRedelivery records that a failed delivery (by GUID) is being asked
// for again, and reports whether this call is the first to do so: a
// delivery is asked for once.
func (s *Store) ClaimRedelivery(ctx context.Context, guid string, hookDeliveryID int64) (bool, error) {
	res, err := s.exec(ctx, `INSERT INTO runpolicy_redelivery (guid, hook_delivery_id, requested_at)
		VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, guid, hookDeliveryID, time.Now().UnixNano())
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
