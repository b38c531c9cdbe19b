package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	gh "github.com/google/go-github/v62/github"
	"github.com/riverqueue/river"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// memStore is an in-memory store with the semantics of *store.Store for
// what the judge, the actor and the run handlers use: decisions, one per
// delivery; actions claimed once per run attempt; scheduled jobs.
type memStore struct {
	mu        sync.Mutex
	decisions map[string]store.Decision // by delivery
	actions   map[string]*store.Action  // by run key and name
	jobs      []queued
	// deliveries and notes are what the dispatcher keeps.
	deliveries map[string]*store.Delivery
	// approvals are the approvals saved; lookups counts ApprovalsFor.
	approvals []store.Approval
	lookups   int
}

func (m *memStore) ApprovalsFor(_ context.Context, repository, path string, now time.Time) ([]store.Approval, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lookups++
	var out []store.Approval
	for _, a := range m.approvals {
		if a.Repository == repository && a.WorkflowPath == path && a.Active(now) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (m *memStore) SaveApproval(_ context.Context, a store.Approval) (store.Approval, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, prev := range m.approvals {
		if prev.ID == a.ID {
			return prev, nil
		}
	}
	m.approvals = append(m.approvals, a)
	return a, nil
}

// Decisions lists decisions newest first, at most the filter's limit
// (default 100, at most 1000), as *store.Store does.
func (m *memStore) Decisions(_ context.Context, f store.DecisionFilter) ([]store.Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Decision
	for _, d := range m.decisions {
		if (f.Repository == "" || d.Repository == f.Repository) && (f.RunID == 0 || d.RunID == f.RunID) &&
			(f.DeliveryID == "" || d.DeliveryID == f.DeliveryID) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b store.Decision) int { return b.CreatedAt.Compare(a.CreatedAt) })
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = min(max(f.Limit, 100), 1000)
	}
	return out[:min(len(out), f.Limit)], nil
}

func (m *memStore) DecisionByID(_ context.Context, id string) (*store.Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range m.decisions {
		if d.ID == id {
			return &d, nil
		}
	}
	return nil, fmt.Errorf("decision %s: %w", id, store.ErrNotFound)
}

func (m *memStore) Approval(_ context.Context, id string) (store.Approval, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.approvals {
		if a.ID == id {
			return a, nil
		}
	}
	return store.Approval{}, fmt.Errorf("approval %s: %w", id, store.ErrNotFound)
}

// RevokeApproval revokes an approval once, as *store.Store does.
func (m *memStore) RevokeApproval(_ context.Context, id, by string, at time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, a := range m.approvals {
		if a.ID != id {
			continue
		}
		if !a.RevokedAt.IsZero() {
			return false, nil
		}
		m.approvals[i].RevokedAt, m.approvals[i].RevokedBy = at, by
		return true, nil
	}
	return false, fmt.Errorf("approval %s: %w", id, store.ErrNotFound)
}

// Permission and RerunRun are the approve handler's calls: roles by
// login, re-runs recorded.
func (f *fakeGitHub) Permission(_ context.Context, owner, repo, user string) (string, error) {
	f.record("permission %s", user)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.roles[user], nil
}

func (f *fakeGitHub) RerunRun(_ context.Context, owner, repo string, id int64) error {
	f.record("rerun %d", id)
	f.mu.Lock()
	defer f.mu.Unlock()
	// GitHub starts a new attempt of the run, which its GET run shows
	// from then on.
	f.attempt[id] = max(f.attempt[id], 1) + 1
	f.status[id], f.conclusion[id] = "in_progress", ""
	return nil
}

type queued struct {
	args river.JobArgs
	at   time.Time
}

func newMemStore() *memStore {
	return &memStore{decisions: map[string]store.Decision{}, actions: map[string]*store.Action{}, deliveries: map[string]*store.Delivery{}}
}

func actionKey(key store.RunKey, name string) string { return key.String() + "/" + name }

func (m *memStore) DecisionForDelivery(_ context.Context, id string) (*store.Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.decisions[id]
	if !ok {
		return nil, fmt.Errorf("decision for delivery %s: %w", id, store.ErrNotFound)
	}
	return &d, nil
}

// SaveDecision encodes the decision's entry as its log, as *store.Store
// does.
func (m *memStore) SaveDecision(_ context.Context, d store.Decision) (store.Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev, ok := m.decisions[d.DeliveryID]; ok {
		return prev, nil
	}
	if d.Entry != nil {
		log, err := json.Marshal(d.Entry)
		if err != nil {
			return store.Decision{}, err
		}
		d.Log, d.Entry = log, nil
	}
	m.decisions[d.DeliveryID] = d
	return d, nil
}

func (m *memStore) Claim(_ context.Context, key store.RunKey, name, owner string, level int) (store.Action, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := actionKey(key, name)
	a, ok := m.actions[k]
	if !ok {
		a = &store.Action{Key: key, Name: name, Owner: owner, Level: level, CreatedAt: time.Now()}
		m.actions[k] = a
	}
	out := *a
	out.Fresh = !ok
	return out, nil
}

func (m *memStore) Action(_ context.Context, key store.RunKey, name string) (store.Action, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.actions[actionKey(key, name)]
	if !ok {
		return store.Action{}, fmt.Errorf("%s on %s: %w", name, key, store.ErrNotFound)
	}
	return *a, nil
}

// update changes an action its owner holds, as the store's UPDATE … WHERE
// owner = ? does.
func (m *memStore) update(key store.RunKey, name, owner string, fn func(*store.Action)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.actions[actionKey(key, name)]; ok && a.Owner == owner {
		fn(a)
	}
}

func (m *memStore) TakeOver(_ context.Context, key store.RunKey, name, from, owner string, level int) (bool, error) {
	took := false
	m.update(key, name, from, func(a *store.Action) {
		if a.DoneAt.IsZero() {
			a.Owner, a.Level, took = owner, level, true
		}
	})
	return took, nil
}

func (m *memStore) SetRef(_ context.Context, key store.RunKey, name, owner, ref string) error {
	m.update(key, name, owner, func(a *store.Action) { a.Ref = ref })
	return nil
}

func (m *memStore) Complete(_ context.Context, key store.RunKey, name, owner, ref string) error {
	m.update(key, name, owner, func(a *store.Action) { a.Ref, a.DoneAt = ref, time.Now() })
	return nil
}

func (m *memStore) Raise(_ context.Context, key store.RunKey, name, by string, level int) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.actions[actionKey(key, name)]
	if !ok || a.Level >= level || a.DoneAt.IsZero() {
		return false, nil
	}
	a.Level, a.RaisedBy = level, by
	return true, nil
}

func (m *memStore) Mark(_ context.Context, key store.RunKey, name, owner, ref string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.actions[actionKey(key, name)] = &store.Action{Key: key, Name: name, Owner: owner, Ref: ref, CreatedAt: now, DoneAt: now}
	return nil
}

func (m *memStore) HandedBack(_ context.Context, key store.RunKey) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.actions {
		if a.Key == key && a.Owner == "" && a.DoneAt.IsZero() {
			return true, nil
		}
	}
	return false, nil
}

func (m *memStore) InstallationFor(context.Context, string) (store.Installation, error) {
	return store.Installation{}, store.ErrNotFound
}

func (m *memStore) Enqueue(_ context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := queued{args: args}
	if opts != nil {
		q.at = opts.ScheduledAt
	}
	m.jobs = append(m.jobs, q)
	return nil
}

func (m *memStore) done(key store.RunKey, name string) (store.Action, bool) {
	a, err := m.Action(context.Background(), key, name)
	return a, err == nil && a.Done()
}

// fakeGitHub is GitHub's API as the judge and the actor see it, one
// client for every installation: files by repository, ref and path, runs
// by id, and a record of the calls that change something.
type fakeGitHub struct {
	mu     sync.Mutex
	files  map[string][]byte
	runs   map[int64]map[string]any
	status map[int64]string // run status: queued, in_progress, completed
	// conclusion is a completed run's; attempt the run's latest attempt
	// (1 when not set), which GitHub's GET run shows.
	conclusion map[int64]string
	attempt    map[int64]int
	// fail answers the calls whose name it returns an error for.
	fail   func(call string) error
	calls  []string
	nextID int64
	checks map[int64]github.CheckRun
	// comments are the pull request comments by id.
	comments map[int64]fakeComment
	// roles are the users' roles on every repository.
	roles map[string]string
}

type fakeComment struct {
	pr   int
	body string
}

func newFakeGitHub() *fakeGitHub {
	return &fakeGitHub{files: map[string][]byte{}, runs: map[int64]map[string]any{}, status: map[int64]string{},
		conclusion: map[int64]string{}, attempt: map[int64]int{},
		checks: map[int64]github.CheckRun{}, comments: map[int64]fakeComment{}, roles: map[string]string{}, nextID: 100}
}

// judgeClients and actorClients are the factories the judge and the actor
// take: the same fake for every installation.
func (f *fakeGitHub) judgeClients(installation int64) judgeClient { return f }
func (f *fakeGitHub) actorClients(installation int64) actorClient { return f }

func (f *fakeGitHub) record(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, a...))
}

// count counts the calls that start with prefix.
func (f *fakeGitHub) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func (f *fakeGitHub) failing(call string) error {
	if f.fail == nil {
		return nil
	}
	return f.fail(call)
}

func (f *fakeGitHub) Content(_ context.Context, owner, repo, path, ref string) ([]byte, error) {
	f.record("content %s/%s/%s@%s", owner, repo, path, ref)
	if err := f.failing("content"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.files[owner+"/"+repo+"/"+path+"@"+ref]
	if !ok {
		return nil, fmt.Errorf("get %s/%s/%s@%s: %w", owner, repo, path, ref, github.ErrNotFound)
	}
	return b, nil
}

func (f *fakeGitHub) RunJSON(_ context.Context, owner, repo string, id int64) (json.RawMessage, error) {
	f.record("run json %d", id)
	if err := f.failing("run json"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	run, ok := f.runs[id]
	if !ok {
		return nil, fmt.Errorf("run %d: %w", id, github.ErrNotFound)
	}
	return json.Marshal(run)
}

func (f *fakeGitHub) Run(_ context.Context, owner, repo string, id int64) (*gh.WorkflowRun, error) {
	f.record("run %d", id)
	f.mu.Lock()
	defer f.mu.Unlock()
	return &gh.WorkflowRun{ID: gh.Int64(id), Status: gh.String(f.status[id]), Conclusion: gh.String(f.conclusion[id]),
		RunAttempt: gh.Int(max(f.attempt[id], 1))}, nil
}

func (f *fakeGitHub) CancelRun(_ context.Context, owner, repo string, id int64) (github.CancelResult, error) {
	f.record("cancel %d", id)
	if err := f.failing("cancel"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status[id] == "completed" {
		return github.CancelFinished, nil
	}
	return github.CancelAccepted, nil
}

func (f *fakeGitHub) ForceCancelRun(_ context.Context, owner, repo string, id int64) (github.CancelResult, error) {
	f.record("force-cancel %d", id)
	return github.CancelAccepted, nil
}

func (f *fakeGitHub) FindCheckRun(_ context.Context, owner, repo, sha, name, externalID string) (int64, error) {
	f.record("find check run %s", externalID)
	return 0, nil
}

func (f *fakeGitHub) CreateCheckRun(_ context.Context, owner, repo string, cr github.CheckRun) (int64, error) {
	f.record("create check run %s %s", cr.ExternalID, cr.Conclusion)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.checks[f.nextID] = cr
	return f.nextID, nil
}

func (f *fakeGitHub) UpdateCheckRun(_ context.Context, owner, repo string, id int64, cr github.CheckRun) error {
	f.record("update check run %d %s", id, cr.Conclusion)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks[id] = cr
	return nil
}

func (f *fakeGitHub) FindComment(_ context.Context, owner, repo string, pr int, marker string) (int64, error) {
	f.record("find comment %d", pr)
	f.mu.Lock()
	defer f.mu.Unlock()
	var found int64
	for id, c := range f.comments {
		if c.pr == pr && strings.Contains(c.body, marker) && (found == 0 || id < found) {
			found = id
		}
	}
	return found, nil
}

func (f *fakeGitHub) CreateComment(_ context.Context, owner, repo string, pr int, body string) (int64, error) {
	f.record("create comment %d", pr)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.comments[f.nextID] = fakeComment{pr, body}
	return f.nextID, nil
}

func (f *fakeGitHub) UpdateComment(_ context.Context, owner, repo string, id int64, body string) error {
	f.record("update comment %d", id)
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.comments[id]
	c.body = body
	f.comments[id] = c
	return nil
}

// fakeEngine decides by the workflow's uses: any step using "evil/"
// is an enforced violation, "shady/" a dry-run one. It counts its
// evaluations.
type fakeEngine struct {
	mu    sync.Mutex
	evals int
	err   error
}

func (e *fakeEngine) Eval(ctx context.Context, doc *input.Document) (*engine.Decision, error) {
	e.mu.Lock()
	e.evals++
	err := e.err
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	d := &engine.Decision{Allow: true, Violations: []engine.Violation{}, Warnings: []engine.Violation{}}
	for _, u := range doc.Uses {
		switch {
		case strings.HasPrefix(u.Raw, "evil/"):
			d.Allow = false
			d.Violations = append(d.Violations, engine.Violation{Policy: "allowed_actions", Mode: engine.ModeEnforce, Message: u.Raw + " is not allowed", Uses: u.Raw, Line: u.Line})
		case strings.HasPrefix(u.Raw, "approvable/") && !approved(doc, "harden_runner"):
			d.Allow = false
			d.Violations = append(d.Violations, engine.Violation{Policy: "harden_runner", Mode: engine.ModeEnforce, Approvable: true,
				Message: u.Raw + " runs unhardened", Uses: u.Raw, Line: u.Line})
		case strings.HasPrefix(u.Raw, "shady/"):
			d.Violations = append(d.Violations, engine.Violation{Policy: "allowed_actions", Mode: engine.ModeDryRun, Message: u.Raw + " is not allowed", Uses: u.Raw, Line: u.Line})
		}
	}
	return d, nil
}

// approved reports an approval in the document that waives policy.
func approved(doc *input.Document, policy string) bool {
	for _, a := range doc.Approvals {
		if slices.Contains(a.Policies, policy) {
			return true
		}
	}
	return false
}

func (e *fakeEngine) Revisions() map[string]string { return map[string]string{"builtin": "test"} }

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func testTemplate() *template.Template {
	return template.Must(NewCommentTemplate(DefaultCommentTemplate))
}

func (m *memStore) Delivery(_ context.Context, id string) (*store.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.deliveries[id]
	if !ok {
		return nil, fmt.Errorf("delivery %s: %w", id, store.ErrNotFound)
	}
	cp := *d
	return &cp, nil
}

func (m *memStore) LeaseDelivery(context.Context, string, string) (bool, error) { return false, nil }
func (m *memStore) ReleaseDelivery(context.Context, string, string) error       { return nil }
func (m *memStore) HandBack(context.Context, string) (int64, error)             { return 0, nil }

func (m *memStore) FinishDelivery(_ context.Context, id, state, note string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d, ok := m.deliveries[id]; ok {
		d.State, d.Note = state, note
	}
	return nil
}
