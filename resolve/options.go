package resolve

import (
	"log/slog"
	"strings"
	"time"
)

// Default limits. The depth limits are GitHub's own (docs: "Reusing workflow
// configurations" and "Creating a composite action"): a chain deeper than
// these fails on GitHub, so a resolver that stops there misses nothing that
// can run.
const (
	// DefaultActionDepth is how deep composite actions may nest.
	DefaultActionDepth = 10
	// DefaultWorkflowLevels is how many levels of workflows may be connected,
	// the top-level caller included: ten on github.com, four on GitHub
	// Enterprise Server (use WithWorkflowLevels(4) there, or keep ten: GHES
	// itself rejects the deeper chains).
	DefaultWorkflowLevels = 10
	// DefaultMaxReferences caps the entries of a resolved document's uses.
	DefaultMaxReferences = 1000
	// DefaultMaxFetches caps the Fetcher calls one run may make.
	DefaultMaxFetches = 300
	// DefaultConcurrency is how many references of one level one run
	// expands at a time.
	DefaultConcurrency = 32
	// DefaultMaxInFlight caps Fetcher calls in flight across all runs;
	// GitHub allows at most 100 concurrent requests per client.
	DefaultMaxInFlight = 64
	// DefaultTagTTL is how long a tag → commit lookup of a trusted owner
	// is kept. Other owners' tags are looked up for every run (a
	// conditional request, which GitHub does not count when the tag did
	// not move): a run is judged on what its tags point to when it starts.
	DefaultTagTTL = 5 * time.Minute
	// DefaultMaxCommitCalls caps the API calls of one impostor check: the
	// pages of tags and branches and one comparison per distinct head.
	DefaultMaxCommitCalls = 100
	// DefaultCacheSize is the number of action metadata files and the number
	// of workflows kept, each.
	DefaultCacheSize = 4096
	// DefaultTagCacheSize is the number of tag lookups kept.
	DefaultTagCacheSize = 8192
	// DefaultMaxFileSize is the largest action.yml or workflow read.
	DefaultMaxFileSize = 1 << 20
)

type config struct {
	actionDepth    int
	workflowLevels int
	maxReferences  int
	maxFetches     int
	concurrency    int
	maxInFlight    int
	tagTTL         time.Duration
	cacheSize      int
	tagCacheSize   int
	maxFileSize    int
	localOnly      bool
	maxCommitCalls int
	trustedOwners  map[string]bool
	logger         *slog.Logger
}

// DefaultTrustedOwners are the owners whose tags are cached for the tag
// TTL: GitHub's own actions.
var DefaultTrustedOwners = []string{"actions", "github"}

func defaults() config {
	return config{
		actionDepth:    DefaultActionDepth,
		workflowLevels: DefaultWorkflowLevels,
		maxReferences:  DefaultMaxReferences,
		maxFetches:     DefaultMaxFetches,
		concurrency:    DefaultConcurrency,
		maxInFlight:    DefaultMaxInFlight,
		tagTTL:         DefaultTagTTL,
		cacheSize:      DefaultCacheSize,
		tagCacheSize:   DefaultTagCacheSize,
		maxFileSize:    DefaultMaxFileSize,
		maxCommitCalls: DefaultMaxCommitCalls,
		trustedOwners:  owners(DefaultTrustedOwners),
		logger:         slog.New(slog.DiscardHandler),
	}
}

// Option configures a Resolver. Values below the minimum keep the default.
type Option func(*config)

func positive(dst *int, n int) {
	if n > 0 {
		*dst = n
	}
}

// WithActionDepth sets how deep composite actions are followed.
func WithActionDepth(n int) Option { return func(c *config) { positive(&c.actionDepth, n) } }

// WithWorkflowLevels sets how many levels of workflows are followed, the
// top-level caller counted as one (so 1 follows no reusable workflow).
func WithWorkflowLevels(n int) Option { return func(c *config) { positive(&c.workflowLevels, n) } }

// WithMaxReferences caps the entries of a resolved document's uses.
func WithMaxReferences(n int) Option { return func(c *config) { positive(&c.maxReferences, n) } }

// WithMaxFetches caps the Fetcher calls of one Resolve call.
func WithMaxFetches(n int) Option { return func(c *config) { positive(&c.maxFetches, n) } }

// WithConcurrency sets how many references one run expands in parallel.
func WithConcurrency(n int) Option { return func(c *config) { positive(&c.concurrency, n) } }

// WithMaxInFlight caps the Fetcher calls in flight across all runs.
func WithMaxInFlight(n int) Option { return func(c *config) { positive(&c.maxInFlight, n) } }

// WithMaxCommitCalls caps the API calls of one impostor check; a check
// stopped by the cap leaves the reference unverified.
func WithMaxCommitCalls(n int) Option { return func(c *config) { positive(&c.maxCommitCalls, n) } }

// WithTrustedOwners replaces the owners whose tag lookups are cached for
// the tag TTL; every other owner's tags are looked up for each run. None
// trusts no owner.
func WithTrustedOwners(names ...string) Option {
	return func(c *config) { c.trustedOwners = owners(names) }
}

func owners(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[strings.ToLower(strings.TrimSpace(n))] = true
	}
	return m
}

// WithTagTTL sets how long a trusted owner's tag lookup is cached.
func WithTagTTL(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.tagTTL = d
		}
	}
}

// WithCacheSize sets the number of cached action metadata files and
// workflows (each) and of cached tag lookups.
func WithCacheSize(content, tags int) Option {
	return func(c *config) {
		positive(&c.cacheSize, content)
		positive(&c.tagCacheSize, tags)
	}
}

// WithMaxFileSize sets the largest action.yml or workflow file read.
func WithMaxFileSize(n int) Option { return func(c *config) { positive(&c.maxFileSize, n) } }

// WithLocalOnly follows only local references (./ and $/), which a Fetcher
// can serve from a checkout: references to other repositories are left
// unread and unmarked, as without a resolver, and the resolution is
// incomplete.
func WithLocalOnly() Option { return func(c *config) { c.localOnly = true } }

// WithLogger sets the logger for limits and unresolved references (debug level).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}
