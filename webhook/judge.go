package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river/rivertype"
	"golang.org/x/sync/errgroup"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/webhook/github"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// target is the run being judged and acted on.
type target struct {
	Key            store.RunKey `json:"-"`
	Repository     string       `json:"repository"`
	ID             int64        `json:"id"`
	Attempt        int          `json:"attempt"`
	HeadRepository string       `json:"head_repository"`
	HeadSHA        string       `json:"head_sha"`
	DefaultBranch  string       `json:"default_branch"`
	Path           string       `json:"workflow_path"`
	PullRequests   []int        `json:"pull_requests"`
	URL            string       `json:"html_url,omitempty"`
	Installation   int64        `json:"installation_id"`

	deliveryID string
	receivedAt time.Time
}

func (t *target) key() store.RunKey {
	return store.RunKey{Repository: t.Repository, RunID: t.ID, Attempt: t.Attempt}
}

func (t *target) owner() (string, string) { return split(t.Repository) }

func split(fullName string) (string, string) {
	owner, name, _ := strings.Cut(fullName, "/")
	return owner, name
}

// decisionLog is a decision as it is stored: OPA's decision log fields
// (decision_id, labels, path, bundles, input, result, error, timestamp,
// metrics) plus the delivery and run it was made for.
type decisionLog struct {
	DecisionID string                       `json:"decision_id"`
	Labels     map[string]string            `json:"labels"`
	Path       string                       `json:"path"`
	Bundles    map[string]map[string]string `json:"bundles"`
	Input      json.RawMessage              `json:"input,omitempty"`
	Result     *engine.Decision             `json:"result,omitempty"`
	Error      *logError                    `json:"error,omitempty"`
	Timestamp  time.Time                    `json:"timestamp"`
	Metrics    map[string]int64             `json:"metrics"`

	DeliveryID string  `json:"delivery_id"`
	Event      string  `json:"event"`
	Run        *target `json:"run"`
	Outcome    string  `json:"outcome"`
	Cancel     bool    `json:"cancel"`
}

// logError says why a run could not be judged and what on_error made of it.
type logError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	OnError string `json:"on_error"`
}

// verdict is a decision with what acting on it needs.
type verdict struct {
	store.Decision
	log *decisionLog
}

// violations returns the findings, enforced ones first.
func (v *verdict) violations() []engine.Violation {
	if v.log.Result == nil {
		return nil
	}
	var enforced, other []engine.Violation
	for _, x := range v.log.Result.Violations {
		if x.Mode == "enforce" {
			enforced = append(enforced, x)
		} else {
			other = append(other, x)
		}
	}
	return append(enforced, other...)
}

func verdictOf(d store.Decision) (*verdict, error) {
	var l decisionLog
	if err := json.Unmarshal(d.Log, &l); err != nil {
		return nil, fmt.Errorf("decision %s: %w", d.ID, err)
	}
	if l.Run == nil {
		return nil, fmt.Errorf("decision %s: no run", d.ID)
	}
	return &verdict{Decision: d, log: &l}, nil
}

// loader reads the run context: the workflow_run payload to normalize, and
// for workflow_job deliveries the job. It may complete t.
type loader func(ctx context.Context, t *target) (payload []byte, job *input.WorkflowJob, err error)

// judge decides on a run once per delivery: a retry after the decision was
// recorded reuses it. Failures GitHub may recover from are retried by the
// queue up to JudgeAttempts; after that, and at once for anything else
// (file missing, bad workflow, evaluation error), on_error decides.
func (s *Server) judge(ctx context.Context, job *rivertype.JobRow, t *target, event string, load loader, log *slog.Logger) (*verdict, error) {
	prev, err := s.store.DecisionForDelivery(ctx, t.deliveryID)
	if err == nil {
		v, err := verdictOf(*prev)
		if err == nil {
			v.log.Run.deliveryID, v.log.Run.receivedAt = t.deliveryID, t.receivedAt
		}
		return v, err
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}

	start := time.Now()
	timers := map[string]int64{}
	doc, result, evalErr := s.evaluate(ctx, t, load, timers)
	if errors.Is(evalErr, errSkipRun) {
		return nil, evalErr
	}
	if evalErr != nil {
		if temporary, _ := github.Temporary(evalErr); temporary && job.Attempt < s.opts.JudgeAttempts && ctx.Err() == nil {
			return nil, evalErr
		}
		if ctx.Err() != nil {
			return nil, ctx.Err() // shutting down: hand the job back, judge later
		}
	}
	timers["timer_server_handler_ns"] = time.Since(start).Nanoseconds()
	s.metrics.judge.Observe(time.Since(start).Seconds())

	l := &decisionLog{
		DecisionID: uuid.NewString(),
		Labels:     map[string]string{"app": "runpolicy", "id": s.opts.Store.ID},
		Path:       strings.ReplaceAll(strings.TrimPrefix(engine.DecisionQuery, "data."), ".", "/"),
		Bundles:    map[string]map[string]string{},
		Timestamp:  time.Now().UTC(),
		Metrics:    timers,
		DeliveryID: t.deliveryID,
		Event:      event,
		Run:        t,
	}
	for name, rev := range s.engine.Revisions() {
		l.Bundles[name] = map[string]string{"revision": rev}
	}
	if doc != nil {
		if l.Input, err = json.Marshal(doc); err != nil {
			return nil, fmt.Errorf("encode input of delivery %s: %w", t.deliveryID, err)
		}
	}
	switch {
	case evalErr != nil:
		l.Outcome, l.Cancel = store.OutcomeError, s.opts.OnError == OnErrorCancel
		l.Error = &logError{Code: errorCode(evalErr), Message: evalErr.Error(), OnError: s.opts.OnError}
	case !result.Allow:
		l.Result, l.Outcome, l.Cancel = result, store.OutcomeDeny, true
	default:
		l.Result, l.Outcome = result, store.OutcomeAllow
	}
	raw, err := json.Marshal(l)
	if err != nil {
		return nil, fmt.Errorf("encode decision of delivery %s: %w", t.deliveryID, err)
	}
	saved, err := s.store.SaveDecision(ctx, store.Decision{
		ID: l.DecisionID, DeliveryID: t.deliveryID, Event: event, Repository: t.Repository, RunID: t.ID,
		RunAttempt: t.Attempt, Outcome: l.Outcome, Cancel: l.Cancel, CreatedAt: l.Timestamp, Log: raw,
	})
	if err != nil {
		return nil, err
	}
	if saved.ID != l.DecisionID { // another worker of the same delivery got there first
		return verdictOf(saved)
	}
	s.count(l)
	attrs := []any{"decision_id", l.DecisionID, "outcome", l.Outcome, "cancel", l.Cancel}
	if l.Result != nil {
		attrs = append(attrs, "violations", len(l.Result.Violations), "revisions", s.engine.Revisions())
	}
	if l.Error != nil {
		log.Warn("run could not be judged", append(attrs, "err", evalErr, "on_error", s.opts.OnError)...)
	} else {
		log.Info("run judged", attrs...)
	}
	return &verdict{Decision: saved, log: l}, nil
}

func (s *Server) count(l *decisionLog) {
	s.metrics.decisions.WithLabelValues("all", l.Outcome).Inc()
	if l.Result == nil {
		return
	}
	seen := map[string]string{}
	for _, v := range l.Result.Violations {
		s.metrics.violations.WithLabelValues(v.Policy, v.Mode).Inc()
		if seen[v.Policy] != "enforce" {
			seen[v.Policy] = v.Mode
		}
	}
	for policy, mode := range seen {
		s.metrics.decisions.WithLabelValues(policy, mode).Inc()
	}
}

// errorCode names the kind of failure for the decision log.
func errorCode(err error) string {
	var ee *evalError
	switch {
	case errors.Is(err, github.ErrNotFound):
		return "workflow_not_found"
	case errors.As(err, &ee):
		return ee.code
	}
	if temporary, _ := github.Temporary(err); temporary {
		return "github_unavailable"
	}
	return "github_error"
}

// errSkipRun is a loader's way to say the run is not runpolicy's to judge.
var errSkipRun = errors.New("not judged")

// evalError is a failure of one judging step that is not GitHub's.
type evalError struct {
	code string
	err  error
}

func (e *evalError) Error() string { return e.err.Error() }
func (e *evalError) Unwrap() error { return e.err }

// evaluate fetches the workflow file at the head commit and on the default
// branch in parallel, normalizes it (parsed facts cached by content
// digest), resolves transitive references and evaluates the document.
func (s *Server) evaluate(ctx context.Context, t *target, load loader, timers map[string]int64) (*input.Document, *engine.Decision, error) {
	begin := time.Now()
	payload, job, err := load(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	rc, err := input.ParseEvent(payload)
	if err != nil {
		return nil, nil, &evalError{"bad_payload", fmt.Errorf("read run context: %w", err)}
	}
	rc.Event.DeliveryID = t.deliveryID
	if job != nil {
		rc.Event.Name, rc.Event.Action, rc.WorkflowJob = "workflow_job", job.Status, job
	}
	if rc.WorkflowPath == "" {
		rc.WorkflowPath = t.Path
	}
	client := s.app.Installation(t.Installation)
	owner, name := t.owner()
	headOwner, headName := split(t.HeadRepository)
	// A fork's branch may be named like the default branch: only the
	// repository's own default branch is its own copy.
	onDefault := rc.Run.IsDefaultBranch && strings.EqualFold(t.HeadRepository, t.Repository)

	var head, base []byte
	baseFound := false
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		head, err = client.Content(gctx, headOwner, headName, t.Path, t.HeadSHA)
		return err
	})
	if !onDefault && t.DefaultBranch != "" {
		g.Go(func() error {
			var err error
			base, err = client.Content(gctx, owner, name, t.Path, t.DefaultBranch)
			if errors.Is(err, github.ErrNotFound) {
				return nil // a new workflow: no default-branch copy
			}
			baseFound = err == nil
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	timers["timer_fetch_ns"] = time.Since(begin).Nanoseconds()

	begin = time.Now()
	facts, err := s.parse(t.Path, head)
	if err != nil {
		return nil, nil, err
	}
	if !onDefault && t.DefaultBranch != "" {
		rc.DefaultBranchKnown = true
		if baseFound {
			sum := digest(base)
			rc.DefaultBranchSHA256 = &sum
		}
	}
	doc := input.Build(facts, rc)
	timers["timer_parse_ns"] = time.Since(begin).Nanoseconds()

	if r := s.resolver(t.Installation); r != nil {
		begin = time.Now()
		resolved, err := r.Resolve(ctx, doc)
		if err != nil {
			return doc, nil, fmt.Errorf("resolve references of %s: %w", t.Path, err)
		}
		doc = resolved
		timers["timer_resolve_ns"] = time.Since(begin).Nanoseconds()
	}

	begin = time.Now()
	result, err := s.engine.Eval(ctx, doc)
	if err != nil {
		return doc, nil, &evalError{"evaluation_error", err}
	}
	timers["timer_rego_query_eval_ns"] = time.Since(begin).Nanoseconds()
	return doc, result, nil
}

// parse normalizes a workflow file once per content.
func (s *Server) parse(path string, src []byte) (*input.Facts, error) {
	sum := digest(src)
	if f, ok := s.facts.Get(sum); ok {
		return f, nil
	}
	f, err := input.Parse(path, src)
	if err != nil {
		return nil, &evalError{"bad_workflow", fmt.Errorf("parse %s: %w", path, err)}
	}
	s.facts.Add(sum, f)
	return f, nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// resolver returns the installation's resolver, nil without one.
func (s *Server) resolver(installation int64) Resolver {
	if s.opts.NewResolver == nil {
		return nil
	}
	if r, ok := s.resolvers.Get(installation); ok {
		return r
	}
	r := s.opts.NewResolver(s.app.Installation(installation))
	s.resolvers.Add(installation, r)
	return r
}
