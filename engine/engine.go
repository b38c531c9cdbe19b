// Package engine evaluates input documents against policy bundles with OPA.
//
// An Engine compiles its bundles once per set of revisions, prepares the
// decision query and shares it across goroutines. Load swaps in a new set of
// bundles atomically: evaluations in flight finish on the revision they
// started with, and a set that fails to compile or validate never replaces
// the last good one.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/policies"
)

// Queries the built-in aggregator answers. PreparedQuery reads no input:
// the engine evaluates it once per load and stores its value at
// PreparedPath, where the policies look up what it prepared.
const (
	DecisionQuery     = "data.runpolicy.main.decision"
	ConfigErrorsQuery = "data.runpolicy.main.config_errors"
	PreparedQuery     = "data.runpolicy.main.prepared"
)

// PreparedPath is the store path of PreparedQuery's value. The engine
// puts what it derives at load under data.internal.runpolicy, apart from
// the policies and their settings: .packages (the loaded policy
// packages), .declared (the settings each policy declares in its
// METADATA) and .prepared. No bundle or data file may write there (see
// reserved.go).
const PreparedPath = "/internal/runpolicy/prepared"

// BuiltinName is the name of the embedded bundle.
const BuiltinName = "builtin"

// Engine evaluates documents against the active bundles. It is safe for
// concurrent use.
type Engine struct {
	builtin bool
	data    []dataDoc
	logger  *slog.Logger
	allow   []string // network builtins the operator allowed

	mu  sync.Mutex // serializes Load
	cur atomic.Pointer[revision]
}

// revision is one compiled, validated set of bundles.
type revision struct {
	query      rego.PreparedEvalQuery
	revisions  map[string]string
	exceptions []Exception
	// compiler and store serve the queries that find which policy failed
	// when the decision does not evaluate.
	compiler *ast.Compiler
	store    storage.Store
}

// Option configures an Engine.
type Option func(*Engine)

// WithoutBuiltin leaves the embedded bundle out.
func WithoutBuiltin() Option { return func(e *Engine) { e.builtin = false } }

// WithData adds data documents merged over every bundle's data, in order;
// this is how --data settings files override the defaults.
func WithData(docs ...map[string]any) Option {
	return func(e *Engine) {
		for _, d := range docs {
			e.data = append(e.data, dataDoc{data: d})
		}
	}
}

// WithDataFile adds a data document read from a file: errors about it name
// the file, and the line where says sets the key at fault.
func WithDataFile(name string, doc map[string]any, where Locator) Option {
	return func(e *Engine) { e.data = append(e.data, dataDoc{data: doc, name: name, where: where}) }
}

// docs wraps plain data documents.
func docs(data []map[string]any) []dataDoc {
	out := make([]dataDoc, len(data))
	for i, d := range data {
		out[i] = dataDoc{data: d}
	}
	return out
}

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.logger = l } }

// WithAllowedBuiltins lets policies call the named network built-ins
// (http.send, net.lookup_ip_addr, …), which are refused by default; see
// Capabilities.
func WithAllowedBuiltins(names ...string) Option {
	return func(e *Engine) { e.allow = append(e.allow, names...) }
}

// New builds an engine and loads bundles (the built-in bundle first unless
// WithoutBuiltin).
func New(ctx context.Context, bundles []Bundle, opts ...Option) (*Engine, error) {
	e := &Engine{builtin: true, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(e)
	}
	if !e.builtin && len(bundles) == 0 {
		// A server whose bundles all come from remote sources starts empty;
		// the bundle manager loads them, and evaluation fails until it has.
		return e, nil
	}
	if err := e.Load(ctx, bundles); err != nil {
		return nil, err
	}
	return e, nil
}

// Load compiles and validates bundles and, when that succeeds, makes them
// the active set. On failure the previous set stays active.
func (e *Engine) Load(ctx context.Context, bundles []Bundle) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	all := bundles
	if e.builtin {
		b, err := policies.Bundle()
		if err != nil {
			return err
		}
		all = append([]Bundle{{Name: BuiltinName, Bundle: b}}, bundles...)
	}
	if len(all) == 0 {
		return errors.New("no policy bundle to load")
	}
	caps, err := Capabilities(e.allow...)
	if err != nil {
		return err
	}
	rev, err := prepare(ctx, all, e.data, caps)
	if err != nil {
		return err
	}
	e.cur.Store(rev)
	e.logger.Info("policy bundles activated", "revisions", rev.revisions)
	for _, x := range rev.exceptions {
		e.logger.Warn("compromised-list exception in force: these entries are not checked",
			"advisory", x.Advisory, "reason", x.Reason, "actions", x.Actions)
	}
	return nil
}

// AllowedBuiltins returns the network built-ins policies may call, for
// whoever compiles the same policies elsewhere (a bundle's tests).
func (e *Engine) AllowedBuiltins() []string { return slices.Clone(e.allow) }

// Exceptions returns the compromised-list exceptions of the active set.
func (e *Engine) Exceptions() []Exception {
	rev := e.cur.Load()
	if rev == nil {
		return nil
	}
	return slices.Clone(rev.exceptions)
}

// Modules returns the composed modules and data of bundles, for the test
// runner, which needs them without preparing a query.
func Modules(bundles []Bundle, data ...map[string]any) (map[string]*ast.Module, map[string]any, error) {
	c, err := compose(bundles, docs(data))
	if err != nil {
		return nil, nil, err
	}
	return c.modules, c.data, nil
}

// Compile composes and compiles bundles and returns the compiler with the
// data the decision query runs on: every bundle's data with the extra
// documents merged over it, plus what the engine derives once per load
// under data.internal.runpolicy (see PreparedPath). Settings are validated
// on the way. The benchmark harness hands the same data to a stock OPA.
func Compile(ctx context.Context, bundles []Bundle, data ...map[string]any) (*ast.Compiler, map[string]any, error) {
	c, err := compose(bundles, docs(data))
	if err != nil {
		return nil, nil, err
	}
	caps, err := Capabilities()
	if err != nil {
		return nil, nil, err
	}
	compiler, err := compileComposition(ctx, c, caps)
	if err != nil {
		return nil, nil, err
	}
	return compiler, c.data, nil
}

// compileComposition compiles c and derives its load-time data in place.
func compileComposition(ctx context.Context, c *composition, caps *ast.Capabilities) (*ast.Compiler, error) {
	schemas, err := policies.Schemas()
	if err != nil {
		return nil, err
	}
	compiler := ast.NewCompiler().
		WithEnablePrintStatements(false).
		WithSchemas(schemas).
		WithUseTypeCheckAnnotations(true).
		WithCapabilities(caps)
	if compiler.Compile(c.modules); compiler.Failed() {
		return nil, fmt.Errorf("compile policies: %w", explainCapabilities(compiler.Errors))
	}
	if err := checkTopLevel(compiler.Modules, c.checked); err != nil {
		return nil, err
	}
	setPath(c.data, packages(compiler), internalRoot, ReservedRoot, "packages")
	decls, err := declarations(compiler.Modules)
	if err != nil {
		return nil, err
	}
	setPath(c.data, declaredKinds(decls), internalRoot, ReservedRoot, "declared")
	applyDefaults(c, decls)
	store := newStore(c.data)
	if err := checkConfig(ctx, compiler, store, c.locate); err != nil {
		return nil, err
	}
	// Index the list settings once per load rather than once per decision:
	// the policies look the index up at data.internal.runpolicy.prepared.
	prepared, err := evalData(ctx, compiler, store, PreparedQuery)
	if err != nil {
		return nil, err
	}
	if prepared != nil {
		setPath(c.data, prepared, internalRoot, ReservedRoot, "prepared")
	}
	return compiler, nil
}

func prepare(ctx context.Context, bundles []Bundle, data []dataDoc, caps *ast.Capabilities) (*revision, error) {
	c, err := compose(bundles, data)
	if err != nil {
		return nil, err
	}
	compiler, err := compileComposition(ctx, c, caps)
	if err != nil {
		return nil, err
	}
	store := newStore(c.data)
	pq, err := rego.New(
		rego.Query(DecisionQuery),
		rego.Compiler(compiler),
		rego.Store(store),
		rego.StoreReadAST(true),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", DecisionQuery, err)
	}
	return &revision{query: pq, revisions: c.revisions, exceptions: c.exceptions, compiler: compiler, store: store}, nil
}

func newStore(data map[string]any) storage.Store {
	return inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
}

// packages lists the policy packages directly under runpolicy.policies, for
// the aggregator: it reads the list instead of evaluating every package to
// find out which exist.
func packages(compiler *ast.Compiler) []any {
	seen := map[string]bool{}
	for _, m := range compiler.Modules {
		if name, _, ok := policyName(m.Package.Path); ok {
			seen[name] = true
		}
	}
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}

// policiesRoot is the package every policy lies under.
var policiesRoot = ast.MustParseRef("data.runpolicy.policies")

// policyName is the policy a package at or under
// data.runpolicy.policies.<name> belongs to; top is true for the policy's
// own package, false for a subpackage of it.
func policyName(path ast.Ref) (name string, top, ok bool) {
	if len(path) <= len(policiesRoot) || !path.HasPrefix(policiesRoot) {
		return "", false, false
	}
	s, ok := path[len(policiesRoot)].Value.(ast.String)
	return string(s), len(path) == len(policiesRoot)+1, ok
}

// evalData evaluates a query that reads no input and returns its value, or
// nil when it is undefined (an aggregator without the rule).
func evalData(ctx context.Context, compiler *ast.Compiler, store storage.Store, query string) (any, error) {
	rs, err := rego.New(rego.Query(query), rego.Compiler(compiler), rego.Store(store)).Eval(ctx)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", query, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, nil
	}
	return rs[0].Expressions[0].Value, nil
}

// setPath sets data[path...] = v, creating or replacing objects on the way.
func setPath(data map[string]any, v any, path ...string) {
	for _, k := range path[:len(path)-1] {
		next, ok := data[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			data[k] = next
		}
		data = next
	}
	data[path[len(path)-1]] = v
}

// checkConfig refuses settings the policies call invalid, so a typo in a
// settings file fails the load instead of silently allowing runs.
// Each message is prefixed with the file and line that set the setting,
// when locate finds them.
func checkConfig(ctx context.Context, compiler *ast.Compiler, store storage.Store, locate Locator) error {
	rs, err := rego.New(rego.Query(ConfigErrorsQuery), rego.Compiler(compiler), rego.Store(store)).Eval(ctx)
	if err != nil {
		return fmt.Errorf("validate settings: %w", err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil // no aggregator (--no-builtin without one): nothing to validate
	}
	errs, _ := rs[0].Expressions[0].Value.([]any)
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, 0, len(errs))
	for _, m := range errs {
		msg := fmt.Sprint(m)
		if path := settingPath(msg); path != nil && locate != nil {
			if loc := locate(path); loc != "" {
				msg = loc + ": " + msg
			}
		}
		msgs = append(msgs, msg)
	}
	sort.Strings(msgs)
	// One line, bounded: a generated settings file can be wrong 10,000 times.
	const shown = 5
	if len(msgs) > shown {
		msgs = append(msgs[:shown], fmt.Sprintf("and %d more", len(msgs)-shown))
	}
	return fmt.Errorf("invalid settings: %s", strings.Join(msgs, "; "))
}

// Revisions returns the active bundle revisions by bundle name.
func (e *Engine) Revisions() map[string]string {
	rev := e.cur.Load()
	if rev == nil {
		return map[string]string{}
	}
	out := make(map[string]string, len(rev.revisions))
	for k, v := range rev.revisions {
		out[k] = v
	}
	return out
}

// Eval judges one document.
func (e *Engine) Eval(ctx context.Context, doc *input.Document) (*Decision, error) {
	return e.EvalValue(ctx, doc.Value())
}

// EvalValue judges an input already in OPA's value type.
func (e *Engine) EvalValue(ctx context.Context, in ast.Value) (*Decision, error) {
	rev := e.cur.Load()
	if rev == nil {
		return nil, errors.New("no policy bundle is active yet")
	}
	// Without a Cancel of its own, OPA starts a goroutine per evaluation to
	// watch ctx, and waking it at the end costs a thread wake-up: about a
	// sixth of a decision. context.AfterFunc watches ctx without one.
	cancel := topdown.NewCancel()
	defer context.AfterFunc(ctx, cancel.Cancel)()
	rs, err := rev.query.Eval(ctx, rego.EvalParsedInput(in), rego.EvalExternalCancel(cancel))
	var failed []Violation
	if err != nil {
		if ctx.Err() != nil {
			return nil, rev.runaway(ctx, in, err)
		}
		// One policy's error must cost only that policy: find which
		// failed and decide again without them (see isolate).
		if rs, failed, err = rev.isolate(ctx, in, err); err != nil {
			return nil, err
		}
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, fmt.Errorf("evaluate %s: undefined (is the runpolicy.main aggregator loaded?)", DecisionQuery)
	}
	d, err := Decode(rs[0].Expressions[0].Value)
	if err != nil {
		return nil, err
	}
	if len(failed) > 0 {
		d.Violations = append(d.Violations, failed...)
		sortFindings(d.Violations)
		d.Allow = d.Allow && len(d.Enforced()) == 0
	}
	d.Revisions = rev.revisions
	d.Exceptions = rev.exceptions
	return d, nil
}
