// Package replay evaluates recorded decisions' input documents with
// candidate policies and reports what would have gone differently: runs
// newly denied, runs newly allowed, findings changed, by policy. A policy
// change can then say "this would have stopped N runs last week" before it
// is merged.
//
// Run does one replay against the store, on bounded concurrency. Runner
// runs replays in a server's background and records their progress in
// the store (runner.go). Policies.Candidate builds the candidate engine
// from a configured source at another git ref, or from a bundle
// (candidate.go).
package replay

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/internal/oneline"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// Request selects the recorded decisions to replay and names the
// candidate.
type Request struct {
	// Policy is the candidate policy source (see Policies.Candidate).
	Policy string `json:"policy,omitempty"`
	// Replace, with an uploaded Bundle, names the configured source the
	// bundle replaces; empty puts it beside them.
	Replace string `json:"replace,omitempty"`
	// Bundle is an uploaded .tar.gz bundle, the candidate instead of Policy.
	Bundle []byte `json:"-"`
	// Since and Until bound the decisions' time: Since <= t < Until (Until
	// zero: now).
	Since time.Time `json:"since"`
	Until time.Time `json:"until,omitzero"`
	// Scope is whose decisions are replayed (store.Scope: the zero Scope
	// sees nothing; Scope{All: true} every repository; a console user's
	// scope what they may read); Organization and Repository narrow it.
	Scope        store.Scope `json:"scope"`
	Organization string      `json:"organization,omitempty"`
	Repository   string      `json:"repository,omitempty"`
}

// Candidate names the candidate for people: the source at its ref, or the
// uploaded bundle and the configured source it replaces.
func (r Request) Candidate() string {
	switch {
	case r.Policy != "":
		return r.Policy
	case r.Replace != "":
		return "an uploaded bundle in place of " + r.Replace
	}
	return "an uploaded bundle"
}

// Options tune Run.
type Options struct {
	// Concurrency bounds the evaluations at once (default GOMAXPROCS).
	Concurrency int
	// Gate, when set, is taken around each evaluation, so that a server's
	// replays share its CPU budget with judging runs.
	Gate func(ctx context.Context) (release func(), err error)
	// EvalTimeout bounds one evaluation (default 5s); a document that
	// runs the candidate longer counts as denied, as the server would
	// deny it.
	EvalTimeout time.Duration
	// MaxDecisions refuses a window holding more decisions (default
	// 200,000): narrow the time or the repositories.
	MaxDecisions int
	// MaxListed bounds each list of changed runs in the result (default
	// 1000); the counts are always whole.
	MaxListed int
	// Progress, when set, is called as decisions are done (done of total).
	Progress func(done, total int)
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = runtime.GOMAXPROCS(0)
	}
	if o.EvalTimeout <= 0 {
		o.EvalTimeout = 5 * time.Second
	}
	if o.MaxDecisions <= 0 {
		o.MaxDecisions = 200_000
	}
	if o.MaxListed <= 0 {
		o.MaxListed = 1000
	}
	return o
}

// Verdicts of a run.
const (
	Allowed = "allow"
	Denied  = "deny"
)

// Result is what a replay found.
type Result struct {
	// Candidate are the candidate's bundle revisions, by bundle name.
	Candidate map[string]string `json:"candidate"`
	Since     time.Time         `json:"since"`
	Until     time.Time         `json:"until"`
	// Decisions were read; Replayed of them had an input document and a
	// verdict to compare with; Skipped had none (the run could not be
	// judged when it was recorded). Runs are the distinct run attempts
	// replayed.
	Decisions int `json:"decisions"`
	Replayed  int `json:"replayed"`
	Skipped   int `json:"skipped"`
	Runs      int `json:"runs"`
	// Counts of runs: denied now and not then, allowed now and denied
	// then, the same verdict with other findings, the same findings.
	NewlyDeniedRuns     int `json:"newly_denied_runs"`
	NewlyAllowedRuns    int `json:"newly_allowed_runs"`
	FindingsChangedRuns int `json:"findings_changed_runs"`
	UnchangedRuns       int `json:"unchanged_runs"`
	// Errors counts documents the candidate failed on (counted denied).
	Errors int `json:"errors"`
	// The changed runs, at most Options.MaxListed of each, by repository
	// and run; Truncated says some were left out.
	NewlyDenied     []RunChange `json:"newly_denied"`
	NewlyAllowed    []RunChange `json:"newly_allowed"`
	FindingsChanged []RunChange `json:"findings_changed"`
	Truncated       bool        `json:"truncated"`
	// Policies are the counts per policy, by name.
	Policies []PolicyChange `json:"policies"`
	// Elapsed is how long the evaluations took.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// RunChange is one run attempt whose verdict or findings changed.
type RunChange struct {
	Repository string `json:"repository"`
	RunID      int64  `json:"run_id"`
	RunAttempt int    `json:"run_attempt"`
	Workflow   string `json:"workflow"`
	URL        string `json:"url,omitempty"`
	// Decision is the run's latest replayed decision.
	Decision  string    `json:"decision"`
	At        time.Time `json:"at"`
	Recorded  string    `json:"recorded"`
	Candidate string    `json:"candidate"`
	// Added and Removed are the findings the candidate adds and drops.
	Added   []Finding `json:"added"`
	Removed []Finding `json:"removed"`
}

// Finding is one violation, as compared between the recorded decision
// and the candidate's.
type Finding struct {
	Policy  string `json:"policy"`
	Mode    string `json:"mode"`
	Message string `json:"message"`
	Job     string `json:"job,omitempty"`
	Uses    string `json:"uses,omitempty"`
	Line    int    `json:"line,omitempty"`
}

// PolicyChange counts, for one policy, the runs where it starts or stops
// finding something, and the newly denied (allowed) runs it now (no
// longer) enforces on.
type PolicyChange struct {
	Policy       string `json:"policy"`
	NewlyDenied  int    `json:"newly_denied"`
	NewlyAllowed int    `json:"newly_allowed"`
	Added        int    `json:"added"`
	Removed      int    `json:"removed"`
}

// PolicyUnreadable is the policy of the finding a document the candidate
// cannot evaluate gets, as the server names it.
const PolicyUnreadable = "runpolicy"

// pageSize is how many decisions (with their input documents) are read
// at once.
const pageSize = 100

// Run replays the decisions req selects with the candidate engine and
// compares each run's verdict and findings with what was recorded. Runs
// whose decisions hold no input document (not judged) are skipped.
func Run(ctx context.Context, st *store.Store, candidate *engine.Engine, req Request, o Options) (*Result, error) {
	o = o.withDefaults()
	if req.Until.IsZero() {
		req.Until = time.Now()
	}
	if !req.Since.Before(req.Until) {
		return nil, fmt.Errorf("replay: since %s is not before until %s", req.Since.Format(time.RFC3339), req.Until.Format(time.RFC3339))
	}
	f := store.EvaluationFilter{Scope: req.Scope, Organization: req.Organization, Repository: req.Repository,
		Since: req.Since, Until: req.Until}
	total, err := st.CountEvaluations(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if total > o.MaxDecisions {
		return nil, fmt.Errorf("replay: %d decisions in the window, more than %d: narrow the time or the repositories", total, o.MaxDecisions)
	}
	res := &Result{Candidate: candidate.Revisions(), Since: req.Since, Until: req.Until}
	if o.Progress != nil {
		o.Progress(0, total)
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan store.Decision, o.Concurrency)
	done := make(chan outcome, o.Concurrency)
	readErr := make(chan error, 1)
	go func() {
		defer close(todo)
		readErr <- read(ctx, st, f, todo)
	}()
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() {
			for e := range todo {
				out := replayOne(ctx, candidate, e, o)
				select {
				case done <- out:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	runs := map[store.RunKey]*run{}
	for out := range done {
		res.Decisions++
		if out.err != nil {
			cancel()
			for range done { // let the workers end
			}
			return nil, out.err
		}
		res.merge(runs, out)
		if o.Progress != nil {
			o.Progress(res.Decisions, max(total, res.Decisions))
		}
	}
	if err := <-readErr; err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	res.Elapsed = time.Since(start)
	res.compare(runs, o.MaxListed)
	return res, nil
}

// read sends the decisions f selects, page by page, newest first.
func read(ctx context.Context, st *store.Store, f store.EvaluationFilter, todo chan<- store.Decision) error {
	var before *store.Cursor
	for {
		page, next, err := st.DecisionLogs(ctx, f, before, pageSize)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		for _, d := range page {
			select {
			case todo <- d:
			case <-ctx.Done():
				return nil
			}
		}
		if next == nil {
			return nil
		}
		before = next
	}
}

// recorded is the part of a decision log entry a replay reads.
type recorded struct {
	Input   json.RawMessage  `json:"input"`
	Result  *engine.Decision `json:"result"`
	Outcome string           `json:"outcome"`
	Run     *struct {
		URL      string `json:"html_url"`
		Workflow string `json:"workflow_path"`
	} `json:"run"`
}

// outcome is one decision replayed.
type outcome struct {
	e        store.Decision
	url      string
	workflow string
	skipped  bool
	failed   bool // the candidate could not evaluate the document
	was, now []Finding
	wasDeny  bool
	nowDeny  bool
	err      error // the replay cannot go on
}

// replayOne evaluates one decision's input document with the candidate.
func replayOne(ctx context.Context, candidate *engine.Engine, e store.Decision, o Options) outcome {
	out := outcome{e: e}
	var l recorded
	if err := json.Unmarshal(e.Log, &l); err != nil {
		out.skipped = true // not a log this version reads: nothing to compare
		return out
	}
	if l.Run != nil {
		out.url, out.workflow = l.Run.URL, l.Run.Workflow
	}
	if len(l.Input) == 0 || bytes.Equal(l.Input, []byte("null")) || l.Result == nil ||
		(l.Outcome != store.OutcomeAllow && l.Outcome != store.OutcomeDeny) {
		out.skipped = true
		return out
	}
	out.wasDeny = l.Outcome == store.OutcomeDeny
	out.was = findings(l.Result.Violations)
	in, err := ast.ValueFromReader(bytes.NewReader(l.Input))
	if err != nil {
		out.skipped = true
		return out
	}
	if o.Gate != nil {
		release, err := o.Gate(ctx)
		if err != nil {
			out.err = fmt.Errorf("replay: %w", err)
			return out
		}
		defer release()
	}
	evalCtx, cancel := context.WithTimeout(ctx, o.EvalTimeout)
	defer cancel()
	d, err := candidate.EvalValue(evalCtx, in)
	switch {
	case err != nil && ctx.Err() != nil:
		out.err = fmt.Errorf("replay: %w", ctx.Err())
	case err != nil:
		// The server denies a run whose document the policies fail on,
		// or run past eval_timeout on: so does the replay.
		msg := "the policies cannot be evaluated on this workflow: " + oneline.Error(err)
		if errors.Is(evalCtx.Err(), context.DeadlineExceeded) {
			msg = fmt.Sprintf("evaluating the policies on this workflow took longer than %s", o.EvalTimeout)
		}
		out.failed, out.nowDeny = true, true
		out.now = []Finding{{Policy: PolicyUnreadable, Mode: engine.ModeEnforce, Message: msg}}
	default:
		out.nowDeny = !d.Allow
		out.now = findings(d.Violations)
	}
	return out
}

func findings(vs []engine.Violation) []Finding {
	out := make([]Finding, 0, len(vs))
	for _, v := range vs {
		out = append(out, Finding{Policy: v.Policy, Mode: v.Mode, Message: v.Message, Job: v.Job, Uses: v.Uses, Line: v.Line})
	}
	return out
}

// run gathers the replayed decisions of one run attempt: a run is judged
// once per delivery (workflow_run, and each workflow_job), and it was
// stopped when any of them denied it.
type run struct {
	key      store.RunKey
	workflow string
	url      string
	decision string
	at       time.Time
	wasDeny  bool
	nowDeny  bool
	was, now map[Finding]bool
}

// merge adds one replayed decision to its run.
func (r *Result) merge(runs map[store.RunKey]*run, out outcome) {
	if out.skipped {
		r.Skipped++
		return
	}
	r.Replayed++
	if out.failed {
		r.Errors++
	}
	key := store.RunKey{Repository: out.e.Repository, RunID: out.e.RunID, Attempt: out.e.RunAttempt}
	x := runs[key]
	if x == nil {
		x = &run{key: key, was: map[Finding]bool{}, now: map[Finding]bool{}}
		runs[key] = x
	}
	if out.e.CreatedAt.After(x.at) || x.decision == "" {
		x.decision, x.at, x.workflow = out.e.ID, out.e.CreatedAt, out.workflow
		if out.url != "" {
			x.url = out.url
		}
	}
	x.wasDeny = x.wasDeny || out.wasDeny
	x.nowDeny = x.nowDeny || out.nowDeny
	for _, f := range out.was {
		x.was[f] = true
	}
	for _, f := range out.now {
		x.now[f] = true
	}
}

// compare turns the runs into the counts and lists of the result.
func (r *Result) compare(runs map[store.RunKey]*run, maxListed int) {
	r.Runs = len(runs)
	byPolicy := map[string]*PolicyChange{}
	policy := func(name string) *PolicyChange {
		p := byPolicy[name]
		if p == nil {
			p = &PolicyChange{Policy: name}
			byPolicy[name] = p
		}
		return p
	}
	keys := make([]store.RunKey, 0, len(runs))
	for k := range runs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b store.RunKey) int {
		return cmp.Or(strings.Compare(a.Repository, b.Repository), cmp.Compare(a.RunID, b.RunID), cmp.Compare(a.Attempt, b.Attempt))
	})
	r.NewlyDenied, r.NewlyAllowed, r.FindingsChanged = []RunChange{}, []RunChange{}, []RunChange{}
	for _, k := range keys {
		x := runs[k]
		added, removed := diff(x.now, x.was), diff(x.was, x.now)
		wasPolicies, nowPolicies := policies(x.was), policies(x.now)
		for p := range nowPolicies {
			if _, ok := wasPolicies[p]; !ok {
				policy(p).Added++
			}
		}
		for p := range wasPolicies {
			if _, ok := nowPolicies[p]; !ok {
				policy(p).Removed++
			}
		}
		c := RunChange{Repository: k.Repository, RunID: k.RunID, RunAttempt: k.Attempt, Workflow: x.workflow, URL: x.url,
			Decision: x.decision, At: x.at, Recorded: verdict(x.wasDeny), Candidate: verdict(x.nowDeny), Added: added, Removed: removed}
		var list *[]RunChange
		switch {
		case x.nowDeny && !x.wasDeny:
			r.NewlyDeniedRuns++
			list = &r.NewlyDenied
			for p, mode := range nowPolicies {
				if mode == engine.ModeEnforce && wasPolicies[p] != engine.ModeEnforce {
					policy(p).NewlyDenied++
				}
			}
		case x.wasDeny && !x.nowDeny:
			r.NewlyAllowedRuns++
			list = &r.NewlyAllowed
			for p, mode := range wasPolicies {
				if mode == engine.ModeEnforce && nowPolicies[p] != engine.ModeEnforce {
					policy(p).NewlyAllowed++
				}
			}
		case len(added) > 0 || len(removed) > 0:
			r.FindingsChangedRuns++
			list = &r.FindingsChanged
		default:
			r.UnchangedRuns++
			continue
		}
		if len(*list) < maxListed {
			*list = append(*list, c)
		} else {
			r.Truncated = true
		}
	}
	r.Policies = []PolicyChange{}
	for _, p := range byPolicy {
		r.Policies = append(r.Policies, *p)
	}
	slices.SortFunc(r.Policies, func(a, b PolicyChange) int { return strings.Compare(a.Policy, b.Policy) })
}

// diff lists the findings of a that b lacks, in a stable order.
func diff(a, b map[Finding]bool) []Finding {
	out := []Finding{}
	for f := range a {
		if !b[f] {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(x, y Finding) int {
		return cmp.Or(strings.Compare(x.Policy, y.Policy), strings.Compare(x.Job, y.Job), cmp.Compare(x.Line, y.Line),
			strings.Compare(x.Uses, y.Uses), strings.Compare(x.Message, y.Message), strings.Compare(x.Mode, y.Mode))
	})
	return out
}

// policies maps the policies of findings to their strongest mode.
func policies(fs map[Finding]bool) map[string]string {
	out := map[string]string{}
	for f := range fs {
		if out[f.Policy] != engine.ModeEnforce {
			out[f.Policy] = f.Mode
		}
	}
	return out
}

func verdict(deny bool) string {
	if deny {
		return Denied
	}
	return Allowed
}
