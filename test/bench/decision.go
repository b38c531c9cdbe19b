package main

import (
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
// decoded JSON from the opa command), which engine.Decode reads the way the
// engine reads its own.
func verdictOf(result any) (verdict, error) {
	d, ok := result.(*engine.Decision)
	if !ok {
		var err error
		if d, err = engine.Decode(result); err != nil {
			return verdict{}, err
		}
	}
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
				f.Line = -1 // a Decision cannot tell line 0 from no line
			}
			*list.out = append(*list.out, f)
		}
	}
	return v, nil
}
