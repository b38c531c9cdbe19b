package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// OutcomeDryRun selects allowed decisions with dry-run findings: the
// console's fourth outcome, beside allow, deny and error.
const OutcomeDryRun = "dry_run"

// modeEnforce is the mode of an enforced finding, as the decision logs
// and the decision_policy rows spell it: engine.ModeEnforce. The store
// reads logs as JSON and does not import the engine (and OPA with it)
// for one word; TestModeEnforceIsTheEngines keeps the two the same.
const modeEnforce = "enforce"

// summary is what the console filters a decision by, read from its log.
type summary struct {
	owner, repositoryKey       string
	workflow, branch, runEvent string
	dryRun                     bool
	// policies maps each policy with findings to its strongest mode.
	policies map[string]string
	// uses is the input document's uses, undecoded: only a decision being
	// saved reads them (usagesOf), the backfill does not.
	uses json.RawMessage
}

// summarize reads a decision log entry (the shape webhook writes: run,
// input, result) for the columns the console filters on. A log it cannot
// read still gets its repository's columns: it stays visible to whoever
// may read the repository. One decode serves the summary and the uses.
func summarize(repository string, log []byte) summary {
	owner, _, _ := strings.Cut(repository, "/")
	s := summary{owner: strings.ToLower(owner), repositoryKey: strings.ToLower(repository), policies: map[string]string{}}
	var l struct {
		Run *struct {
			Path string `json:"workflow_path"`
		} `json:"run"`
		Input *struct {
			Run *struct {
				Event  string `json:"event"`
				Branch string `json:"branch"`
			} `json:"run"`
			Uses json.RawMessage `json:"uses"`
		} `json:"input"`
		Result *struct {
			Violations []struct {
				Policy string `json:"policy"`
				Mode   string `json:"mode"`
			} `json:"violations"`
		} `json:"result"`
	}
	err := json.Unmarshal(log, &l)
	// A field of the wrong type spoils the summary but not the uses:
	// Unmarshal still fills the rest (syntax errors fill nothing).
	if l.Input != nil {
		s.uses = l.Input.Uses
	}
	if err != nil {
		return s
	}
	if l.Run != nil {
		s.workflow = l.Run.Path
	}
	if l.Input != nil && l.Input.Run != nil {
		s.runEvent, s.branch = l.Input.Run.Event, l.Input.Run.Branch
	}
	if l.Result != nil {
		for _, v := range l.Result.Violations {
			if v.Policy == "" {
				continue
			}
			if v.Mode != modeEnforce {
				s.dryRun = true
			}
			if s.policies[v.Policy] != modeEnforce {
				s.policies[v.Policy] = v.Mode
			}
		}
	}
	return s
}

// insertDecision saves d with its summary unless its delivery already has
// a decision, and reports whether it did. A decision with findings saves
// its policies in the same transaction, so that a policy filter never
// misses a saved decision; one whose run used actions saves their
// inventory rows in it too (inventory.go).
func (s *Store) insertDecision(ctx context.Context, d Decision) (bool, error) {
	sum := summarize(d.Repository, d.Log)
	const insert = `INSERT INTO runpolicy_decision
		(id, delivery_id, event, repository, run_id, run_attempt, outcome, cancel, created_at, log,
		 owner, repository_key, workflow, branch, run_event, dry_run, summarized)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT DO NOTHING`
	args := []any{d.ID, d.DeliveryID, d.Event, d.Repository, d.RunID, d.RunAttempt, d.Outcome, boolInt(d.Cancel), nanos(d.CreatedAt), d.Log,
		sum.owner, sum.repositoryKey, sum.workflow, sum.branch, sum.runEvent, boolInt(sum.dryRun)}
	uses := usagesOf(sum.uses)
	if len(sum.policies) == 0 && len(uses) == 0 {
		res, err := s.exec(ctx, insert, args...)
		if err != nil {
			return false, err
		}
		n, _ := res.RowsAffected()
		return n == 1, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, s.dialect.rebind(insert), args...)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil
	}
	if err := s.insertPolicies(ctx, tx, d.ID, d.CreatedAt, sum.policies); err != nil {
		return false, err
	}
	if err := s.saveInventory(ctx, tx, d, sum.workflow, uses); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

func (s *Store) insertPolicies(ctx context.Context, tx *sql.Tx, id string, at time.Time, policies map[string]string) error {
	if len(policies) == 0 {
		return nil
	}
	q := "INSERT INTO runpolicy_decision_policy (decision_id, policy, mode, created_at) VALUES "
	args := make([]any, 0, 4*len(policies))
	first := true
	for p, mode := range policies {
		if !first {
			q += ", "
		}
		first = false
		q += "(?, ?, ?, ?)"
		args = append(args, id, p, mode, nanos(at))
	}
	_, err := tx.ExecContext(ctx, s.dialect.rebind(q+" ON CONFLICT DO NOTHING"), args...)
	return err
}

// summarizeDecisions fills the summary of decisions saved before the
// console's columns existed, a batch at a time. It runs after the
// migrations (under their lock on Postgres) and finds nothing to do once
// every row is summarized.
func (s *Store) summarizeDecisions(ctx context.Context) error {
	total := 0
	for {
		rows, err := s.query(ctx, `SELECT id, repository, created_at, log FROM runpolicy_decision
			WHERE summarized = 0 ORDER BY created_at LIMIT 500`)
		if err != nil {
			return fmt.Errorf("store: summarize decisions: %w", err)
		}
		type row struct {
			id, repository string
			created        int64
			log            []byte
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.repository, &r.created, &r.log); err != nil {
				rows.Close()
				return fmt.Errorf("store: summarize decisions: %w", err)
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: summarize decisions: %w", err)
		}
		if len(batch) == 0 {
			if total > 0 {
				s.logger.Info("decisions summarized for the console", "decisions", total)
			}
			return nil
		}
		for _, r := range batch {
			if err := s.summarizeOne(ctx, r.id, r.repository, fromNanos(r.created), r.log); err != nil {
				return fmt.Errorf("store: summarize decision %s: %w", r.id, err)
			}
		}
		total += len(batch)
	}
}

func (s *Store) summarizeOne(ctx context.Context, id, repository string, at time.Time, log []byte) error {
	sum := summarize(repository, log)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, s.dialect.rebind(`UPDATE runpolicy_decision SET owner = ?, repository_key = ?,
		workflow = ?, branch = ?, run_event = ?, dry_run = ?, summarized = 1 WHERE id = ?`),
		sum.owner, sum.repositoryKey, sum.workflow, sum.branch, sum.runEvent, boolInt(sum.dryRun), id); err != nil {
		return err
	}
	if err := s.insertPolicies(ctx, tx, id, at, sum.policies); err != nil {
		return err
	}
	return tx.Commit()
}

// Scope is what one reader may see. The zero Scope sees nothing: seeing
// everything is said with All, never left to a missing list.
type Scope struct {
	// All sees every decision (console administrators).
	All bool
	// Owners are accounts (case ignored) whose every repository is seen:
	// the organizations the reader owns.
	Owners []string
	// Repositories are owner/name (case ignored) the reader may read.
	Repositories []string
}

// Allows reports whether the scope sees a repository (owner/name).
func (sc Scope) Allows(repository string) bool {
	if sc.All {
		return true
	}
	owner, _, _ := strings.Cut(repository, "/")
	for _, o := range sc.Owners {
		if strings.EqualFold(o, owner) {
			return true
		}
	}
	for _, r := range sc.Repositories {
		if strings.EqualFold(r, repository) {
			return true
		}
	}
	return false
}

// where is the scope as a condition on the decision table aliased d.
func (sc Scope) where() (string, []any) {
	if sc.All {
		return "1 = 1", nil
	}
	var parts []string
	var args []any
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		parts = append(parts, col+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")+")")
		for _, v := range vals {
			args = append(args, strings.ToLower(v))
		}
	}
	in("d.owner", sc.Owners)
	in("d.repository_key", sc.Repositories)
	if len(parts) == 0 {
		return "1 = 0", nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// whereRepository is the scope as a condition on a column holding
// owner/name as GitHub spells it, for tables without the decision
// table's lower-cased owner and repository columns (approvals).
func (sc Scope) whereRepository(col string) (string, []any) {
	if sc.All {
		return "1 = 1", nil
	}
	var parts []string
	var args []any
	for _, o := range sc.Owners {
		// The owner's prefix, "owner/": LIKE would read _ and % in it.
		prefix := strings.ToLower(o) + "/"
		parts = append(parts, "substr(LOWER("+col+"), 1, ?) = ?")
		args = append(args, utf8.RuneCountInString(prefix), prefix)
	}
	if len(sc.Repositories) > 0 {
		parts = append(parts, "LOWER("+col+") IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(sc.Repositories)), ", ")+")")
		for _, r := range sc.Repositories {
			args = append(args, strings.ToLower(r))
		}
	}
	if len(parts) == 0 {
		return "1 = 0", nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

// Cursor is a place in the newest-first order of evaluations: keyset
// paging, so that a page deep in a million rows costs what the first does.
type Cursor struct {
	At time.Time
	ID string
}

// String encodes the cursor for a URL; ParseCursor reads it back.
func (c Cursor) String() string { return fmt.Sprintf("%d.%s", c.At.UnixNano(), c.ID) }

// ParseCursor reads a cursor written by String.
func ParseCursor(s string) (Cursor, error) {
	at, id, ok := strings.Cut(s, ".")
	var n int64
	if _, err := fmt.Sscan(at, &n); !ok || err != nil || id == "" || n <= 0 {
		return Cursor{}, fmt.Errorf("cursor %q: want <nanoseconds>.<decision id>", s)
	}
	return Cursor{At: fromNanos(n), ID: id}, nil
}

// EvaluationFilter selects evaluations (decisions) for the console. Empty
// fields match everything; Scope must say what the reader may see.
type EvaluationFilter struct {
	Scope Scope
	// Organization is the repository owner; Repository is owner/name.
	// Both ignore case.
	Organization string
	Repository   string
	// Workflow is the workflow file's path (.github/workflows/ci.yml).
	Workflow string
	Branch   string
	// Event is the event that triggered the run (push, pull_request, …).
	Event string
	// Outcome is OutcomeAllow, OutcomeDeny, OutcomeError or OutcomeDryRun
	// (allowed, with dry-run findings).
	Outcome string
	// Policy selects decisions in which that policy found violations.
	Policy string
	// Since and Until bound the decision time: Since <= t < Until.
	Since, Until time.Time
	// Before pages to older evaluations than the cursor, After to newer.
	Before, After *Cursor
	// Limit is the page size (default 50, at most 200).
	Limit int
}

func (f EvaluationFilter) where() (string, []any) {
	cond, args := f.Scope.where()
	conds := []string{cond}
	add := func(c string, v ...any) {
		conds = append(conds, c)
		args = append(args, v...)
	}
	if f.Organization != "" {
		add("d.owner = ?", strings.ToLower(f.Organization))
	}
	if f.Repository != "" {
		add("d.repository_key = ?", strings.ToLower(f.Repository))
	}
	if f.Workflow != "" {
		add("d.workflow = ?", f.Workflow)
	}
	if f.Branch != "" {
		add("d.branch = ?", f.Branch)
	}
	if f.Event != "" {
		add("d.run_event = ?", f.Event)
	}
	switch f.Outcome {
	case "":
		// The decision log also keeps approval clicks and revokes (outcomes
		// approved, refused, revoked): events, not evaluations of runs.
		add("d.outcome IN (?, ?, ?)", OutcomeAllow, OutcomeDeny, OutcomeError)
	case OutcomeDryRun:
		add("d.outcome = ? AND d.dry_run = 1", OutcomeAllow)
	default:
		add("d.outcome = ?", f.Outcome)
	}
	if f.Policy != "" {
		add("EXISTS (SELECT 1 FROM runpolicy_decision_policy fp WHERE fp.decision_id = d.id AND fp.policy = ?)", f.Policy)
	}
	if !f.Since.IsZero() {
		add("d.created_at >= ?", nanos(f.Since))
	}
	if !f.Until.IsZero() {
		add("d.created_at < ?", nanos(f.Until))
	}
	return strings.Join(conds, " AND "), args
}

// PolicyMode is a policy that found violations in one decision, with the
// strongest mode among them (enforce, else dry_run).
type PolicyMode struct {
	Policy string
	Mode   string
}

// Evaluation is one decision as the console lists it.
type Evaluation struct {
	ID, DeliveryID string
	// Event is the delivery's (workflow_run or workflow_job); RunEvent
	// the one that triggered the run.
	Event      string
	Repository string
	RunID      int64
	RunAttempt int
	Workflow   string
	Branch     string
	RunEvent   string
	Outcome    string
	DryRun     bool
	Cancel     bool
	CreatedAt  time.Time
	Policies   []PolicyMode
	// Actions are what this decision did on GitHub, done ones only.
	Actions []Action
}

// Cursor is the evaluation's place in the order.
func (e Evaluation) Cursor() Cursor { return Cursor{At: e.CreatedAt, ID: e.ID} }

// EvaluationPage is one page, newest first. Older and Newer are the
// cursors of the neighbouring pages, nil at either end.
type EvaluationPage struct {
	Evaluations  []Evaluation
	Older, Newer *Cursor
}

// Evaluations lists one page of the evaluations f selects, newest first,
// with their policies and the actions they took.
func (s *Store) Evaluations(ctx context.Context, f EvaluationFilter) (EvaluationPage, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 200)
	cond, args := f.where()
	order := "DESC"
	switch {
	case f.Before != nil:
		// The first bound alone is a range on the created_at index.
		cond += " AND d.created_at <= ? AND (d.created_at < ? OR d.id < ?)"
		args = append(args, nanos(f.Before.At), nanos(f.Before.At), f.Before.ID)
	case f.After != nil:
		cond += " AND d.created_at >= ? AND (d.created_at > ? OR d.id > ?)"
		args = append(args, nanos(f.After.At), nanos(f.After.At), f.After.ID)
		order = "ASC"
	}
	q := `SELECT d.id, d.delivery_id, d.event, d.repository, d.run_id, d.run_attempt, d.workflow, d.branch,
		d.run_event, d.outcome, d.dry_run, d.cancel, d.created_at
		FROM runpolicy_decision d WHERE ` + cond + ` ORDER BY d.created_at ` + order + `, d.id ` + order + ` LIMIT ?`
	rows, err := s.query(ctx, q, append(args, f.Limit+1)...)
	if err != nil {
		return EvaluationPage{}, fmt.Errorf("store: evaluations: %w", err)
	}
	defer rows.Close()
	var list []Evaluation
	for rows.Next() {
		var e Evaluation
		var dry, cancel int
		var created int64
		if err := rows.Scan(&e.ID, &e.DeliveryID, &e.Event, &e.Repository, &e.RunID, &e.RunAttempt, &e.Workflow, &e.Branch,
			&e.RunEvent, &e.Outcome, &dry, &cancel, &created); err != nil {
			return EvaluationPage{}, fmt.Errorf("store: evaluations: %w", err)
		}
		e.DryRun, e.Cancel, e.CreatedAt = dry == 1, cancel == 1, fromNanos(created)
		list = append(list, e)
	}
	if err := rows.Err(); err != nil {
		return EvaluationPage{}, fmt.Errorf("store: evaluations: %w", err)
	}
	rows.Close()
	more := len(list) > f.Limit
	if more {
		list = list[:f.Limit]
	}
	var page EvaluationPage
	if f.After != nil {
		for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
			list[i], list[j] = list[j], list[i]
		}
	}
	if len(list) > 0 {
		first, last := list[0].Cursor(), list[len(list)-1].Cursor()
		if (f.After == nil && more) || f.After != nil {
			page.Older = &last
		}
		if f.Before != nil || (f.After != nil && more) {
			page.Newer = &first
		}
	}
	if err := s.decorate(ctx, list); err != nil {
		return EvaluationPage{}, err
	}
	page.Evaluations = list
	return page, nil
}

// decorate adds each evaluation's policies and the actions it took: two
// queries for the page, by primary key.
func (s *Store) decorate(ctx context.Context, list []Evaluation) error {
	if len(list) == 0 {
		return nil
	}
	byID := make(map[string]*Evaluation, len(list))
	ids := make([]any, 0, len(list))
	var runs []string
	var runArgs []any
	for i := range list {
		e := &list[i]
		byID[e.ID] = e
		ids = append(ids, e.ID)
		runs = append(runs, "(repository = ? AND run_id = ? AND run_attempt = ?)")
		runArgs = append(runArgs, e.Repository, e.RunID, e.RunAttempt)
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	rows, err := s.query(ctx, `SELECT decision_id, policy, mode FROM runpolicy_decision_policy
		WHERE decision_id IN (`+marks+`) ORDER BY decision_id, policy`, ids...)
	if err != nil {
		return fmt.Errorf("store: evaluation policies: %w", err)
	}
	for rows.Next() {
		var id string
		var p PolicyMode
		if err := rows.Scan(&id, &p.Policy, &p.Mode); err != nil {
			rows.Close()
			return fmt.Errorf("store: evaluation policies: %w", err)
		}
		if e := byID[id]; e != nil {
			e.Policies = append(e.Policies, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: evaluation policies: %w", err)
	}
	actions, err := s.actions(ctx, "done_at <> 0 AND ("+strings.Join(runs, " OR ")+")", runArgs...)
	if err != nil {
		return err
	}
	for _, a := range actions {
		if e := byID[a.Owner]; e != nil {
			e.Actions = append(e.Actions, a)
		}
	}
	return nil
}

// actions lists the run actions matching cond that are done on GitHub,
// oldest first: not the claims on judging a run or job (judge:…), which
// only keep deliveries from judging twice.
func (s *Store) actions(ctx context.Context, cond string, args ...any) ([]Action, error) {
	rows, err := s.query(ctx, `SELECT repository, run_id, run_attempt, action, owner, level, raised_by, ref, created_at, done_at
		FROM runpolicy_run_action WHERE `+cond+` ORDER BY created_at, action`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: run actions: %w", err)
	}
	defer rows.Close()
	var out []Action
	for rows.Next() {
		var a Action
		var created, done int64
		if err := rows.Scan(&a.Key.Repository, &a.Key.RunID, &a.Key.Attempt, &a.Name, &a.Owner, &a.Level, &a.RaisedBy, &a.Ref, &created, &done); err != nil {
			return nil, fmt.Errorf("store: run actions: %w", err)
		}
		a.CreatedAt, a.DoneAt = fromNanos(created), fromNanos(done)
		if !strings.HasPrefix(a.Name, "judge:") {
			out = append(out, a)
		}
	}
	return out, rows.Err()
}

// Evaluation returns one decision the scope sees, with every action on its
// run attempt (whichever decision took it). A decision outside the scope
// is ErrNotFound, as one that does not exist.
func (s *Store) Evaluation(ctx context.Context, scope Scope, id string) (*Decision, []Action, error) {
	cond, args := scope.where()
	d, err := scanDecision(s.queryRow(ctx, "SELECT "+strings.ReplaceAll("d."+decisionColumns, ", ", ", d.")+
		" FROM runpolicy_decision d WHERE d.id = ? AND "+cond, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("store: evaluation %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: evaluation %s: %w", id, err)
	}
	actions, err := s.actions(ctx, "repository = ? AND run_id = ? AND run_attempt = ?", d.Repository, d.RunID, d.RunAttempt)
	if err != nil {
		return nil, nil, err
	}
	return &d, actions, nil
}

// DayCount is the decisions of one UTC day by outcome; DryRun counts the
// allowed ones with dry-run findings, which Allow leaves out.
type DayCount struct {
	Day                         time.Time
	Allow, DryRun, Deny, Errors int
}

// Total is the day's decisions.
func (d DayCount) Total() int { return d.Allow + d.DryRun + d.Deny + d.Errors }

// PolicyCount is how many decisions a policy found violations in, and in
// how many of them it enforced.
type PolicyCount struct {
	Policy             string
	Decisions, Enforce int
}

// EvaluationStats are the counts behind the console's plots.
type EvaluationStats struct {
	// Days holds every day from Since to Until, empty ones too.
	Days        []DayCount
	TopPolicies []PolicyCount
	Total       int
}

const day = 24 * time.Hour

// EvaluationStats counts the evaluations f selects per day and outcome,
// and the top policies among them (f's cursors and limit are ignored).
// f.Since and f.Until are required: they bound the days.
func (s *Store) EvaluationStats(ctx context.Context, f EvaluationFilter, top int) (EvaluationStats, error) {
	if f.Since.IsZero() || f.Until.IsZero() || !f.Until.After(f.Since) {
		return EvaluationStats{}, errors.New("store: evaluation stats: want a time range")
	}
	if f.Until.Sub(f.Since) > 400*day {
		return EvaluationStats{}, errors.New("store: evaluation stats: a time range of at most 400 days")
	}
	f.Before, f.After = nil, nil
	cond, args := f.where()
	dayNanos := int64(day)
	rows, err := s.query(ctx, fmt.Sprintf(`SELECT d.created_at / %d, d.outcome, d.dry_run, count(*)
		FROM runpolicy_decision d WHERE %s GROUP BY d.created_at / %d, d.outcome, d.dry_run`, dayNanos, cond, dayNanos), args...)
	if err != nil {
		return EvaluationStats{}, fmt.Errorf("store: evaluation stats: %w", err)
	}
	first := f.Since.UTC().Truncate(day)
	var st EvaluationStats
	for d := first; d.Before(f.Until); d = d.Add(day) {
		st.Days = append(st.Days, DayCount{Day: d})
	}
	for rows.Next() {
		var bucket int64
		var outcome string
		var dry, n int
		if err := rows.Scan(&bucket, &outcome, &dry, &n); err != nil {
			rows.Close()
			return EvaluationStats{}, fmt.Errorf("store: evaluation stats: %w", err)
		}
		i := int((bucket*dayNanos - first.UnixNano()) / dayNanos)
		if i < 0 || i >= len(st.Days) {
			continue
		}
		c := &st.Days[i]
		switch {
		case outcome == OutcomeDeny:
			c.Deny += n
		case outcome == OutcomeError:
			c.Errors += n
		case dry == 1:
			c.DryRun += n
		default:
			c.Allow += n
		}
		st.Total += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return EvaluationStats{}, fmt.Errorf("store: evaluation stats: %w", err)
	}
	if top <= 0 {
		return st, nil
	}
	rows, err = s.query(ctx, `SELECT p.policy, count(*), sum(CASE WHEN p.mode = ? THEN 1 ELSE 0 END)
		FROM runpolicy_decision_policy p JOIN runpolicy_decision d ON d.id = p.decision_id
		WHERE `+cond+` GROUP BY p.policy ORDER BY count(*) DESC, p.policy LIMIT ?`, append(append([]any{modeEnforce}, args...), top)...)
	if err != nil {
		return EvaluationStats{}, fmt.Errorf("store: top policies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p PolicyCount
		if err := rows.Scan(&p.Policy, &p.Decisions, &p.Enforce); err != nil {
			return EvaluationStats{}, fmt.Errorf("store: top policies: %w", err)
		}
		st.TopPolicies = append(st.TopPolicies, p)
	}
	return st, rows.Err()
}
