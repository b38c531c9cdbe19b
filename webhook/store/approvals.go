package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Approval is a maintainer's approval of one version of a workflow: the
// files its decision covered, each by content digest, may run despite the
// findings of the policies it waives. An edit to any of them is a new
// version, which the approval does not cover.
type Approval struct {
	// ID is the check_run delivery that approved it.
	ID           string `json:"id"`
	Repository   string `json:"repository"`
	WorkflowPath string `json:"workflow_path"`
	// Files maps each file the decision covered (the workflow and the
	// modified files it runs) to its SHA-256 at the head commit.
	Files map[string]string `json:"files"`
	// Policies are the policies whose findings the approval waives;
	// Findings their messages, for people.
	Policies []string `json:"policies"`
	Findings []string `json:"findings"`
	Approver string   `json:"approver"`
	// RunID and DecisionID are the cancelled run and its decision.
	RunID      int64     `json:"run_id"`
	DecisionID string    `json:"decision_id"`
	CreatedAt  time.Time `json:"created_at"`
	// ExpiresAt is zero for an approval that does not expire.
	ExpiresAt time.Time `json:"expires_at"`
	// RevokedAt is zero until the approval is revoked, by RevokedBy.
	RevokedAt time.Time `json:"revoked_at"`
	RevokedBy string    `json:"revoked_by,omitempty"`
}

// Active reports an approval neither revoked nor expired at now.
func (a Approval) Active(now time.Time) bool {
	return a.RevokedAt.IsZero() && (a.ExpiresAt.IsZero() || now.Before(a.ExpiresAt))
}

const approvalColumns = `id, repository, workflow_path, files, policies, findings, approver, run_id, decision_id,
	created_at, expires_at, revoked_at, revoked_by`

// SaveApproval records an approval unless one with its id (its delivery)
// is on record, and returns the one on record.
func (s *Store) SaveApproval(ctx context.Context, a Approval) (Approval, error) {
	files, err := json.Marshal(a.Files)
	if err != nil {
		return Approval{}, fmt.Errorf("store: approval %s: %w", a.ID, err)
	}
	policies, _ := json.Marshal(a.Policies)
	findings, _ := json.Marshal(a.Findings)
	_, err = s.exec(ctx, `INSERT INTO runpolicy_approval (`+approvalColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '') ON CONFLICT DO NOTHING`,
		a.ID, a.Repository, a.WorkflowPath, files, policies, findings, a.Approver, a.RunID, a.DecisionID,
		nanos(a.CreatedAt), nanos(a.ExpiresAt))
	if err != nil {
		return Approval{}, fmt.Errorf("store: save approval %s: %w", a.ID, err)
	}
	return s.Approval(ctx, a.ID)
}

// Approval returns one approval.
func (s *Store) Approval(ctx context.Context, id string) (Approval, error) {
	a, err := scanApproval(s.queryRow(ctx, "SELECT "+approvalColumns+" FROM runpolicy_approval WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Approval{}, fmt.Errorf("store: approval %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Approval{}, fmt.Errorf("store: approval %s: %w", id, err)
	}
	return a, nil
}

// ApprovalsFor returns the approvals of a workflow of a repository active
// at now, oldest first.
func (s *Store) ApprovalsFor(ctx context.Context, repository, workflowPath string, now time.Time) ([]Approval, error) {
	rows, err := s.query(ctx, "SELECT "+approvalColumns+` FROM runpolicy_approval
		WHERE repository = ? AND workflow_path = ? AND revoked_at = 0 AND (expires_at = 0 OR expires_at > ?)
		ORDER BY created_at, id`, repository, workflowPath, nanos(now))
	if err != nil {
		return nil, fmt.Errorf("store: approvals of %s %s: %w", repository, workflowPath, err)
	}
	return scanApprovals(rows, "approvals of "+repository+" "+workflowPath)
}

// Approvals lists approvals, newest first: those of a repository when
// repository is not empty, at most limit (default 100, at most 1000).
func (s *Store) Approvals(ctx context.Context, repository string, limit int) ([]Approval, error) {
	cond, args := "1 = 1", []any{}
	if repository != "" {
		cond, args = "repository = ?", []any{repository}
	}
	return s.listApprovals(ctx, cond, args, limit)
}

// ApprovalsIn lists the approvals of the repositories a scope sees (the
// zero Scope sees none), newest first, at most limit (default 100, at
// most 1000): the console's list.
func (s *Store) ApprovalsIn(ctx context.Context, scope Scope, limit int) ([]Approval, error) {
	cond, args := scope.whereRepository("repository")
	return s.listApprovals(ctx, cond, args, limit)
}

func (s *Store) listApprovals(ctx context.Context, cond string, args []any, limit int) ([]Approval, error) {
	if limit <= 0 || limit > 1000 {
		limit = min(max(limit, 100), 1000)
	}
	rows, err := s.query(ctx, "SELECT "+approvalColumns+" FROM runpolicy_approval WHERE "+cond+
		" ORDER BY created_at DESC, id LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: approvals: %w", err)
	}
	return scanApprovals(rows, "approvals")
}

// RevokeApproval revokes an approval; revoked is false when it was
// revoked already. ErrNotFound when there is no such approval.
func (s *Store) RevokeApproval(ctx context.Context, id, by string, at time.Time) (revoked bool, err error) {
	res, err := s.exec(ctx, `UPDATE runpolicy_approval SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at = 0`,
		nanos(at), by, id)
	if err != nil {
		return false, fmt.Errorf("store: revoke approval %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	if _, err := s.Approval(ctx, id); err != nil {
		return false, err
	}
	return false, nil
}

func scanApprovals(rows *sql.Rows, what string) ([]Approval, error) {
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}

func scanApproval(sc interface{ Scan(...any) error }) (Approval, error) {
	var a Approval
	var files, policies, findings []byte
	var created, expires, revoked int64
	if err := sc.Scan(&a.ID, &a.Repository, &a.WorkflowPath, &files, &policies, &findings, &a.Approver, &a.RunID,
		&a.DecisionID, &created, &expires, &revoked, &a.RevokedBy); err != nil {
		return a, err
	}
	a.CreatedAt, a.ExpiresAt, a.RevokedAt = fromNanos(created), fromNanos(expires), fromNanos(revoked)
	for _, f := range []struct {
		raw []byte
		to  any
	}{{files, &a.Files}, {policies, &a.Policies}, {findings, &a.Findings}} {
		if err := json.Unmarshal(f.raw, f.to); err != nil {
			return a, fmt.Errorf("approval %s: %w", a.ID, err)
		}
	}
	return a, nil
}
