package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/runpolicy/runpolicy/internal/oneline"
)

// NetworkBuiltins are the built-ins that reach the network: http.send and
// DNS, and the JSON-schema checks, which fetch remote $refs. Policies judge
// runs from what the input says; a policy that calls out could leak the
// input, hang a decision, or let whoever answers decide it. The engine
// refuses them unless the operator allows them by name.
var NetworkBuiltins = []string{"http.send", "net.lookup_ip_addr", "json.match_schema", "json.verify_schema"}

// Capabilities are OPA's capabilities without the network built-ins,
// except those allow names. A name that is not a network built-in is an
// error, so a typo does not pass silently.
func Capabilities(allow ...string) (*ast.Capabilities, error) {
	for _, a := range allow {
		if !slices.Contains(NetworkBuiltins, a) {
			return nil, fmt.Errorf("allowed built-in %q: not one runpolicy refuses (those are %s)", a, strings.Join(NetworkBuiltins, ", "))
		}
	}
	caps := ast.CapabilitiesForThisVersion()
	kept := caps.Builtins[:0]
	for _, b := range caps.Builtins {
		if slices.Contains(NetworkBuiltins, b.Name) && !slices.Contains(allow, b.Name) {
			continue
		}
		kept = append(kept, b)
	}
	caps.Builtins = kept
	return caps, nil
}

// explainCapabilities adds to a compile error about a refused network
// built-in what to do about it.
func explainCapabilities(errs ast.Errors) error {
	for _, e := range errs {
		if e.Code != ast.TypeErr || !strings.Contains(e.Message, "undefined function") {
			continue
		}
		for _, n := range NetworkBuiltins {
			if strings.HasSuffix(e.Message, "undefined function "+n) {
				e.Message += " (policies get no network access; the server setting allow_builtins or --allow-builtin " + n + " allows it)"
			}
		}
	}
	return errs
}

// isolate runs after the decision failed with err: it evaluates each
// active policy on its own, and when the failure is some policies' own,
// decides again without them and returns their errors as findings under
// their modes (an enforced policy that errs denies). A failure no policy
// explains (the aggregator, the library) stays an error: nothing is
// allowed on it.
func (r *revision) isolate(ctx context.Context, in ast.Value, err error) (rego.ResultSet, []Violation, error) {
	wrapped := fmt.Errorf("evaluate %s: %w", DecisionQuery, err)
	active, aerr := r.active(ctx, in)
	if aerr != nil || len(active) == 0 {
		return nil, nil, wrapped
	}
	var failed []Violation
	kept := ast.NewObject()
	for _, name := range sortedKeys(active) {
		if perr := r.evalPolicy(ctx, in, name); perr != nil {
			failed = append(failed, Violation{
				Policy:  name,
				Mode:    active[name],
				Message: fmt.Sprintf("policy %s failed, so what it checks is unknown: %s", name, oneline.Fold(perr.Error())),
				Details: map[string]any{"error": true},
			})
			continue
		}
		kept.Insert(ast.StringTerm(name), ast.StringTerm(active[name]))
	}
	if len(failed) == 0 {
		return nil, nil, wrapped
	}
	q := fmt.Sprintf("%s with data.runpolicy.main.active as %s", DecisionQuery, kept)
	rs, err := rego.New(rego.Query(q), rego.Compiler(r.compiler), rego.Store(r.store), rego.ParsedInput(in)).Eval(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluate %s without the failing policies %s: %w", DecisionQuery, policyNames(failed), err)
	}
	return rs, failed, nil
}

// active is the aggregator's map of active policies to their modes, for
// this input.
func (r *revision) active(ctx context.Context, in ast.Value) (map[string]string, error) {
	rs, err := rego.New(rego.Query("data.runpolicy.main.active"), rego.Compiler(r.compiler), rego.Store(r.store), rego.ParsedInput(in)).Eval(ctx)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, nil
	}
	m, _ := rs[0].Expressions[0].Value.(map[string]any)
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out, nil
}

// evalPolicy evaluates one policy's deny and warn rules, which is all the
// aggregator reads of it.
func (r *revision) evalPolicy(ctx context.Context, in ast.Value, name string) error {
	pkg := policiesRoot.Append(ast.StringTerm(name))
	for _, rule := range []string{"deny", "warn"} {
		q := pkg.Append(ast.StringTerm(rule)).String()
		if _, err := rego.New(rego.Query(q), rego.Compiler(r.compiler), rego.Store(r.store), rego.ParsedInput(in)).Eval(ctx); err != nil {
			return err
		}
	}
	return nil
}

// runawayBudget is how long each policy may take alone while runaway looks
// for the one that made a decision miss its deadline. Built-in policies
// take well under a millisecond on real workflows.
const runawayBudget = 250 * time.Millisecond

// runaway explains a decision that ctx stopped: when the deadline passed,
// it evaluates each active policy alone with a small budget and names the
// first that does not finish in it. The error wraps ctx's.
func (r *revision) runaway(ctx context.Context, in ast.Value, err error) error {
	cause := ctx.Err()
	if !errors.Is(cause, context.DeadlineExceeded) {
		return fmt.Errorf("evaluate %s: %w (%s)", DecisionQuery, cause, oneline.Fold(err.Error()))
	}
	base := context.WithoutCancel(ctx)
	actx, cancel := context.WithTimeout(base, runawayBudget)
	active, aerr := r.active(actx, in)
	cancel()
	names := sortedKeys(active)
	if aerr != nil || active == nil { // an aggregator without active: try every package
		for _, p := range packages(r.compiler) {
			names = append(names, p.(string))
		}
	}
	for _, name := range names {
		pctx, cancel := context.WithTimeout(base, runawayBudget)
		perr := r.evalPolicy(pctx, in, name)
		timedOut := pctx.Err() != nil
		cancel()
		if perr != nil && timedOut {
			return fmt.Errorf("evaluate %s: policy %s ran away (alone it did not finish in %s): %w (%s)", DecisionQuery, name, runawayBudget, cause, oneline.Fold(err.Error()))
		}
	}
	return fmt.Errorf("evaluate %s: %w (%s; no single policy took more than %s)", DecisionQuery, cause, oneline.Fold(err.Error()), runawayBudget)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func policyNames(vs []Violation) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Policy
	}
	return strings.Join(names, ", ")
}
