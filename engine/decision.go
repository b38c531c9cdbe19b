package engine

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Decision is the verdict on one input document.
type Decision struct {
	// Allow is false exactly when a violation has mode enforce.
	Allow      bool        `json:"allow"`
	Violations []Violation `json:"violations"`
	// Warnings are findings that never block, such as runner labels that
	// only GitHub can resolve.
	Warnings []Violation `json:"warnings"`
	// Revisions are the bundle revisions the decision was made with, by bundle name.
	Revisions map[string]string `json:"-"`
	// Exceptions are the compromised-list entries settings took off the
	// list: the decision did not check them.
	Exceptions []Exception `json:"compromised_exceptions,omitempty"`
}

// Violation is one finding of one policy.
type Violation struct {
	Policy  string `json:"policy"`
	Mode    string `json:"mode,omitempty"`
	Message string `json:"message"`
	Job     string `json:"job,omitempty"`
	Step    *int   `json:"step,omitempty"`
	Uses    string `json:"uses,omitempty"`
	Line    int    `json:"line,omitempty"`
	// Approvable says a maintainer may waive the finding by approving the
	// workflow's version (runpolicy.lib.approvals): never for a
	// compromised action or an impostor commit.
	Approvable bool `json:"approvable,omitempty"`
	// Details keeps any other key the policy set (via, advisories, …).
	Details map[string]any `json:"details,omitempty"`
}

// Modes of a violation, as a policy's settings name them: an enforced
// violation cancels the run, a dry-run one is reported only.
const (
	ModeEnforce = "enforce"
	ModeDryRun  = "dry_run"
)

// Enforced reports whether the violation cancels a run.
func (v Violation) Enforced() bool { return v.Mode == ModeEnforce }

// Enforced returns the violations that cancel a run.
func (d *Decision) Enforced() []Violation {
	var out []Violation
	for _, v := range d.Violations {
		if v.Enforced() {
			out = append(out, v)
		}
	}
	return out
}

// Decode turns the aggregator's result, as the rego package returns it or
// as JSON decodes it (numbers as float64 or json.Number), into a Decision.
func Decode(v any) (*Decision, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decision: want an object, got %T", v)
	}
	d := &Decision{Violations: []Violation{}, Warnings: []Violation{}}
	allow, ok := obj["allow"].(bool)
	if !ok {
		return nil, fmt.Errorf("decision: allow is %T, want bool", obj["allow"])
	}
	d.Allow = allow
	var err error
	if d.Violations, err = violations(obj["violations"]); err != nil {
		return nil, fmt.Errorf("decision: violations: %w", err)
	}
	if d.Warnings, err = violations(obj["warnings"]); err != nil {
		return nil, fmt.Errorf("decision: warnings: %w", err)
	}
	sortFindings(d.Violations)
	sortFindings(d.Warnings)
	return d, nil
}

// sortFindings orders findings by policy, job, line and message. The
// aggregator leaves them in OPA's set order: sorting costs less here than in
// Rego. The sort is stable, so findings equal in all four keep that order.
func sortFindings(vs []Violation) {
	slices.SortStableFunc(vs, func(a, b Violation) int {
		return cmp.Or(
			strings.Compare(a.Policy, b.Policy),
			strings.Compare(a.Job, b.Job),
			cmp.Compare(a.Line, b.Line),
			strings.Compare(a.Message, b.Message),
		)
	})
}

func violations(v any) ([]Violation, error) {
	out := []Violation{}
	if v == nil {
		return out, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want an array, got %T", v)
	}
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("want objects, got %T", item)
		}
		out = append(out, violation(m))
	}
	return out, nil
}

func violation(m map[string]any) Violation {
	var v Violation
	for k, val := range m {
		switch k {
		case "policy":
			v.Policy = str(val)
		case "mode":
			v.Mode = str(val)
		case "message", "msg":
			v.Message = str(val)
		case "job":
			v.Job = str(val)
		case "uses":
			v.Uses = str(val)
		case "step":
			if n, ok := integer(val); ok {
				v.Step = &n
			}
		case "line":
			v.Line, _ = integer(val)
		case "approvable":
			v.Approvable = val == true
		default:
			if v.Details == nil {
				v.Details = map[string]any{}
			}
			v.Details[k] = val
		}
	}
	return v
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func integer(v any) (int, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	case float64:
		return int(n), true
	case int:
		return n, true
	case int64:
		return int(n), true
	}
	return 0, false
}
