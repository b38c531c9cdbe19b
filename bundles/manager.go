package bundles

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/internal/oneline"
)

// checkTimeout bounds one check of one source: listing, fetching, reading.
const checkTimeout = 2 * time.Minute

// TokenSource returns a token for an https git remote or bundle service of
// repo (owner/name), such as a GitHub App installation token.
type TokenSource func(ctx context.Context, repo string) (string, error)

// SourceStatus is what GET /status/bundles shows for one source.
type SourceStatus struct {
	// Name and Type are the source's configured name and type ("builtin"
	// for the embedded bundle).
	Name string `json:"name"`
	Type string `json:"type"`
	// URL is the configured location, without credentials.
	URL string `json:"url,omitempty"`
	// Revision is the active revision; empty before the first activation.
	Revision string `json:"revision"`
	// ActivatedAt is when Revision became active.
	ActivatedAt time.Time `json:"activated_at,omitzero"`
	// LastCheck is when the source was last checked for a new revision.
	LastCheck time.Time `json:"last_check,omitzero"`
	// LastError is why the last check failed (fetch, signature, Rego,
	// settings or tests); empty when it succeeded. While it is set the
	// previous revision stays active.
	LastError string `json:"last_error,omitempty"`
	// FailedRevision is the refused revision LastError is about, when
	// the failure got that far.
	FailedRevision string `json:"failed_revision,omitempty"`
	// CompromisedExceptions, on the built-in bundle's row, are the
	// compromised-list entries settings took off the list.
	CompromisedExceptions []engine.Exception `json:"compromised_exceptions,omitempty"`
}

// Manager keeps a set of sources loaded into an engine: it loads them all
// at Start, polls each on its interval, and activates a new revision only
// after it compiled, its settings validated and (with run_tests) its tests
// passed. It is safe for concurrent use.
type Manager struct {
	eng     *engine.Engine
	builtin bool
	logger  *slog.Logger
	tokens  TokenSource
	reg     prometheus.Registerer
	metrics *metrics
	sources []*source

	// load serializes activations and guards each source's active
	// snapshot; it is held while a candidate set compiles.
	load sync.Mutex
	// mu guards status fields, briefly, so Status never waits on a compile.
	mu      sync.Mutex
	started bool
	ready   atomic.Bool
}

// source is one configured source and its state.
type source struct {
	cfg     SourceConfig
	fetcher fetcher
	refresh chan struct{} // a pending webhook refresh; capacity 1

	active *snapshot // in the engine; guarded by Manager.load

	// Guarded by Manager.mu.
	seen    string // last version read, activated or refused
	seenErr string // why seen was refused, "" when it was not
	seenRev string // seen's revision, for FailedRevision
	status  SourceStatus
}

// ManagerOption configures a Manager.
type ManagerOption func(*Manager)

// WithBuiltin says whether the engine carries the built-in bundle (default
// true). It must match the engine; the built-in bundle is then listed in
// Status and available to the sources' tests.
func WithBuiltin(on bool) ManagerOption { return func(m *Manager) { m.builtin = on } }

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) ManagerOption { return func(m *Manager) { m.logger = l } }

// WithRegisterer registers the manager's metrics with r; by default they
// are kept but not exported.
func WithRegisterer(r prometheus.Registerer) ManagerOption { return func(m *Manager) { m.reg = r } }

// WithTokenSource sets the callback that gives sources with
// token_from_app their token (a GitHub App installation token).
func WithTokenSource(ts TokenSource) ManagerOption { return func(m *Manager) { m.tokens = ts } }

// NewManager checks sources (names, types, URLs, key files) and returns a
// manager that loads them into eng once started.
func NewManager(eng *engine.Engine, sources []SourceConfig, opts ...ManagerOption) (*Manager, error) {
	if eng == nil {
		return nil, errors.New("bundles: nil engine")
	}
	m := &Manager{eng: eng, builtin: true, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(m)
	}
	if _, has := eng.Revisions()[engine.BuiltinName]; has != m.builtin {
		return nil, fmt.Errorf("bundles: the engine %s the built-in bundle but the manager was told otherwise (WithBuiltin(%v))", map[bool]string{true: "has", false: "lacks"}[has], m.builtin)
	}
	names := map[string]bool{}
	for _, c := range sources {
		c, err := c.normalize()
		if err != nil {
			return nil, err
		}
		if names[c.Name] {
			return nil, fmt.Errorf("bundle source %s: name used twice", c.Name)
		}
		names[c.Name] = true
		f, err := newFetcher(c, m.tokens)
		if err != nil {
			return nil, err
		}
		m.sources = append(m.sources, &source{
			cfg:     c,
			fetcher: f,
			refresh: make(chan struct{}, 1),
			status:  SourceStatus{Name: c.Name, Type: c.Type, URL: redact(c.URL)},
		})
	}
	var err error
	if m.metrics, err = newMetrics(m.reg); err != nil {
		return nil, err
	}
	return m, nil
}

// Start loads every source once and activates the set, then polls each
// source on its interval in the background until ctx ends. It returns the
// first load's errors, each naming its source. Polling goes on regardless,
// so a server may stay up, unready, until a good revision lands, or exit.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	if m.started {
		m.mu.Unlock()
		return errors.New("bundles: manager already started")
	}
	m.started = true
	m.mu.Unlock()

	err := m.loadAll(ctx)
	for _, s := range m.sources {
		go m.poll(ctx, s)
	}
	return err
}

// loadAll fetches every source in parallel and activates them together.
// When the whole set is refused it falls back to adding the sources one by
// one, in order, so the error lands on the source that causes it and the
// good ones are still enforced.
func (m *Manager) loadAll(ctx context.Context) error {
	snaps := make([]*snapshot, len(m.sources))
	var wg sync.WaitGroup
	for i, s := range m.sources {
		wg.Go(func() { snaps[i], _ = m.fetch(ctx, s) })
	}
	wg.Wait()

	m.load.Lock()
	var pending []*source
	cand := map[*source]*snapshot{}
	for i, s := range m.sources {
		if snaps[i] != nil {
			pending = append(pending, s)
			cand[s] = snaps[i]
		}
	}
	if len(pending) > 0 && m.activate(ctx, cand) != nil && len(pending) > 1 {
		for _, s := range pending {
			_ = m.activate(ctx, map[*source]*snapshot{s: cand[s]})
		}
	}
	m.load.Unlock()
	m.updateReady()

	var errs []string
	for _, st := range m.Status() {
		if st.LastError != "" {
			errs = append(errs, fmt.Sprintf("bundle source %s: %s", st.Name, st.LastError))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// poll checks s on its interval, and at once when a webhook asks.
func (m *Manager) poll(ctx context.Context, s *source) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.refresh:
		}
		m.check(ctx, s)
	}
}

// check fetches s and activates what changed.
func (m *Manager) check(ctx context.Context, s *source) {
	snap, err := m.fetch(ctx, s)
	if err != nil || snap == nil {
		return
	}
	m.load.Lock()
	_ = m.activate(ctx, map[*source]*snapshot{s: snap})
	m.load.Unlock()
	m.updateReady()
}

// fetch reads s unless it is unchanged, recording the check. It returns
// nil when there is nothing new to activate.
func (m *Manager) fetch(ctx context.Context, s *source) (*snapshot, error) {
	m.mu.Lock()
	known := s.seen
	m.mu.Unlock()

	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	version, snap, err := s.fetcher.fetch(cctx, known)
	cancel()
	if ctx.Err() != nil {
		return nil, ctx.Err() // shutting down: not the source's fault
	}
	now := time.Now()
	m.metrics.lastCheck.WithLabelValues(s.cfg.Name).Set(float64(now.Unix()))

	m.mu.Lock()
	defer m.mu.Unlock()
	s.status.LastCheck = now
	switch {
	case err != nil:
		stage, rev := "fetch", ""
		if version != "" { // this version is broken: do not read it again
			s.seen, s.seenErr, s.seenRev = version, oneline.Fold(err.Error()), version
			stage, rev = "read", version
		}
		m.failLocked(s, stage, rev, err)
		return nil, err
	case snap == nil: // unchanged: whatever was true of this version still is
		s.status.LastError, s.status.FailedRevision = s.seenErr, ""
		if s.seenErr != "" {
			s.status.FailedRevision = s.seenRev
		}
		m.metrics.failing.WithLabelValues(s.cfg.Name).Set(boolFloat(s.seenErr != ""))
		return nil, nil
	}
	s.seen, s.seenErr, s.seenRev = version, "", snap.bundle.Manifest.Revision
	return snap, nil
}

// activate tries the active set with cand's snapshots swapped in: tests
// first (for sources with run_tests), then the engine's compile and
// settings validation. Only a set that passes replaces the active one.
// The caller holds m.load.
func (m *Manager) activate(ctx context.Context, cand map[*source]*snapshot) error {
	var set []engine.Bundle
	for _, s := range m.sources {
		if snap, ok := cand[s]; ok {
			set = append(set, engine.Bundle{Name: s.cfg.Name, Bundle: snap.bundle, Where: snap.where})
		} else if s.active != nil {
			set = append(set, engine.Bundle{Name: s.cfg.Name, Bundle: s.active.bundle, Where: s.active.where})
		}
	}
	for s, snap := range cand {
		if !s.cfg.RunTests {
			continue
		}
		if err := runTests(ctx, m.builtin, m.eng.AllowedBuiltins(), set, snap.tests); err != nil {
			m.refuse(cand, "test", err)
			return err
		}
	}
	m.metrics.loads.Inc()
	if err := m.eng.Load(ctx, set); err != nil {
		m.refuse(cand, "load", err)
		return err
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for s, snap := range cand {
		old := s.active
		s.active = snap
		rev := snap.bundle.Manifest.Revision
		if old != nil && old.bundle.Manifest.Revision != rev {
			m.metrics.revision.DeleteLabelValues(s.cfg.Name, old.bundle.Manifest.Revision)
		}
		m.metrics.revision.WithLabelValues(s.cfg.Name, rev).Set(1)
		m.metrics.lastActivation.WithLabelValues(s.cfg.Name).Set(float64(now.Unix()))
		m.metrics.activations.WithLabelValues(s.cfg.Name).Inc()
		m.metrics.failing.WithLabelValues(s.cfg.Name).Set(0)
		s.status.Revision, s.status.ActivatedAt = rev, now
		s.status.LastError, s.status.FailedRevision = "", ""
		if s.seen == snap.version {
			s.seenErr = "" // refused with other sources at startup, accepted alone
		}
		m.logger.Info("policy bundle revision activated", "source", s.cfg.Name, "revision", rev)
	}
	return nil
}

// refuse records why cand's revisions were not activated.
func (m *Manager) refuse(cand map[*source]*snapshot, stage string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for s, snap := range cand {
		if s.seen == snap.version {
			s.seenErr = oneline.Fold(err.Error())
		}
		m.failLocked(s, stage, snap.bundle.Manifest.Revision, err)
	}
}

// failLocked records a failed check; the caller holds m.mu.
func (m *Manager) failLocked(s *source, stage, revision string, err error) {
	s.status.LastError, s.status.FailedRevision = oneline.Fold(err.Error()), revision
	m.metrics.failures.WithLabelValues(s.cfg.Name, stage).Inc()
	m.metrics.failing.WithLabelValues(s.cfg.Name).Set(1)
	m.logger.Error("policy bundle revision refused; the previous revision stays active",
		"source", s.cfg.Name, "stage", stage, "revision", revision, "error", err)
}

func (m *Manager) updateReady() {
	m.load.Lock()
	defer m.load.Unlock()
	for _, s := range m.sources {
		if s.active == nil {
			return
		}
	}
	m.ready.Store(true)
}

// Refresh checks every source whose Repository is repoFullName now, as a
// push webhook asks. It returns at once; the check runs in the source's
// polling goroutine, so checks of one source never overlap.
func (m *Manager) Refresh(_ context.Context, repoFullName string) {
	for _, s := range m.sources {
		if s.cfg.Repository != "" && strings.EqualFold(s.cfg.Repository, repoFullName) {
			select {
			case s.refresh <- struct{}{}:
			default: // a refresh is already pending
			}
		}
	}
}

// Ready reports whether every source has had a revision activated. It
// stays true afterwards: a refused revision leaves the last good one in
// force.
func (m *Manager) Ready() bool { return m.ready.Load() }

// Status returns the built-in bundle (when the engine carries it) and then
// each source's state, in configuration order.
func (m *Manager) Status() []SourceStatus {
	var out []SourceStatus
	if m.builtin {
		out = append(out, SourceStatus{Name: engine.BuiltinName, Type: engine.BuiltinName, Revision: m.eng.Revisions()[engine.BuiltinName], CompromisedExceptions: m.eng.Exceptions()})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sources {
		out = append(out, s.status)
	}
	return out
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
