package input

import (
	"encoding/json"
	"fmt"

	"github.com/rhysd/actionlint"
)

// The keys of workflows, jobs and steps that the document gives as
// written: env, defaults, concurrency, environment, outputs,
// timeout-minutes, the with and secrets of a reusable workflow call, and
// the script of a run step (needs: is values, on: is triggers.go).

// envVars returns an env: as written, {} when absent. An env: written as
// one expression sets variables the file does not show: it is reported as
// unmodeled (its expression is recorded all the same).
func (n *normalizer) envVars(e *actionlint.Env, job string, step *int, line int) map[string]string {
	if e == nil || len(e.Vars) == 0 && e.Expression == nil {
		return n.empty()
	}
	if e.Expression != nil {
		if e.Expression.Pos != nil {
			line = e.Expression.Pos.Line
		}
		n.unmodel(job, step, line, "env: is the expression %q: the variables it sets are decided at run time", brief(e.Expression.Value))
	}
	return asWritten(n, e.Vars, func(v *actionlint.EnvVar) (*actionlint.String, *actionlint.String) { return v.Name, v.Value })
}

// asWritten returns a mapping's names and values as written ({} when it
// has none): env:, outputs:, a call's with: and secrets:.
func asWritten[T any](n *normalizer, m map[string]*T, pair func(*T) (name, value *actionlint.String)) map[string]string {
	if len(m) == 0 {
		return n.empty()
	}
	out := make(map[string]string, len(m))
	for _, v := range m {
		if v == nil {
			continue
		}
		if name, value := pair(v); name != nil && value != nil {
			out[name.Value] = value.Value
		}
	}
	return out
}

// defaultsRun returns the defaults.run of a workflow or job.
func defaultsRun(d *actionlint.Defaults) Defaults {
	if d == nil || d.Run == nil {
		return Defaults{}
	}
	return Defaults{Shell: optString(d.Run.Shell), WorkingDirectory: optString(d.Run.WorkingDirectory)}
}

// concurrencyOf returns a concurrency: as written, nil when absent.
func concurrencyOf(c *actionlint.Concurrency) *Concurrency {
	if c == nil || c.Pos == nil {
		return nil
	}
	out := &Concurrency{CancelInProgress: false, Line: c.Pos.Line}
	if c.Group != nil {
		out.Group = c.Group.Value
	}
	if b := c.CancelInProgress; b != nil {
		if b.Expression != nil {
			out.CancelInProgress = b.Expression.Value
		} else {
			out.CancelInProgress = b.Value
		}
	}
	return out
}

// environmentOf returns a job's environment:, nil when absent.
func environmentOf(e *actionlint.Environment) *Environment {
	if e == nil || e.Pos == nil {
		return nil
	}
	out := &Environment{URL: optString(e.URL), Line: e.Pos.Line}
	if e.Name != nil {
		out.Name = e.Name.Value
	}
	return out
}

// timeoutMinutes returns a timeout-minutes: as the JSON number written,
// the expression text, or nil.
func timeoutMinutes(f *actionlint.Float) any {
	switch {
	case f == nil:
		return nil
	case f.Expression != nil:
		return f.Expression.Value
	}
	text, err := json.Marshal(f.Value)
	if err != nil { // unreachable: actionlint refuses NaN, and YAML has no other number JSON lacks
		return nil
	}
	return json.Number(text)
}

// outputs returns a job's outputs: as written.
func (n *normalizer) outputs(os map[string]*actionlint.Output) map[string]string {
	return asWritten(n, os, func(o *actionlint.Output) (*actionlint.String, *actionlint.String) { return o.Name, o.Value })
}

// callInputs returns the with: and secrets: of a reusable workflow call.
func (n *normalizer) callInputs(call *actionlint.WorkflowCall) (with, secrets map[string]string) {
	if call == nil {
		return n.empty(), n.empty()
	}
	with = asWritten(n, call.Inputs, func(in *actionlint.WorkflowCallInput) (*actionlint.String, *actionlint.String) {
		return in.Name, in.Value
	})
	secrets = asWritten(n, call.Secrets, func(s *actionlint.WorkflowCallSecret) (*actionlint.String, *actionlint.String) {
		return s.Name, s.Value
	})
	return with, secrets
}

// script returns what a run step runs. defaults are the job's defaults.run
// over the workflow's.
func (n *normalizer) script(e *actionlint.ExecRun, defaults Defaults, line int) *Script {
	s := &Script{Shell: defaults.Shell, WorkingDirectory: defaults.WorkingDirectory, Line: line}
	if e.RunPos != nil {
		s.Line = e.RunPos.Line
	}
	if e.Run != nil {
		s.Text = cut(e.Run.Value, MaxScriptSize)
		s.Truncated = len(s.Text) < len(e.Run.Value)
		if n.scriptBytes -= len(s.Text); n.scriptBytes < 0 && n.over == nil {
			n.over = fmt.Errorf("more than %d bytes of run: scripts (aliases expanded)", MaxScriptBytes)
		}
	}
	if sh := optString(e.Shell); sh != nil {
		s.Shell = sh
	}
	if wd := optString(e.WorkingDirectory); wd != nil {
		s.WorkingDirectory = wd
	}
	return s
}

// orBase returns d's fields where they are set, else base's.
func (d Defaults) orBase(base Defaults) Defaults {
	if d.Shell == nil {
		d.Shell = base.Shell
	}
	if d.WorkingDirectory == nil {
		d.WorkingDirectory = base.WorkingDirectory
	}
	return d
}

// optString returns the value of s, nil when absent.
func optString(s *actionlint.String) *string {
	if s == nil {
		return nil
	}
	v := s.Value
	return &v
}

// empty returns the empty map that every absent mapping of the workflow
// shares (Facts are never modified).
func (n *normalizer) empty() map[string]string {
	if n.none == nil {
		n.none = map[string]string{}
	}
	return n.none
}

// The lines of the facts above (see JobLines), 0 where the file has none.

func stringLine(s *actionlint.String) int {
	if s == nil || s.Pos == nil {
		return 0
	}
	return s.Pos.Line
}

func floatLine(f *actionlint.Float) int {
	if f == nil || f.Pos == nil {
		return 0
	}
	return f.Pos.Line
}

// envLine is the line of an env: written as one expression, else that of
// its first variable.
func envLine(e *actionlint.Env) int {
	switch {
	case e == nil:
		return 0
	case e.Expression != nil:
		return stringLine(e.Expression)
	}
	return firstLine(e.Vars, func(v *actionlint.EnvVar) *actionlint.String { return v.Name })
}

// valuesLine is the line of a list's first value.
func valuesLine(values []*actionlint.String) int {
	line := 0
	for _, v := range values {
		line = earlier(line, stringLine(v))
	}
	return line
}

func outputsLine(outputs map[string]*actionlint.Output) int {
	return firstLine(outputs, func(o *actionlint.Output) *actionlint.String { return o.Name })
}

// inputsLine is the line of a step's first with: input.
func inputsLine(e *actionlint.ExecAction) int {
	return firstLine(e.Inputs, func(in *actionlint.Input) *actionlint.String { return in.Name })
}

// callLines are the lines of a reusable workflow call's first with: input
// and first secret.
func callLines(call *actionlint.WorkflowCall) (with, secrets int) {
	with = firstLine(call.Inputs, func(in *actionlint.WorkflowCallInput) *actionlint.String { return in.Name })
	secrets = firstLine(call.Secrets, func(s *actionlint.WorkflowCallSecret) *actionlint.String { return s.Name })
	return with, secrets
}

// firstLine is the line of a mapping's first entry: the least line of the
// entries' names (actionlint keeps the mapping in a Go map).
func firstLine[T any](entries map[string]*T, name func(*T) *actionlint.String) int {
	line := 0
	for _, e := range entries {
		if e != nil {
			line = earlier(line, stringLine(name(e)))
		}
	}
	return line
}

// earlier returns the lesser of two lines, either of which may be 0 (none).
func earlier(a, b int) int {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}
