package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Installation is one installation of the App on an account.
type Installation struct {
	ID                  int64
	Account             string // login of the user or organization
	AccountType         string // User or Organization
	RepositorySelection string // all or selected
	Suspended           bool
	Deleted             bool
	UpdatedAt           time.Time
}

// SaveInstallation creates or updates an installation.
func (s *Store) SaveInstallation(ctx context.Context, in Installation) error {
	_, err := s.exec(ctx, `INSERT INTO runpolicy_installation
		(id, account, account_type, repository_selection, suspended, deleted, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET account = excluded.account, account_type = excluded.account_type,
			repository_selection = excluded.repository_selection, suspended = excluded.suspended,
			deleted = excluded.deleted, updated_at = excluded.updated_at`,
		in.ID, in.Account, in.AccountType, in.RepositorySelection, boolInt(in.Suspended), boolInt(in.Deleted), nanos(in.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: save installation %d: %w", in.ID, err)
	}
	return nil
}

// InstallationRepositories adds and removes repositories (owner/name) of
// an installation that selected them.
func (s *Store) InstallationRepositories(ctx context.Context, id int64, added, removed []string) error {
	for _, r := range added {
		if _, err := s.exec(ctx, `INSERT INTO runpolicy_installation_repository (installation_id, repository)
			VALUES (?, ?) ON CONFLICT DO NOTHING`, id, r); err != nil {
			return fmt.Errorf("store: installation %d: add %s: %w", id, r, err)
		}
	}
	for _, r := range removed {
		if _, err := s.exec(ctx, `DELETE FROM runpolicy_installation_repository
			WHERE installation_id = ? AND repository = ?`, id, r); err != nil {
			return fmt.Errorf("store: installation %d: remove %s: %w", id, r, err)
		}
	}
	return nil
}

// InstallationFor returns the active installation on the owner of repo
// (owner/name).
func (s *Store) InstallationFor(ctx context.Context, repo string) (Installation, error) {
	owner, _, _ := strings.Cut(repo, "/")
	var in Installation
	var suspended, deleted int
	var updated int64
	err := s.queryRow(ctx, `SELECT id, account, account_type, repository_selection, suspended, deleted, updated_at
		FROM runpolicy_installation WHERE lower(account) = lower(?) AND deleted = 0
		ORDER BY updated_at DESC LIMIT 1`, owner).
		Scan(&in.ID, &in.Account, &in.AccountType, &in.RepositorySelection, &suspended, &deleted, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Installation{}, fmt.Errorf("store: installation for %s: %w", repo, ErrNotFound)
	}
	if err != nil {
		return Installation{}, fmt.Errorf("store: installation for %s: %w", repo, err)
	}
	in.Suspended, in.Deleted, in.UpdatedAt = suspended == 1, deleted == 1, fromNanos(updated)
	return in, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
