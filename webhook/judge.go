package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river/rivertype"
	"golang.org/x/sync/errgroup"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/github"
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
// recorded reuses it. A workflow runpolicy cannot judge for a reason its
// author controls (authored) is denied at once. Failures GitHub may
// recover from are retried by the queue up to JudgeAttempts; after that,
// and at once for other failures outside the author's control, on_error
// decides.
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
	if evalErr != nil && errorCode(evalErr) == "eval_timeout" && job.Attempt < 2 && ctx.Err() == nil {
		// The deadline is wall time: a machine starved of CPU can run out
		// of it on any workflow. The queue tries once more; a workflow
		// that is slow to evaluate is slow again, and is denied then.
		log.Warn("evaluation ran out of eval_timeout; trying once more before denying", "err", evalErr)
		return nil, evalErr
	}
	if evalErr != nil && !authored(evalErr) {
		if temporary, _ := github.Temporary(evalErr); temporary && job.Attempt < s.opts.JudgeAttempts && ctx.Err() == nil {
			return nil, evalErr
		}
		if ctx.Err() != nil {
			return nil, ctx.Err() // shutting down or out of time: the queue tries again, then gives up (giveUp)
		}
	}
	timers["timer_server_handler_ns"] = time.Since(start).Nanoseconds()
	if job.AttemptedAt != nil && !t.receivedAt.IsZero() {
		// From the delivery's arrival to a worker taking it (first attempt)
		// and to this decision.
		timers["timer_queue_ns"] = job.AttemptedAt.Sub(t.receivedAt).Nanoseconds()
		timers["timer_received_to_decision_ns"] = time.Since(t.receivedAt).Nanoseconds()
	}
	s.metrics.judge.Observe(time.Since(start).Seconds())
	return s.decide(ctx, t, event, doc, result, evalErr, timers, log)
}

// decide records the decision on a run from what judging it produced: the
// policies' result, or the error that stopped it. A failure the workflow's
// author controls (authored) is a deny with a finding naming the cause;
// any other failure is on_error's to decide.
func (s *Server) decide(ctx context.Context, t *target, event string, doc *input.Document, result *engine.Decision, evalErr error, timers map[string]int64, log *slog.Logger) (*verdict, error) {
	l := &decisionLog{
		DecisionID: uuid.NewString(),
		Labels:     map[string]string{"app": "runpolicy", "id": s.instance},
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
		var err error
		if l.Input, err = json.Marshal(doc); err != nil {
			return nil, fmt.Errorf("encode input of delivery %s: %w", t.deliveryID, err)
		}
	}
	switch {
	case evalErr != nil && authored(evalErr):
		l.Result, l.Outcome, l.Cancel = unreadable(evalErr), store.OutcomeDeny, true
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
		v, err := verdictOf(saved)
		if err == nil {
			v.log.Run.deliveryID, v.log.Run.receivedAt = t.deliveryID, t.receivedAt
		}
		return v, err
	}
	s.count(l)
	attrs := []any{"decision_id", l.DecisionID, "outcome", l.Outcome, "cancel", l.Cancel}
	if l.Result != nil {
		attrs = append(attrs, "violations", len(l.Result.Violations), "revisions", s.engine.Revisions())
	}
	switch {
	case l.Error != nil:
		log.Warn("run could not be judged", append(attrs, "err", evalErr, "on_error", s.opts.OnError)...)
	case evalErr != nil:
		log.Warn("run denied: its workflow cannot be judged", append(attrs, "err", evalErr, "code", errorCode(evalErr))...)
	default:
		log.Info("run judged", attrs...)
	}
	return &verdict{Decision: saved, log: l}, nil
}

func (s *Server) count(l *decisionLog) {
	s.metrics.decisions.WithLabelValues(l.Outcome).Inc()
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
		s.metrics.policyDecisions.WithLabelValues(policy, mode).Inc()
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
	case errors.Is(err, github.ErrTooLarge):
		return "too_large"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	if temporary, _ := github.Temporary(err); temporary {
		return "github_unavailable"
	}
	var se *github.StatusError
	if errors.As(err, &se) {
		return "github_error"
	}
	return "error" // the store, or what no code names: never the author's
}

// authored reports the failures a workflow's author controls, which fail
// closed whatever on_error says: bytes runpolicy cannot read (size and
// structure limits, invalid UTF-8, NUL bytes, YAML it cannot parse; a
// file, the workflow or one it uses, over the fetch limit), an
// event it cannot read, an evaluation the document makes fail or run past
// eval_timeout, and a workflow file missing at the head commit: the head
// commit and the fork it lives in are the author's, who can delete the
// fork, or point the run at a path that is no file, once the run is
// requested. Everything else (GitHub unreachable or refusing the App, the
// store, the job's own deadline) is outside the author's control and
// on_error decides it.
func authored(err error) bool {
	_, ok := authoredWhy[errorCode(err)]
	return ok
}

// authoredWhy names, for each failure code its author controls, why the
// run is denied.
var authoredWhy = map[string]string{
	"bad_workflow":       "runpolicy cannot read this workflow",
	"too_large":          "the workflow, or a file it uses, is larger than runpolicy reads",
	"bad_payload":        "runpolicy cannot read this run's event",
	"evaluation_error":   "the policies cannot be evaluated on this workflow",
	"eval_timeout":       "evaluating the policies on this workflow took longer than eval_timeout",
	"workflow_not_found": "the workflow file is not at the run's head commit",
}

// PolicyUnreadable is the policy name of the finding that denies a run
// whose workflow runpolicy cannot judge for a reason its author controls.
const PolicyUnreadable = "runpolicy"

// unreadable is the decision on such a run: one enforced finding saying
// why, so that the run is cancelled and reported like any other deny.
func unreadable(err error) *engine.Decision {
	code := errorCode(err)
	why := authoredWhy[code]
	return &engine.Decision{
		Violations: []engine.Violation{{
			Policy:  PolicyUnreadable,
			Mode:    "enforce",
			Message: fmt.Sprintf("%s (%s), so it is denied: %s", why, code, err),
			Details: map[string]any{"code": code},
		}},
		Warnings: []engine.Violation{},
	}
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
	// A fork's branch may be named like the default branch: only the
	// repository's own default branch is its own copy.
	onDefault := rc.Run.IsDefaultBranch && strings.EqualFold(t.HeadRepository, t.Repository)
	compare := !onDefault && t.DefaultBranch != ""
	head, base, err := s.fetchWorkflow(ctx, t, compare)
	if err != nil {
		return nil, nil, err
	}
	timers["timer_fetch_ns"] = time.Since(begin).Nanoseconds()

	// Normalizing and evaluating is the CPU-heavy part of judging; bound
	// how many runs do it at once so that acknowledging deliveries never
	// waits for a core.
	release, err := s.cpu.acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	begin = time.Now()
	facts, err := s.parse(t.Path, head)
	if err != nil {
		release()
		return nil, nil, err
	}
	if compare {
		rc.DefaultBranchKnown = true
		if base != nil {
			sum := digest(base)
			rc.DefaultBranchSHA256 = &sum
		}
	}
	doc := input.Build(facts, rc)
	timers["timer_parse_ns"] = time.Since(begin).Nanoseconds()

	r := s.resolver(t.Installation)
	if r == nil {
		defer release()
		if !doc.Run.IsDefaultBranch {
			uncompared(doc)
		}
		result, err := s.eval(ctx, doc, timers)
		return doc, result, err
	}
	// Resolving transitive references takes round trips to GitHub. Judge
	// the direct references meanwhile: when they already deny the run,
	// the cancel does not wait for the rest.
	resolveCtx, cancelResolve := context.WithCancel(ctx)
	defer cancelResolve()
	type resolution struct {
		doc *input.Document
		err error
		d   time.Duration
	}
	resolved := make(chan resolution, 1)
	go func() {
		begin := time.Now()
		d, err := r.Resolve(resolveCtx, doc)
		resolved <- resolution{d, err, time.Since(begin)}
	}()
	direct, err := s.eval(ctx, doc, timers)
	release()
	if err != nil {
		return doc, nil, err
	}
	if !direct.Allow {
		timers["counter_resolve_skipped"] = 1 // the direct references denied the run
		return doc, direct, nil
	}
	res := <-resolved
	if res.err != nil {
		return doc, nil, fmt.Errorf("resolve references of %s: %w", t.Path, res.err)
	}
	timers["timer_resolve_ns"] = res.d.Nanoseconds()
	if release, err = s.cpu.acquire(ctx); err != nil {
		return res.doc, nil, err
	}
	defer release()
	result, err := s.eval(ctx, res.doc, timers)
	return res.doc, result, err
}

// uncompared marks every local action and reusable workflow of a run off
// the default branch as modified when no resolver compares them with the
// default branch's copies: what runpolicy did not read is not unmodified.
func uncompared(doc *input.Document) {
	for _, u := range doc.Uses {
		raw := strings.TrimSpace(u.Raw)
		if u.Kind != input.KindLocal && !strings.HasPrefix(raw, "./") && !strings.HasPrefix(raw, "$/") {
			continue
		}
		f := input.ModifiedFile{Path: strings.TrimPrefix(strings.TrimPrefix(raw, "$/"), "./"), Uses: u.Raw,
			Change: input.ChangeUnknown, Reason: "not compared: resolve is off"}
		if !slices.ContainsFunc(doc.Workflow.ModifiedFiles, func(m input.ModifiedFile) bool { return m.Path == f.Path }) {
			doc.Workflow.Modified = true
			doc.Workflow.ModifiedFiles = append(doc.Workflow.ModifiedFiles, f)
		}
	}
}

// fetchWorkflow reads the workflow file at the head commit (from the fork
// for a fork's pull request) and, when compare is set, the same path on the
// default branch, in parallel. base is nil when the default branch has no
// such file: the workflow is new.
//
// One failing does not cancel the other: its answer may be a rate limit,
// which the client must see to hold the installation's calls back.
func (s *Server) fetchWorkflow(ctx context.Context, t *target, compare bool) (head, base []byte, err error) {
	client := s.app.Installation(t.Installation)
	var g errgroup.Group
	g.Go(func() error {
		owner, name := split(t.HeadRepository)
		var err error
		head, err = client.Content(ctx, owner, name, t.Path, t.HeadSHA)
		return err
	})
	if compare {
		g.Go(func() error {
			owner, name := t.owner()
			var err error
			base, err = client.Content(ctx, owner, name, t.Path, t.DefaultBranch)
			if errors.Is(err, github.ErrNotFound) {
				base, err = nil, nil
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	return head, base, nil
}

// eval evaluates a document, timing it, within eval_timeout: a document
// that makes the policies run longer is the workflow's doing
// (eval_timeout), while an evaluation the job's own end stopped is not.
func (s *Server) eval(ctx context.Context, doc *input.Document, timers map[string]int64) (*engine.Decision, error) {
	begin := time.Now()
	evalCtx, cancel := context.WithTimeout(ctx, s.opts.EvalTimeout)
	defer cancel()
	result, err := s.engine.Eval(evalCtx, doc)
	switch {
	case err != nil && ctx.Err() == nil && errors.Is(evalCtx.Err(), context.DeadlineExceeded):
		return nil, &evalError{"eval_timeout", fmt.Errorf("evaluation stopped after %s: %w", s.opts.EvalTimeout, err)}
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("evaluation: %w", ctx.Err())
	case err != nil:
		return nil, &evalError{"evaluation_error", err}
	}
	timers["timer_rego_query_eval_ns"] += time.Since(begin).Nanoseconds()
	return result, nil
}

// parse normalizes a workflow file once per content (input.Cache, which
// the benchmark measures as runpolicy in process).
func (s *Server) parse(path string, src []byte) (*input.Facts, error) {
	f, err := s.facts.Get(path, src)
	if err != nil {
		return nil, &evalError{"bad_workflow", fmt.Errorf("parse: %w", err)} // err names the file
	}
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
