// Package webhook is runpolicy's GitHub App server: it receives webhook
// deliveries, persists them, and judges, cancels and reports workflow runs
// from a durable queue.
//
// A delivery goes through three steps. receive.go verifies its signature,
// persists it (deduplicated on its delivery id) and acknowledges it.
// process.go takes it from the queue and routes it by event to a handler
// (workflow_run.go, workflow_job.go, installation.go, push.go). The run
// handlers judge the run (judge.go) and act on the decision once per run
// attempt (enforce.go cancels, report.go writes the check run and the pull
// request comments). redeliver.go asks GitHub for the deliveries that
// failed while the server was away.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"text/template"
	"time"

	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/runpolicy/runpolicy/bundles"
	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// Policies is the policy bundle manager (*bundles.Manager).
type Policies interface {
	// Ready reports whether a policy set is active.
	Ready() bool
	// Refresh checks the sources fed by a repository, after a push to it.
	Refresh(ctx context.Context, repoFullName string)
	// Status describes each source, for the admin API.
	Status() []bundles.SourceStatus
}

// Resolver follows composite actions and reusable workflows
// (*resolve.Resolver).
type Resolver interface {
	Resolve(ctx context.Context, doc *input.Document) (*input.Document, error)
}

// Fetcher reads repository contents as one installation; *github.Client
// implements it (and the resolver's resolve.Fetcher).
type Fetcher interface {
	Content(ctx context.Context, owner, repo, path, ref string) ([]byte, error)
	CommitSHA(ctx context.Context, owner, repo, ref string) (string, error)
}

// On-error choices: what a run gets when it cannot be judged.
const (
	OnErrorAllow  = "allow"
	OnErrorCancel = "cancel"
)

// Options configures a Server.
type Options struct {
	// Secret is the webhook secret deliveries are signed with.
	Secret []byte
	// OnError is OnErrorAllow (default) or OnErrorCancel.
	OnError string
	// CancelEscalation is how long a cancelled run may stay in progress
	// before it is force-cancelled; 0 never force-cancels.
	CancelEscalation time.Duration
	// CommentTemplate renders pull request comments (default
	// DefaultCommentTemplate); it receives a CommentData.
	CommentTemplate *template.Template
	// JudgeAttempts is how many times a run is tried before on_error
	// decides it, when GitHub keeps failing (default 5).
	JudgeAttempts int
	// EvalTimeout bounds one evaluation of the policies on a run's
	// document (default 5s), well below the job's timeout: a workflow that
	// makes evaluation run longer is denied, and the evaluation slot it
	// held is free again.
	EvalTimeout time.Duration
	// PolicyRepositories are the repositories (owner/name) whose pushes to
	// the default branch refresh the policy bundles.
	PolicyRepositories []string
	// AdminToken enables the /admin API for Bearer requests carrying it.
	AdminToken string
	// RedeliverInterval is how often failed deliveries are asked for
	// again (default 5m; negative disables); RedeliverLookback is how far
	// back the first sweep looks (default 6h, at most GitHub's 3 days).
	RedeliverInterval time.Duration
	RedeliverLookback time.Duration
	// MaxBodyBytes caps a delivery (default 25 MB, GitHub's limit).
	MaxBodyBytes int64
	// LargeBodies bounds the memory of deliveries over 256 KB being read
	// to this many bodies of MaxBodyBytes (default 2), counted in bytes
	// held, one body's worth per remote address: GitHub's are nearly all
	// smaller.
	LargeBodies int
	// FactsCacheEntries bounds the parsed-workflow cache (default 1024).
	FactsCacheEntries int
	// RetryBase and RetryMax shape the queue's exponential backoff with
	// jitter (defaults 1s and 5m).
	RetryBase, RetryMax time.Duration
	// ShutdownTimeout bounds a graceful stop (default 25s).
	ShutdownTimeout time.Duration
	// EvalConcurrency bounds how many runs are normalized and evaluated at
	// once (default: one less than the cores, at least one), so that the
	// workers waiting on GitHub may be many without starving the handler
	// that acknowledges deliveries.
	EvalConcurrency int

	// Store configures the database and queue; New fills in the workers.
	Store store.Options

	Engine   *engine.Engine
	Policies Policies
	App      *github.App
	// NewResolver builds a resolver for one installation's fetcher; nil
	// judges direct references only.
	NewResolver func(Fetcher) Resolver
	// Registry receives the metrics and is served at /metrics.
	Registry *prometheus.Registry
	Logger   *slog.Logger
}

// Server is the App server.
type Server struct {
	opts        Options
	store       *store.Store
	app         *github.App
	engine      *engine.Engine
	policy      Policies
	log         *slog.Logger
	metrics     *metrics
	facts       *input.Cache
	comment     *template.Template
	echo        *echo.Echo
	policyRepos map[string]bool

	resolvers *lru.Cache[int64, Resolver]
	cpu       slots
	// large is the memory budget of bodies over smallBody being read;
	// chunks are their read buffers (body.go).
	large  *budget
	chunks chunks
	// instance names this process in decision logs.
	instance string
}

// New checks the options, opens the store (running its migrations) and
// builds the HTTP handler. Serve runs it.
func New(ctx context.Context, o Options) (*Server, error) {
	if err := withDefaults(&o); err != nil {
		return nil, err
	}
	s := &Server{
		opts: o, app: o.App, engine: o.Engine, policy: o.Policies, log: o.Logger,
		comment: o.CommentTemplate, policyRepos: map[string]bool{},
	}
	// The instance names this process in decision logs and, as the queue
	// client's id, in leader election and job attempts. The random part
	// keeps it unique where host and pid are not (pid 1 in containers).
	host, _ := os.Hostname()
	s.instance = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), uuid.NewString()[:8])
	for _, r := range o.PolicyRepositories {
		s.policyRepos[lower(r)] = true
	}
	s.facts = input.NewCache(o.FactsCacheEntries)
	s.cpu = newSlots(o.EvalConcurrency)
	s.large = newBudget(o.LargeBodies, o.MaxBodyBytes)
	s.resolvers, _ = lru.New[int64, Resolver](1024)

	workers := river.NewWorkers()
	river.AddWorker(workers, &deliveryWorker{s: s})
	river.AddWorker(workers, &escalateWorker{s: s})
	river.AddWorker(workers, &redeliverWorker{s: s})
	so := o.Store
	so.Workers = workers
	if so.ID == "" {
		so.ID = s.instance
	}
	so.RetryPolicy = backoff{base: o.RetryBase, max: o.RetryMax}
	so.Logger = o.Logger
	if o.RedeliverInterval > 0 {
		// Only the leader enqueues periodic jobs; uniqueness over the
		// interval also keeps a new leader from sweeping again at once
		// after the old one did.
		every := o.RedeliverInterval
		so.PeriodicJobs = append(so.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) {
				return redeliverArgs{}, &river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: every}}
			},
			&river.PeriodicJobOpts{RunOnStart: true, ID: "redeliver"}))
	}
	st, err := store.Open(ctx, so)
	if err != nil {
		return nil, err
	}
	s.store = st
	s.metrics = newMetrics(o.Registry, st, func() float64 { return float64(s.large.inUse()) })
	s.echo = s.routes()
	return s, nil
}

func withDefaults(o *Options) error {
	if len(o.Secret) == 0 {
		return errors.New("webhook: the webhook secret is empty")
	}
	switch o.OnError {
	case "":
		o.OnError = OnErrorAllow
	case OnErrorAllow, OnErrorCancel:
	default:
		return fmt.Errorf("webhook: on_error %q: want allow or cancel", o.OnError)
	}
	if o.Engine == nil || o.Policies == nil || o.App == nil {
		return errors.New("webhook: engine, policies and app are required")
	}
	if o.CommentTemplate == nil {
		o.CommentTemplate = template.Must(NewCommentTemplate(DefaultCommentTemplate))
	}
	if o.JudgeAttempts <= 0 {
		o.JudgeAttempts = 5
	}
	if o.EvalTimeout <= 0 {
		o.EvalTimeout = 5 * time.Second
	}
	if o.RedeliverInterval == 0 {
		o.RedeliverInterval = 5 * time.Minute
	}
	if o.RedeliverLookback <= 0 {
		o.RedeliverLookback = 6 * time.Hour
	}
	o.RedeliverLookback = min(o.RedeliverLookback, 72*time.Hour)
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 25 << 20
	}
	if o.LargeBodies <= 0 {
		o.LargeBodies = 2
	}
	if o.FactsCacheEntries <= 0 {
		o.FactsCacheEntries = 1024
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Second
	}
	if o.RetryMax < o.RetryBase {
		o.RetryMax = max(5*time.Minute, o.RetryBase)
	}
	if o.EvalConcurrency <= 0 {
		o.EvalConcurrency = max(1, runtime.GOMAXPROCS(0)-1)
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 25 * time.Second
	}
	if o.Store.MaxAttempts <= 0 {
		o.Store.MaxAttempts = 12
	}
	if o.Store.MaxAttempts < o.JudgeAttempts {
		o.Store.MaxAttempts = o.JudgeAttempts + 2
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Handler is the HTTP handler: /webhook, /healthz, /readyz, /metrics and,
// with an admin token, /admin.
func (s *Server) Handler() http.Handler { return s.echo }

// Store is the server's store.
func (s *Server) Store() *store.Store { return s.store }

func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover())
	e.POST("/webhook", s.receive)
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(s.metrics.handler()))
	if s.opts.AdminToken != "" {
		admin := e.Group("/admin", s.requireAdmin)
		admin.GET("/decisions", s.adminDecisions)
		admin.GET("/deliveries/:id", s.adminDelivery)
		admin.GET("/bundles", s.adminBundles)
		// The path the bundles documentation names, for status dashboards.
		e.GET("/status/bundles", s.adminBundles, s.requireAdmin)
	}
	return e
}

// Mount serves h at prefix (a path ending in "/") and below, beside the
// App's own routes, which keep their paths: the web console.
func (s *Server) Mount(prefix string, h http.Handler) {
	s.echo.Any(prefix+"*", echo.WrapHandler(h))
	if prefix != "/" {
		s.echo.GET(strings.TrimSuffix(prefix, "/"), func(c echo.Context) error {
			return c.Redirect(http.StatusMovedPermanently, prefix)
		})
	}
}

// Serve accepts deliveries on ln at once, starts working the queue once a
// policy set is active, and stops gracefully when ctx ends: no new
// connections, in-flight requests finished, running jobs finished or
// handed back to the queue.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	defer s.store.Close()
	// Nothing is being acknowledged yet, so on the embedded store every
	// delivery without a job lost it in a crash; replicas leave each other
	// a minute.
	cutoff := time.Now()
	if s.store.Backend() != "sqlite" {
		cutoff = cutoff.Add(-time.Minute)
	}
	if err := s.requeue(ctx, cutoff); err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if len(s.opts.PolicyRepositories) > 0 {
		// Before the store closes (deferred above): stop waits for the
		// listener.
		stop := s.store.Subscribe(pushChannel, func(repo string) { s.onPushBroadcast(ctx, repo) })
		defer stop()
	}
	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String(), "store", s.store.Backend(), "instance", s.instance)

	// The queue's own context outlives ctx: shutdown stops it explicitly.
	queueCtx := context.WithoutCancel(ctx)
	started := false
	ready := time.NewTicker(50 * time.Millisecond)
	defer ready.Stop()
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err = <-httpErr:
			break loop
		case <-ready.C:
			if started || !s.policy.Ready() {
				continue
			}
			if err = s.store.Start(queueCtx); err != nil {
				break loop
			}
			started = true
			ready.Stop()
			s.log.Info("policies active, processing deliveries", "revisions", s.engine.Revisions())
		}
	}
	s.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	if e := srv.Shutdown(shutdownCtx); e != nil && err == nil {
		err = fmt.Errorf("webhook: stop http: %w", e)
	}
	if started {
		if e := s.store.Stop(shutdownCtx); e != nil && err == nil {
			err = fmt.Errorf("webhook: stop queue: %w", e)
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	s.log.Info("stopped")
	return err
}

// requeue queues the deliveries received before cutoff whose job is
// missing: a process died between saving one and queuing it.
func (s *Server) requeue(ctx context.Context, cutoff time.Time) error {
	ids, err := s.store.DeliveriesWithoutJob(ctx, deliveryArgs{}.Kind(), cutoff, 10000)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.store.Enqueue(ctx, deliveryArgs{DeliveryID: id}, nil); err != nil {
			return err
		}
	}
	if len(ids) > 0 {
		s.log.Warn("queued deliveries whose job was lost", "deliveries", len(ids))
	}
	return nil
}

// slots is a counting semaphore.
type slots chan struct{}

func newSlots(n int) slots { return make(slots, n) }

// acquire takes a slot and returns its release.
func (s slots) acquire(ctx context.Context) (func(), error) {
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
