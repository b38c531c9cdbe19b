package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/runpolicy/runpolicy/engine"
)

// verdict is the part of a decision every contender must agree on, in a
// form that runpolicy's typed Decision and OPA's raw JSON both reduce to.
type verdict struct {
	Allow      bool
	Violations []finding
	Warnings   []finding
}

type finding struct {
	Policy, Mode, Job, Uses, Message string
	Line, Step                       int // -1 when absent
}

func (v verdict) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "allow=%v", v.Allow)
	for _, f := range v.Violations {
		fmt.Fprintf(&b, "\n  violation %+v", f)
	}
	for _, f := range v.Warnings {
		fmt.Fprintf(&b, "\n  warning %+v", f)
	}
	return b.String()
}

// verdictOf reduces what a contender returned: runpolicy's *engine.Decision,
// or the raw decision object of OPA (Go values from the rego package or
// decoded JSON from the opa command).
func verdictOf(result any) (verdict, error) {
	if d, ok := result.(*engine.Decision); ok {
		v := verdict{Allow: d.Allow}
		for _, list := range []struct {
			in  []engine.Violation
			out *[]finding
		}{{d.Violations, &v.Violations}, {d.Warnings, &v.Warnings}} {
			*list.out = []finding{}
			for _, x := range list.in {
				f := finding{Policy: x.Policy, Mode: x.Mode, Job: x.Job, Uses: x.Uses, Message: x.Message, Line: x.Line, Step: -1}
				if x.Step != nil {
					f.Step = *x.Step
				}
				if x.Line == 0 {
					f.Line = -1
				}
				*list.out = append(*list.out, f)
			}
		}
		return v, nil
	}
	obj, ok := result.(map[string]any)
	if !ok {
		return verdict{}, fmt.Errorf("decision is a %T, want an object", result)
	}
	v := verdict{}
	if v.Allow, ok = obj["allow"].(bool); !ok {
		return verdict{}, fmt.Errorf("decision.allow is a %T, want a boolean", obj["allow"])
	}
	var err error
	if v.Violations, err = findings(obj["violations"]); err != nil {
		return verdict{}, err
	}
	if v.Warnings, err = findings(obj["warnings"]); err != nil {
		return verdict{}, err
	}
	return v, nil
}

func findings(x any) ([]finding, error) {
	out := []finding{}
	if x == nil {
		return out, nil
	}
	list, ok := x.([]any)
	if !ok {
		return nil, fmt.Errorf("findings are a %T, want an array", x)
	}
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("finding is a %T, want an object", item)
		}
		text := func(k string) string { s, _ := m[k].(string); return s }
		msg := text("message")
		if msg == "" {
			msg = text("msg")
		}
		f := finding{
			Policy: text("policy"), Mode: text("mode"), Job: text("job"), Uses: text("uses"), Message: msg,
			Line: number(m["line"]), Step: number(m["step"]),
		}
		if f.Line == 0 {
			f.Line = -1 // runpolicy's Decision cannot tell line 0 from no line
		}
		out = append(out, f)
	}
	return out, nil
}

// number reads a JSON number, -1 when absent or not a number.
func number(x any) int {
	switch n := x.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			return -1
		}
		return int(i)
	case float64:
		return int(n)
	case int:
		return n
	}
	return -1
}
