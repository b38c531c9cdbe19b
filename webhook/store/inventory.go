package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/runpolicy/runpolicy/engine/input"
)

// The inventory is one row per repository, workflow, action (or reusable
// workflow, or docker image), ref and commit that recorded runs used,
// filled in the transaction that records each decision (SaveDecision). It
// is a summary: pruning decisions (retention.go) leaves it whole, so that
// "who used this action" still has an answer after the decisions are gone.

// InventoryEntry is one row of the inventory.
type InventoryEntry struct {
	Repository string `json:"repository"`
	// Workflow is the workflow file's path in the repository.
	Workflow string `json:"workflow"`
	// Name is the action (owner/repo[/path]), reusable workflow
	// (owner/repo/.github/workflows/file.yml) or docker image
	// (docker://image) in lower case; Kind says which.
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Ref is the tag, branch or commit the workflow names; SHA the commit
	// it ran at, when known (a SHA pin, or a tag the resolver looked up).
	Ref string `json:"ref"`
	SHA string `json:"sha,omitempty"`
	// Via is the reference that led to this one when it was last seen
	// used indirectly (through a composite action or reusable workflow);
	// empty when the workflow names it.
	Via       string    `json:"via,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// LastRunID and LastRunAttempt are the last run that used it;
	// LastDecision the decision made on that run (pruned after
	// decision_retention); LastOutcome that decision's outcome (allow,
	// deny, error) and Stopped whether the run was cancelled.
	LastRunID      int64  `json:"last_run_id"`
	LastRunAttempt int    `json:"last_run_attempt"`
	LastDecision   string `json:"last_decision"`
	LastOutcome    string `json:"last_outcome"`
	Stopped        bool   `json:"stopped"`
}

// inventoryColumns are the columns of runpolicy_inventory d, in
// InventoryEntry's order.
const inventoryColumns = `d.repository, d.workflow, d.name, d.kind, d.ref, d.sha, d.via, d.first_seen, d.last_seen,
	d.last_run_id, d.last_run_attempt, d.last_decision, d.last_outcome, d.last_stopped`

// upsertInventory records sightings. The row keeps the first and the last
// sighting; a sighting older than the row's last one (decisions recorded
// out of order) only moves first_seen back. A later decision on the same
// run attempt that lets it through does not undo an earlier one that
// stopped it: the run was stopped.
const upsertInventory = `INSERT INTO runpolicy_inventory
	(repository, workflow, name, ref, sha, kind, repo, via, owner, repository_key, first_seen, last_seen,
	 last_run_id, last_run_attempt, last_decision, last_outcome, last_stopped)
	VALUES %s
	ON CONFLICT (repository, workflow, name, ref, sha) DO UPDATE SET
	first_seen = CASE WHEN excluded.first_seen < runpolicy_inventory.first_seen
		THEN excluded.first_seen ELSE runpolicy_inventory.first_seen END,
	kind = CASE WHEN %[2]s THEN excluded.kind ELSE runpolicy_inventory.kind END,
	repo = CASE WHEN %[2]s THEN excluded.repo ELSE runpolicy_inventory.repo END,
	via = CASE WHEN %[2]s THEN excluded.via ELSE runpolicy_inventory.via END,
	last_run_id = CASE WHEN %[2]s THEN excluded.last_run_id ELSE runpolicy_inventory.last_run_id END,
	last_run_attempt = CASE WHEN %[2]s THEN excluded.last_run_attempt ELSE runpolicy_inventory.last_run_attempt END,
	last_decision = CASE WHEN %[2]s THEN excluded.last_decision ELSE runpolicy_inventory.last_decision END,
	last_outcome = CASE WHEN %[2]s THEN excluded.last_outcome ELSE runpolicy_inventory.last_outcome END,
	last_stopped = CASE WHEN %[2]s THEN excluded.last_stopped ELSE runpolicy_inventory.last_stopped END,
	last_seen = CASE WHEN %[2]s THEN excluded.last_seen ELSE runpolicy_inventory.last_seen END`

// newerSighting is when a sighting replaces the row's last one.
const newerSighting = `(excluded.last_seen >= runpolicy_inventory.last_seen AND NOT (
	excluded.last_run_id = runpolicy_inventory.last_run_id AND
	excluded.last_run_attempt = runpolicy_inventory.last_run_attempt AND
	runpolicy_inventory.last_stopped = 1 AND excluded.last_stopped = 0))`

// inventoryBatch bounds the rows of one upsert statement (17 parameters
// each, well under SQLite's limit).
const inventoryBatch = 200

// saveInventory records the actions a decision's run used, in the
// transaction that saves the decision.
func (s *Store) saveInventory(ctx context.Context, tx *sql.Tx, d Decision, workflow string, uses []usage) error {
	at := nanos(d.CreatedAt)
	owner, _, _ := strings.Cut(d.Repository, "/")
	for start := 0; start < len(uses); start += inventoryBatch {
		batch := uses[start:min(start+inventoryBatch, len(uses))]
		args := make([]any, 0, 17*len(batch))
		for _, u := range batch {
			args = append(args, d.Repository, workflow, u.name, u.ref, u.sha, u.kind, u.repo, u.via,
				strings.ToLower(owner), strings.ToLower(d.Repository), at, at, d.RunID, d.RunAttempt, d.ID, d.Outcome, boolInt(d.Cancel))
		}
		q := fmt.Sprintf(upsertInventory, placeholders(len(batch), 17), newerSighting)
		if _, err := tx.ExecContext(ctx, s.dialect.rebind(q), args...); err != nil {
			return fmt.Errorf("inventory: %w", err)
		}
	}
	return nil
}

// InventoryQuery selects inventory rows: who used an action (Name,
// optionally at Ref), or what one repository uses (Repository).
type InventoryQuery struct {
	// Name is an action or reusable workflow (owner/repo, owner/repo/path;
	// owner/repo also finds every action and workflow under it) or a docker
	// image (docker://image), compared case-insensitively.
	Name string
	// Ref narrows Name to a tag or branch, or a commit: a 40-hex SHA
	// matches a pin to it and a tag that ran at it.
	Ref string
	// Repository (owner/name, case-insensitive) lists the actions it uses.
	Repository string
	// Scope is what the reader may see (see Scope: the zero Scope sees
	// nothing, Scope{All: true} everything).
	Scope Scope
	// Limit caps the rows (default 1000, at most 10000).
	Limit int
}

// ParseInventoryName splits NAME[@REF] as a workflow writes it (docker
// images as docker://image[:tag][@digest]) into the name and ref that
// InventoryQuery takes.
func ParseInventoryName(s string) (name, ref string, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "", errors.New("inventory: empty name")
	}
	if strings.HasPrefix(s, "./") || strings.HasPrefix(s, input.SelfRepository) {
		return "", "", fmt.Errorf("inventory: %q is a local path: the inventory lists actions of other repositories", s)
	}
	u := input.ParseUses(s, false)
	switch u.Kind {
	case input.KindDocker:
		return "docker://" + strings.ToLower(u.Name), u.Ref, nil
	default:
		if u.Owner == "" || u.Repo == "" {
			return "", "", fmt.Errorf("inventory: %q: want owner/repo[/path][@ref] or docker://image", s)
		}
		return strings.ToLower(u.Name), u.Ref, nil
	}
}

// Inventory returns the rows q selects: for a name, newest sighting
// first; for a repository, by workflow, name and ref. more says the limit
// cut the answer short.
func (s *Store) Inventory(ctx context.Context, q InventoryQuery) (rows []InventoryEntry, more bool, err error) {
	if (q.Name == "") == (q.Repository == "") {
		return nil, false, errors.New("store: inventory: give a name or a repository")
	}
	if q.Limit <= 0 {
		q.Limit = 1000
	}
	q.Limit = min(q.Limit, 10000)
	// The scope reads the owner and repository_key of the table aliased d.
	cond, args := q.Scope.where()
	where := []string{cond}
	order := "d.last_seen DESC, d.repository, d.workflow, d.name, d.ref, d.sha"
	if q.Name != "" {
		name := strings.ToLower(strings.TrimSpace(q.Name))
		where = append(where, "(d.name = ? OR d.repo = ?)")
		args = append(args, name, name)
		if q.Ref != "" {
			where = append(where, "(d.ref = ? OR d.sha = ?)")
			args = append(args, q.Ref, strings.ToLower(q.Ref))
		}
	} else {
		where = append(where, "d.repository_key = ?")
		args = append(args, strings.ToLower(strings.TrimSpace(q.Repository)))
		order = "d.workflow, d.name, d.ref, d.sha"
	}
	args = append(args, q.Limit+1)
	list, err := s.query(ctx, "SELECT "+inventoryColumns+" FROM runpolicy_inventory d WHERE "+
		strings.Join(where, " AND ")+" ORDER BY "+order+" LIMIT ?", args...)
	if err != nil {
		return nil, false, fmt.Errorf("store: inventory: %w", err)
	}
	defer list.Close()
	for list.Next() {
		var e InventoryEntry
		var first, last int64
		var stopped int
		if err := list.Scan(&e.Repository, &e.Workflow, &e.Name, &e.Kind, &e.Ref, &e.SHA, &e.Via, &first, &last,
			&e.LastRunID, &e.LastRunAttempt, &e.LastDecision, &e.LastOutcome, &stopped); err != nil {
			return nil, false, fmt.Errorf("store: inventory: %w", err)
		}
		e.FirstSeen, e.LastSeen, e.Stopped = fromNanos(first), fromNanos(last), stopped == 1
		rows = append(rows, e)
	}
	if err := list.Err(); err != nil {
		return nil, false, fmt.Errorf("store: inventory: %w", err)
	}
	if len(rows) > q.Limit {
		return rows[:q.Limit], true, nil
	}
	return rows, false, nil
}

// placeholders is "(?, …), (?, …)": rows tuples of cols placeholders.
func placeholders(rows, cols int) string {
	tuple := "(" + strings.Repeat("?, ", cols-1) + "?)"
	return strings.Repeat(tuple+", ", rows-1) + tuple
}
