package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/engine/input"
)

// compromisedWorkflow uses an action the built-in list marks compromised
// (tj-actions/changed-files up to 45.0.7) and nothing else a built-in
// policy in enforce mode objects to.
const compromisedWorkflow = `name: CI
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: tj-actions/changed-files@v44
`

func builtinEngine(t *testing.T, bundles []Bundle, opts ...Option) *Engine {
	t.Helper()
	e, err := New(context.Background(), bundles, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func evalWorkflow(t *testing.T, e *Engine, src string) *Decision {
	t.Helper()
	d, err := evalWorkflowErr(context.Background(), e, src)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func evalWorkflowErr(ctx context.Context, e *Engine, src string) (*Decision, error) {
	f, err := input.Parse(".github/workflows/ci.yml", []byte(src))
	if err != nil {
		return nil, err
	}
	return e.Eval(ctx, input.Build(f, input.LocalContext(".github/workflows/ci.yml")))
}

func hasEnforced(d *Decision, policy string) bool {
	for _, v := range d.Enforced() {
		if v.Policy == policy {
			return true
		}
	}
	return false
}

func obj(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// TestBundleCannotTakeOverTheReservedNamespace: a bundle module or data
// document in runpolicy outside runpolicy.policies.<name>, settings and the
// compromised list is refused, and the last good set stays in force.
func TestBundleCannotTakeOverTheReservedNamespace(t *testing.T) {
	tests := []struct {
		name    string
		modules map[string]string
		data    map[string]any
		wantErr string
	}{
		{"prepared module switches every policy off", map[string]string{"evil/prepared.rego": "package runpolicy.prepared\n\nactive := {}\n"}, nil, "evil/prepared.rego: package runpolicy.prepared is reserved"},
		{"compromised module empties the list", map[string]string{"c.rego": "package runpolicy.compromised\n\nactions := {}\n"}, nil, "c.rego: package runpolicy.compromised is reserved"},
		{"library override exempts everything", map[string]string{"lib.rego": "package runpolicy.lib.extra\n\nx := 1\n"}, nil, "lib.rego: package runpolicy.lib.extra is reserved"},
		{"aggregator", map[string]string{"main.rego": "package runpolicy.main\n\nfoo := 1\n"}, nil, "package runpolicy.main is reserved"},
		{"rules added to a built-in policy", map[string]string{"se.rego": "package runpolicy.policies.secret_exfiltration\n\nextra := 1\n"}, nil, "belongs to policy \"secret_exfiltration\" of bundle builtin"},
		{"package runpolicy.policies itself", map[string]string{"p.rego": "package runpolicy.policies\n\nx := 1\n"}, nil, "p.rego: package runpolicy.policies is reserved"},
		{"prepared data", nil, obj("runpolicy", obj("prepared", obj("active", obj()))), "data.runpolicy.prepared is reserved"},
		{"packages data", nil, obj("runpolicy", obj("packages", []any{})), "data.runpolicy.packages is reserved"},
		{"engine data switches every policy off", nil, obj("internal", obj("runpolicy", obj("prepared", obj("active", obj())))), "data.internal.runpolicy is reserved"},
		{"engine data replaced whole", nil, obj("internal", "x"), "data.internal must be an object"},
		{"engine data module", map[string]string{"p.rego": "package internal.runpolicy.prepared\n\nactive := {}\n"}, nil, "p.rego: package internal.runpolicy.prepared is reserved"},
		{"engine data by a rule named runpolicy", map[string]string{"p.rego": "package internal\n\nrunpolicy.prepared.active := {}\n"}, nil, "p.rego: package internal is reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := testBundle("team", "good", nil, map[string]string{"mine.rego": "package runpolicy.policies.mine\n\ndeny contains \"no\" if false\n"})
			e := builtinEngine(t, []Bundle{good})
			err := e.Load(context.Background(), []Bundle{testBundle("team", "evil", tt.data, tt.modules)})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "bundle team") {
				t.Fatalf("Load error = %v, want one naming bundle team and %q", err, tt.wantErr)
			}
			if rev := e.Revisions()["team"]; rev != "good" {
				t.Errorf("active revision = %q after a refused load, want good", rev)
			}
			if d := evalWorkflow(t, e, compromisedWorkflow); !hasEnforced(d, "compromised_actions") {
				t.Errorf("compromised action no longer denied: %+v", d)
			}
		})
	}
	t.Run("documented data and policies pass", func(t *testing.T) {
		b := testBundle("team", "ok", obj("runpolicy", obj("settings", obj("mine", obj("mode", "dry_run")))), map[string]string{"mine.rego": "package runpolicy.policies.mine\n\ndeny contains \"no\" if false\n", "h.rego": "package acme.helpers\n\nx := 1\n", "i.rego": "package internal.acme\n\nx := 1\n"})
		builtinEngine(t, []Bundle{b})
	})
	t.Run("a --data file is held to the same rule", func(t *testing.T) {
		_, err := New(context.Background(), nil, WithData(obj("runpolicy", obj("prepared", obj("active", obj())))))
		if err == nil || !strings.Contains(err.Error(), "data document 1: data.runpolicy.prepared is reserved") {
			t.Fatalf("New error = %v, want data.runpolicy.prepared of data document 1 refused", err)
		}
		_, err = New(context.Background(), nil, WithData(obj("internal", obj("runpolicy", obj("packages", []any{})))))
		if err == nil || !strings.Contains(err.Error(), "data document 1: data.internal.runpolicy is reserved") {
			t.Fatalf("New error = %v, want data.internal.runpolicy of data document 1 refused", err)
		}
	})
}

// TestCompromisedListOnlyGrows: a bundle or --data document adds to the
// built-in list and never shrinks an entry; only an exception naming the
// advisory drops one, and the decision lists it.
func TestCompromisedListOnlyGrows(t *testing.T) {
	const name = "tj-actions/changed-files"
	shrink := obj("runpolicy", obj("compromised", obj("actions", obj(name, obj(
		"all_versions", false,
		"ranges", []any{obj("introduced", "0", "fixed", "0.0.1")},
		"versions", obj(),
		"commits", obj("0e58ed8671d6b60d0890c21b07f8835ace038e67", false),
		"advisories", []any{},
	)))))
	add := obj("runpolicy", obj("compromised", obj("actions", obj("acme/evil", obj(
		"advisories", []any{"GHSA-xxxx-yyyy-zzzz"}, "summary", "test", "all_versions", true,
		"commits", obj(), "versions", obj(), "ranges", []any{},
	)))))
	addAll := obj("runpolicy", obj("compromised_additions", obj("actions", obj(name, obj("all_versions", true)))))
	const evil = "name: CI\non: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: acme/evil@v1\n"
	const v46 = "name: CI\non: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: tj-actions/changed-files@v46\n"
	tests := []struct {
		name     string
		bundle   map[string]any // data of a bundle
		data     map[string]any // a --data document
		workflow string
		want     bool // compromised_actions denies
	}{
		{"bundle shrinks the entry", shrink, nil, compromisedWorkflow, true},
		{"--data shrinks the entry", nil, shrink, compromisedWorkflow, true},
		{"bundle adds an entry", add, nil, evil, true},
		{"additions path widens an entry to all versions", addAll, nil, v46, true},
		{"untouched list leaves a fixed version alone", nil, nil, v46, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bs []Bundle
			if tt.bundle != nil {
				bs = append(bs, testBundle("team", "r1", tt.bundle, nil))
			}
			var opts []Option
			if tt.data != nil {
				opts = append(opts, WithData(tt.data))
			}
			d := evalWorkflow(t, builtinEngine(t, bs, opts...), tt.workflow)
			if got := hasEnforced(d, "compromised_actions"); got != tt.want {
				t.Errorf("compromised_actions denies = %v, want %v: %+v", got, tt.want, d.Violations)
			}
			if len(d.Exceptions) != 0 {
				t.Errorf("exceptions = %+v, want none", d.Exceptions)
			}
		})
	}
	t.Run("an exception naming the advisory drops the entry and is listed", func(t *testing.T) {
		exc := obj("runpolicy", obj("settings", obj("compromised_actions", obj("exceptions", []any{obj("advisory", "GHSA-mrrh-fwg8-r2c3", "reason", "vendored fork, audited")}))))
		e := builtinEngine(t, nil, WithData(exc))
		d := evalWorkflow(t, e, compromisedWorkflow)
		if hasEnforced(d, "compromised_actions") {
			t.Errorf("excepted entry still denied: %+v", d.Violations)
		}
		if len(d.Exceptions) != 1 || d.Exceptions[0].Advisory != "GHSA-mrrh-fwg8-r2c3" || strings.Join(d.Exceptions[0].Actions, ",") != name {
			t.Errorf("decision exceptions = %+v, want the advisory with %s", d.Exceptions, name)
		}
		if got := e.Exceptions(); len(got) != 1 {
			t.Errorf("engine exceptions = %+v", got)
		}
	})
	t.Run("an exception without a reason is refused", func(t *testing.T) {
		exc := obj("runpolicy", obj("settings", obj("compromised_actions", obj("exceptions", []any{obj("advisory", "GHSA-mrrh-fwg8-r2c3")}))))
		if _, err := New(context.Background(), nil, WithData(exc)); err == nil || !strings.Contains(err.Error(), "exceptions[0]") {
			t.Fatalf("New error = %v, want exceptions[0] refused", err)
		}
	})
}

// conflicting is a custom policy whose rule has two values for any input:
// a runtime error (eval_conflict_error).
const conflicting = `package runpolicy.policies.broken

x := 1 if input.workflow.name
x := 2 if input.workflow.name

deny contains "never" if x == 3
`

// TestOnePolicyErrorCostsOnlyThatPolicy: a runtime error in a custom
// policy becomes a finding of that policy under its mode; every other
// policy's findings stand.
func TestOnePolicyErrorCostsOnlyThatPolicy(t *testing.T) {
	tests := []struct {
		name      string
		mode      string
		wantAllow bool
	}{
		{"enforced policy that errs denies", "enforce", false},
		{"dry-run policy that errs reports", "dry_run", false}, // the compromised action still denies
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := testBundle("team", "r1", obj("runpolicy", obj("settings", obj("broken", obj("mode", tt.mode)))), map[string]string{"broken.rego": conflicting})
			d := evalWorkflow(t, builtinEngine(t, []Bundle{b}), compromisedWorkflow)
			if d.Allow != tt.wantAllow {
				t.Errorf("allow = %v, want %v", d.Allow, tt.wantAllow)
			}
			if !hasEnforced(d, "compromised_actions") {
				t.Errorf("the built-in finding was lost: %+v", d.Violations)
			}
			var found bool
			for _, v := range d.Violations {
				if v.Policy == "broken" {
					found = true
					if v.Mode != tt.mode || !strings.Contains(v.Message, "policy broken failed") || !strings.Contains(v.Message, "conflict") {
						t.Errorf("broken's finding = %+v, want mode %s and the error", v, tt.mode)
					}
				}
			}
			if !found {
				t.Errorf("no finding for the failing policy: %+v", d.Violations)
			}
		})
	}
	t.Run("an enforced policy that errs denies an otherwise allowed run", func(t *testing.T) {
		b := testBundle("team", "r1", nil, map[string]string{"broken.rego": conflicting})
		d := evalWorkflow(t, builtinEngine(t, []Bundle{b}), "name: CI\non: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n")
		if d.Allow || !hasEnforced(d, "broken") {
			t.Errorf("decision = %+v, want broken to deny", d)
		}
	})
}

// TestRunawayPolicyIsNamed: a custom policy that would run for minutes is
// stopped by the context's deadline, and the error names it.
func TestRunawayPolicyIsNamed(t *testing.T) {
	slow := `package runpolicy.policies.slowpoke

deny contains "slow" if {
	n := count([1 | some x in numbers.range(1, 100000000); some y in numbers.range(1, 100000000); x + y == 0])
	n > 0
}
`
	e := builtinEngine(t, []Bundle{testBundle("team", "r1", nil, map[string]string{"slow.rego": slow})})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := evalWorkflowErr(ctx, e, compromisedWorkflow)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "policy slowpoke ran away") {
		t.Fatalf("err = %v, want a deadline error naming slowpoke", err)
	}
}

// TestPoliciesGetNoNetwork: a bundle whose policy calls a network built-in
// is refused at load with what to do, unless the operator allowed it.
func TestPoliciesGetNoNetwork(t *testing.T) {
	for _, call := range []string{
		`http.send({"method": "GET", "url": "http://169.254.169.254/"})`,
		`net.lookup_ip_addr("example.com")`,
	} {
		name := strings.SplitN(call, "(", 2)[0]
		t.Run(name, func(t *testing.T) {
			mod := "package runpolicy.policies.caller\n\ndeny contains \"x\" if count(" + call + ") == 1\n"
			b := testBundle("team", "r1", nil, map[string]string{"caller.rego": mod})
			_, err := New(context.Background(), []Bundle{b})
			if err == nil || !strings.Contains(err.Error(), "undefined function "+name) || !strings.Contains(err.Error(), "allow_builtins") {
				t.Fatalf("New error = %v, want %s refused with the setting named", err, name)
			}
			if _, err := New(context.Background(), []Bundle{b}, WithAllowedBuiltins(name)); err != nil {
				t.Fatalf("allowed %s: %v", name, err)
			}
		})
	}
	if _, err := Capabilities("http.sned"); err == nil {
		t.Error("Capabilities accepted an unknown name")
	}
}

func TestReservedDataMustHaveItsShape(t *testing.T) {
	for _, key := range []string{"settings", "compromised"} {
		_, err := New(context.Background(), []Bundle{testBundle("team", "r1", obj("runpolicy", obj(key, []any{})), nil)})
		if err == nil || !strings.Contains(err.Error(), "data.runpolicy."+key+" must be an object") {
			t.Errorf("%s as a list: error = %v", key, err)
		}
	}
}
