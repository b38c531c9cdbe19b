// Package webhook is runpolicy's GitHub App server: it receives webhook
// deliveries, persists them, and judges, cancels and reports workflow runs
// from a durable queue.
//
// A delivery flows one way through small owners, each holding only what
// it uses:
//
//   - receiver (receive.go, body.go): verifies the signature, persists a
//     delivery a handler wants, acknowledges it;
//   - dispatcher (dispatch.go): takes it from the queue to the event
//     handler registered for its event (workflow_run.go,
//     workflow_job.go, installation.go, push.go, approve.go for a click
//     on a check run's approve action), and records the outcome;
//   - judge (judge.go, evaluate.go): reads the run once (request.go),
//     fetches, normalizes, resolves and evaluates it, and records the
//     verdict (record.go);
//   - actor (actor.go, cancel.go, report.go): cancels, force-cancels,
//     writes the check run and the comments, once per run attempt;
//   - sweeper (redeliver.go): asks GitHub for the deliveries that failed
//     while the server was away.
//
// Server (this file) builds them from Options and runs them.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"text/template"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/runpolicy/runpolicy/bundles"
	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/replay"
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

// Options configures a Server.
type Options struct {
	// Config holds the settings: start from DefaultConfig. New refuses a
	// Config that Check refuses.
	Config
	// Secret is the webhook secret deliveries are signed with.
	Secret []byte
	// Database is an SQLite file or postgres://… (see store.Options.DSN).
	Database string
	// CommentTemplate renders pull request comments (nil:
	// DefaultCommentTemplate); it receives a CommentData.
	CommentTemplate *template.Template
	// PolicyRepositories are the repositories (owner/name) whose pushes to
	// the default branch refresh the policy bundles.
	PolicyRepositories []string
	// AdminToken enables the /admin API for Bearer requests carrying it.
	AdminToken string
	// DecisionRetention is how long decisions are kept (0: forever); see
	// store.Options.DecisionRetention.
	DecisionRetention time.Duration
	// Replay are the policies replays make their candidates from: the
	// configured bundle sources (see replay.Policies).
	Replay replay.Policies

	Engine   *engine.Engine
	Policies Policies
	App      *github.App
	// NewResolver builds a resolver for one installation's fetcher; nil
	// judges direct references only.
	NewResolver func(Fetcher) Resolver
	// Registry receives the metrics and is served at /metrics (nil: a
	// registry of the server's own).
	Registry *prometheus.Registry
	Logger   *slog.Logger
}

// Server is the App server.
type Server struct {
	cfg      Config
	store    *store.Store
	echo     *echo.Echo
	policies Policies
	engine   *engine.Engine
	push     *pushHandler
	log      *slog.Logger
	// instance names this process in decision logs.
	instance string
	// replays runs the replays asked for through /admin/replays and the
	// console.
	replays *replay.Runner
}

// New checks the options, opens the store (running its migrations) and
// builds the HTTP handler. Serve runs it.
func New(ctx context.Context, o Options) (*Server, error) {
	if err := o.Config.Check(); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	if len(o.Secret) == 0 {
		return nil, errors.New("webhook: the webhook secret is empty")
	}
	if o.Engine == nil || o.Policies == nil || o.App == nil {
		return nil, errors.New("webhook: engine, policies and app are required")
	}
	if o.CommentTemplate == nil {
		o.CommentTemplate = template.Must(NewCommentTemplate(DefaultCommentTemplate))
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cfg, app, log := o.Config, o.App, o.Logger
	// The instance names this process in decision logs and, as the queue
	// client's id, in leader election and job attempts. The random part
	// keeps it unique where host and pid are not (pid 1 in containers).
	host, _ := os.Hostname()
	instance := fmt.Sprintf("%s-%d-%s", host, os.Getpid(), uuid.NewString()[:8])

	// The queue's workers are registered before the store opens, and
	// handed their owners once it has.
	deliveries, escalations, sweeps := &deliveryWorker{}, &escalateWorker{}, &redeliverWorker{}
	workers := river.NewWorkers()
	river.AddWorker(workers, deliveries)
	river.AddWorker(workers, escalations)
	river.AddWorker(workers, sweeps)
	st, err := store.Open(ctx, store.Options{DSN: o.Database, Workers: workers, PeriodicJobs: periodicJobs(cfg.RedeliverInterval),
		MaxWorkers: cfg.Workers, MaxAttempts: cfg.MaxAttempts, RetryPolicy: backoff{base: cfg.RetryBase, max: cfg.RetryMax},
		JobTimeout: cfg.JobTimeout, RescueAfter: cfg.RescueAfter, PollInterval: cfg.PollInterval, ID: instance, Logger: log,
		DecisionRetention: o.DecisionRetention})
	if err != nil {
		return nil, err
	}

	judgeM, actM, receiveM, dispatchM, sweepM := newJudgeMetrics(), newActMetrics(), newReceiveMetrics(), newDispatchMetrics(), newSweepMetrics()
	j := &judge{
		clients: func(id int64) judgeClient { return app.Installation(id) },
		engine:  o.Engine, facts: input.NewCache(cfg.FactsCacheEntries), cpu: newSlots(cfg.EvalConcurrency),
		decisions: st, approvals: st, onError: cfg.OnError, evalTimeout: cfg.EvalTimeout, attempts: cfg.JudgeAttempts,
		instance: instance, metrics: judgeM,
	}
	if o.NewResolver != nil {
		j.resolver = newResolvers(func(id int64) Resolver { return o.NewResolver(app.Installation(id)) }).get
	}
	a := &actor{clients: func(id int64) actorClient { return app.Installation(id) }, actions: st,
		escalation: cfg.CancelEscalationDelay, comment: o.CommentTemplate, commentOn: cfg.CommentOn,
		approveRole: cfg.ApprovePermission, metrics: actM, log: log}
	shared := &runs{store: st, app: app, judge: j, actor: a}
	push := newPushHandler(o.Policies, st, o.PolicyRepositories)
	disp, err := newDispatcher(st, o.Policies.Ready, cfg.JudgeAttempts, instance, dispatchM, log,
		runHandler{shared}, jobHandler{shared}, installationHandler{st}, push, pingHandler{},
		approveHandler{clients: func(id int64) approveClient { return app.Installation(id) }, store: st, actor: a,
			role: cfg.ApprovePermission, expiry: cfg.ApprovalExpiry, instance: instance})
	if err != nil {
		st.Close()
		return nil, err
	}
	sw := &sweeper{hooks: app, store: st, wants: disp.wants, interval: cfg.RedeliverInterval, lookback: cfg.RedeliverLookback,
		requeue: func(ctx context.Context, cutoff time.Time) error { return requeue(ctx, st, log, cutoff) },
		metrics: sweepM, log: log}
	deliveries.d, escalations.a, sweeps.s = disp, a, sw

	body := newBodyReader(o.Secret, cfg.MaxBodyBytes, cfg.LargeBodies)
	rv := &receiver{body: body, store: st, wants: disp.wants, label: disp.label, metrics: receiveM, log: log}
	register(o.Registry, st.QueueDepth, func() float64 { return float64(body.large.inUse()) },
		receiveM.collectors(), dispatchM.collectors(), judgeM.collectors(), actM.collectors(), sweepM.collectors())
	// Replays take the judge's evaluation slots, so a replay never holds
	// up the runs being judged for more than one evaluation.
	replays := replay.NewRunner(st, o.Replay, replay.Options{Concurrency: cfg.EvalConcurrency, Gate: j.cpu.acquire,
		EvalTimeout: cfg.EvalTimeout}, instance, log.With("component", "replay"))
	ad := &admin{store: st, policies: o.Policies, revisions: o.Engine.Revisions, token: o.AdminToken, instance: instance, log: log}
	data := &dataAPI{store: st, replays: replays}
	return &Server{cfg: cfg, store: st, echo: routes(rv, ad, data, o.Registry), policies: o.Policies, engine: o.Engine,
		push: push, log: log, instance: instance, replays: replays}, nil
}

// Handler is the HTTP handler: /webhook, /healthz, /readyz, /metrics and,
// with an admin token, /admin.
func (s *Server) Handler() http.Handler { return s.echo }

// Store is the server's store.
func (s *Server) Store() *store.Store { return s.store }

// Replays runs and reports the server's replays.
func (s *Server) Replays() *replay.Runner { return s.replays }

func routes(rv *receiver, ad *admin, data *dataAPI, reg *prometheus.Registry) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover())
	e.POST("/webhook", rv.receive)
	e.GET("/healthz", ad.healthz)
	e.GET("/readyz", ad.readyz)
	e.GET("/metrics", echo.WrapHandler(metricsHandler(reg)))
	if ad.token != "" {
		group := e.Group("/admin", ad.requireAdmin)
		group.GET("/decisions", ad.decisions)
		group.GET("/deliveries/:id", ad.delivery)
		group.GET("/bundles", ad.bundles)
		group.GET("/approvals", ad.approvals)
		group.POST("/approvals/:id/revoke", ad.revoke)
		data.routes(group)
		// The path the bundles documentation names, for status dashboards.
		e.GET("/status/bundles", ad.bundles, ad.requireAdmin)
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
	defer s.replays.Close() // before the store closes
	// Nothing is being acknowledged yet, so on the embedded store every
	// delivery without a job lost it in a crash; replicas leave each other
	// a minute.
	cutoff := time.Now()
	if s.store.Backend() != "sqlite" {
		cutoff = cutoff.Add(-time.Minute)
	}
	if err := requeue(ctx, s.store, s.log, cutoff); err != nil {
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
	if len(s.push.names) > 0 {
		// Before the store closes (deferred above): stop waits for the
		// listener.
		stop := s.store.Subscribe(pushChannel, func(repo string) { s.push.onBroadcast(ctx, repo) })
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
			if started || !s.policies.Ready() {
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
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
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
