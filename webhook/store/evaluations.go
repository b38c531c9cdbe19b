package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Evaluations are the decisions as the console lists them: newest first,
// filtered on indexed columns (migration 3), paged by keyset so that a
// deep page costs what the first does.

// EvaluationFilter selects decisions; zero fields match everything.
type EvaluationFilter struct {
	// Organization is the repository owner.
	Organization string
	Repository   string
	// Repositories, when not nil, limits the answer to these repositories
	// (exactly as GitHub names them): the ones a console user can read, or
	// a replay's filter. An empty list matches nothing.
	Repositories []string
	// Workflow is the workflow file's path (.github/workflows/ci.yml).
	Workflow string
	Branch   string
	// Event is the run's trigger (push, pull_request, …), not the
	// delivery's.
	Event string
	// Verdict is VerdictAllow, VerdictDryRun, VerdictDeny or VerdictError.
	Verdict string
	// Policy keeps the decisions in which this policy found something.
	Policy string
	// Since and Until bound the decision time: Since <= t < Until.
	Since, Until time.Time
	// After continues a listing: only decisions older than this cursor
	// (the Next of the previous page).
	After *Cursor
	// Limit is the page size (default 50, at most 1000).
	Limit int
	// WithLog also returns each decision's log entry (input document,
	// result), for replays and downloads; lists leave it out.
	WithLog bool
}

// Cursor is a place in the newest-first order: a decision's time and id.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// String encodes the cursor for a URL: nanoseconds, a dot, the id.
func (c Cursor) String() string {
	return strconv.FormatInt(nanos(c.CreatedAt), 10) + "." + c.ID
}

// ParseCursor decodes Cursor.String.
func ParseCursor(s string) (Cursor, error) {
	n, id, ok := strings.Cut(s, ".")
	ns, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || ns <= 0 || id == "" {
		return Cursor{}, fmt.Errorf("cursor %q: want what a page's next gave", s)
	}
	return Cursor{CreatedAt: fromNanos(ns), ID: id}, nil
}

// Evaluation is one decision in a list.
type Evaluation struct {
	ID           string `json:"id"`
	DeliveryID   string `json:"delivery_id"`
	Organization string `json:"organization"`
	Repository   string `json:"repository"`
	Workflow     string `json:"workflow"`
	Branch       string `json:"branch"`
	// Event is the run's trigger; DeliveryEvent the webhook judged
	// (workflow_run or workflow_job).
	Event         string    `json:"event"`
	DeliveryEvent string    `json:"delivery_event"`
	RunID         int64     `json:"run_id"`
	RunAttempt    int       `json:"run_attempt"`
	Outcome       string    `json:"outcome"`
	Verdict       string    `json:"verdict"`
	Cancel        bool      `json:"cancel"`
	CreatedAt     time.Time `json:"created_at"`
	// Policies are the policies that found something, by name.
	Policies []PolicyHit `json:"policies"`
	// Log is the decision log entry, with WithLog only.
	Log []byte `json:"-"`
}

// EvaluationPage is one page of a listing; Next is nil on the last.
type EvaluationPage struct {
	Evaluations []Evaluation `json:"evaluations"`
	Next        *Cursor      `json:"-"`
}

const evaluationColumns = `d.id, d.delivery_id, d.owner, d.repository, d.workflow, d.branch, d.run_event, d.event,
	d.run_id, d.run_attempt, d.outcome, d.verdict, d.cancel, d.created_at`

// where is the filter's condition on runpolicy_decision d or, with a
// policy (or policyRows), on runpolicy_decision_policy p joined to d when
// needDecision or a filter reads d; and the columns its time order and
// cursor use.
func (f EvaluationFilter) where(policyRows, needDecision bool) (from, cond, timeCol, idCol string, args []any, err error) {
	from, timeCol, idCol = "runpolicy_decision d", "d.created_at", "d.id"
	var conds []string
	ownerCol, repoCol := "d.owner", "d.repository"
	if f.Policy != "" || policyRows {
		// The policy rows carry the decision's time, owner and repository:
		// their indexes walk a policy's decisions newest first, in an
		// organization or repository too. The decision is joined for the
		// other filters.
		from = "runpolicy_decision_policy p"
		if needDecision || f.Workflow != "" || f.Branch != "" || f.Event != "" || f.Verdict != "" {
			from += " JOIN runpolicy_decision d ON d.id = p.decision_id"
		}
		timeCol, idCol, ownerCol, repoCol = "p.created_at", "p.decision_id", "p.owner", "p.repository"
		if f.Policy != "" {
			conds = append(conds, "p.policy = ?")
			args = append(args, f.Policy)
		}
	}
	for _, eq := range []struct{ col, val string }{
		{ownerCol, f.Organization}, {repoCol, f.Repository}, {"d.workflow", f.Workflow},
		{"d.branch", f.Branch}, {"d.run_event", f.Event}, {"d.verdict", f.Verdict},
	} {
		if eq.val != "" {
			conds = append(conds, eq.col+" = ?")
			args = append(args, eq.val)
		}
	}
	if f.Repositories != nil {
		if len(f.Repositories) == 0 {
			conds = append(conds, "1 = 0")
		} else {
			in, inArgs, err := inList(f.Repositories)
			if err != nil {
				return "", "", "", "", nil, err
			}
			conds = append(conds, repoCol+" IN "+in)
			args = append(args, inArgs...)
		}
	}
	if !f.Since.IsZero() {
		conds = append(conds, timeCol+" >= ?")
		args = append(args, nanos(f.Since))
	}
	if !f.Until.IsZero() {
		conds = append(conds, timeCol+" < ?")
		args = append(args, nanos(f.Until))
	}
	if f.After != nil {
		// A row value compares both columns at once; both databases walk
		// the (time, id) index backwards from it.
		conds = append(conds, "("+timeCol+", "+idCol+") < (?, ?)")
		args = append(args, nanos(f.After.CreatedAt), f.After.ID)
	}
	if len(conds) == 0 {
		conds = append(conds, "1 = 1")
	}
	return from, strings.Join(conds, " AND "), timeCol, idCol, args, nil
}

// Evaluations lists decisions newest first, one page at a time.
func (s *Store) Evaluations(ctx context.Context, f EvaluationFilter) (EvaluationPage, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 1000)
	from, cond, timeCol, idCol, args, err := f.where(false, true)
	if err != nil {
		return EvaluationPage{}, fmt.Errorf("store: evaluations: %w", err)
	}
	cols := evaluationColumns
	if f.WithLog {
		cols += ", d.log"
	}
	q := "SELECT " + cols + " FROM " + from + " WHERE " + cond +
		" ORDER BY " + timeCol + " DESC, " + idCol + " DESC LIMIT ?"
	rows, err := s.query(ctx, q, append(args, f.Limit+1)...)
	if err != nil {
		return EvaluationPage{}, fmt.Errorf("store: evaluations: %w", err)
	}
	defer rows.Close()
	var page EvaluationPage
	for rows.Next() {
		var e Evaluation
		var cancel int
		var created int64
		dest := []any{&e.ID, &e.DeliveryID, &e.Organization, &e.Repository, &e.Workflow, &e.Branch, &e.Event,
			&e.DeliveryEvent, &e.RunID, &e.RunAttempt, &e.Outcome, &e.Verdict, &cancel, &created}
		if f.WithLog {
			dest = append(dest, &e.Log)
		}
		if err := rows.Scan(dest...); err != nil {
			return EvaluationPage{}, fmt.Errorf("store: evaluations: %w", err)
		}
		e.Cancel, e.CreatedAt = cancel == 1, fromNanos(created)
		e.Policies = []PolicyHit{}
		page.Evaluations = append(page.Evaluations, e)
	}
	if err := rows.Err(); err != nil {
		return EvaluationPage{}, fmt.Errorf("store: evaluations: %w", err)
	}
	if len(page.Evaluations) > f.Limit {
		page.Evaluations = page.Evaluations[:f.Limit]
		last := page.Evaluations[f.Limit-1]
		page.Next = &Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	if err := s.fillPolicies(ctx, page.Evaluations); err != nil {
		return EvaluationPage{}, err
	}
	return page, nil
}

// fillPolicies adds the policies that fired to a page of evaluations.
func (s *Store) fillPolicies(ctx context.Context, list []Evaluation) error {
	if len(list) == 0 {
		return nil
	}
	byID := make(map[string]*Evaluation, len(list))
	ids := make([]string, len(list))
	for i := range list {
		byID[list[i].ID] = &list[i]
		ids[i] = list[i].ID
	}
	in, args, err := inList(ids)
	if err != nil {
		return err
	}
	rows, err := s.query(ctx, "SELECT decision_id, policy, mode, findings FROM runpolicy_decision_policy WHERE decision_id IN "+
		in+" ORDER BY decision_id, policy", args...)
	if err != nil {
		return fmt.Errorf("store: policies of evaluations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var h PolicyHit
		if err := rows.Scan(&id, &h.Policy, &h.Mode, &h.Findings); err != nil {
			return fmt.Errorf("store: policies of evaluations: %w", err)
		}
		if e := byID[id]; e != nil {
			e.Policies = append(e.Policies, h)
		}
	}
	return rows.Err()
}

// DayCount is how many decisions of one verdict were made on one day (UTC).
type DayCount struct {
	Day     time.Time `json:"day"`
	Verdict string    `json:"verdict"`
	Count   int       `json:"count"`
}

// EvaluationsPerDay counts the decisions f selects by day and verdict,
// oldest day first, for the console's plot. After and Limit are ignored;
// bound the time with Since.
func (s *Store) EvaluationsPerDay(ctx context.Context, f EvaluationFilter) ([]DayCount, error) {
	f.After = nil
	from, cond, timeCol, _, args, err := f.where(false, true)
	if err != nil {
		return nil, fmt.Errorf("store: evaluations per day: %w", err)
	}
	day := int64(24 * time.Hour)
	rows, err := s.query(ctx, "SELECT "+timeCol+" / ? AS day, d.verdict, count(*) FROM "+from+" WHERE "+cond+
		" GROUP BY 1, 2 ORDER BY 1, 2", append([]any{day}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("store: evaluations per day: %w", err)
	}
	defer rows.Close()
	var out []DayCount
	for rows.Next() {
		var c DayCount
		var n int64
		if err := rows.Scan(&n, &c.Verdict, &c.Count); err != nil {
			return nil, fmt.Errorf("store: evaluations per day: %w", err)
		}
		c.Day = time.Unix(0, n*day).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// PolicyCount is how many decisions a policy found something in.
type PolicyCount struct {
	Policy    string `json:"policy"`
	Decisions int    `json:"decisions"`
	// Enforced counts those where it enforced (a deny).
	Enforced int `json:"enforced"`
}

// TopPolicies counts the decisions f selects by the policies that fired
// in them, most first, at most n (default 10). f.Policy is ignored.
func (s *Store) TopPolicies(ctx context.Context, f EvaluationFilter, n int) ([]PolicyCount, error) {
	if n <= 0 {
		n = 10
	}
	f.After, f.Policy = nil, ""
	from, cond, _, _, args, err := f.where(true, false)
	if err != nil {
		return nil, fmt.Errorf("store: top policies: %w", err)
	}
	rows, err := s.query(ctx, `SELECT p.policy, count(*), sum(CASE WHEN p.mode = 'enforce' THEN 1 ELSE 0 END)
		FROM `+from+` WHERE `+cond+` GROUP BY p.policy ORDER BY 2 DESC, 1 LIMIT ?`, append(args, n)...)
	if err != nil {
		return nil, fmt.Errorf("store: top policies: %w", err)
	}
	defer rows.Close()
	var out []PolicyCount
	for rows.Next() {
		var c PolicyCount
		if err := rows.Scan(&c.Policy, &c.Decisions, &c.Enforced); err != nil {
			return nil, fmt.Errorf("store: top policies: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DecisionByID returns one decision, with its log entry.
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

// RunActions returns what was done on GitHub for a run attempt (cancel,
// force_cancel, check_run, comment:N), in the order it was begun.
func (s *Store) RunActions(ctx context.Context, key RunKey) ([]Action, error) {
	rows, err := s.query(ctx, `SELECT action, owner, level, ref, created_at, done_at FROM runpolicy_run_action
		WHERE repository = ? AND run_id = ? AND run_attempt = ? ORDER BY created_at, action`,
		key.Repository, key.RunID, key.Attempt)
	if err != nil {
		return nil, fmt.Errorf("store: actions of %s: %w", key, err)
	}
	defer rows.Close()
	var out []Action
	for rows.Next() {
		a := Action{Key: key}
		var created, done int64
		if err := rows.Scan(&a.Name, &a.Owner, &a.Level, &a.Ref, &created, &done); err != nil {
			return nil, fmt.Errorf("store: actions of %s: %w", key, err)
		}
		a.CreatedAt, a.DoneAt = fromNanos(created), fromNanos(done)
		out = append(out, a)
	}
	return out, rows.Err()
}

// CountEvaluations counts the decisions f selects (After and Limit
// ignored): the total a replay's progress is measured against.
func (s *Store) CountEvaluations(ctx context.Context, f EvaluationFilter) (int, error) {
	f.After = nil
	from, cond, _, _, args, err := f.where(false, false)
	if err != nil {
		return 0, fmt.Errorf("store: count evaluations: %w", err)
	}
	var n int
	if err := s.queryRow(ctx, "SELECT count(*) FROM "+from+" WHERE "+cond, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count evaluations: %w", err)
	}
	return n, nil
}
