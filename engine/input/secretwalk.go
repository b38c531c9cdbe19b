package input

import (
	"strings"

	"github.com/rhysd/actionlint"
)

// The walk that hands the secret scanner (secrets.go) every string of a
// workflow that GitHub evaluates as an expression, with where it is: the
// job, the step and the context (env, with, run, if, …) a reference is
// reported in.

// jobSecrets scans every job-level string that can hold an expression.
func (n *normalizer) jobSecrets(j *actionlint.Job, w where) {
	sc := &n.secrets
	sc.scanCondition(j.If, in(w, CtxIf))
	n.env(j.Env, w)
	n.defaults(j.Defaults, w)
	n.concurrency(j.Concurrency, w)
	if r := j.RunsOn; r != nil {
		sc.scan(r.LabelsExpr, w)
		sc.scan(r.Group, w)
		for _, l := range r.Labels {
			sc.scan(l, w)
		}
	}
	if e := j.Environment; e != nil {
		sc.scan(e.Name, w)
		sc.scan(e.URL, w)
		n.boolean(e.Deployment, w)
	}
	for _, o := range j.Outputs {
		sc.scan(o.Value, w)
	}
	n.float(j.TimeoutMinutes, w)
	n.boolean(j.ContinueOnError, w)
	if s := j.Strategy; s != nil {
		n.matrix(s.Matrix, w)
		n.boolean(s.FailFast, w)
		if s.MaxParallel != nil {
			sc.scan(s.MaxParallel.Expression, w)
		}
	}
	n.container(j.Container, w)
	if s := j.Services; s != nil {
		sc.scan(s.Expression, w)
		for _, svc := range s.Value {
			n.container(svc.Container, w)
		}
	}
	if call := j.WorkflowCall; call != nil {
		for _, input := range call.Inputs {
			sc.scan(input.Value, in(w, CtxWith))
		}
		for _, secret := range call.Secrets {
			sc.scan(secret.Value, in(w, CtxSecrets))
		}
		if call.InheritSecrets {
			line, ok := n.lines.inherit[strings.ToLower(w.job)]
			if !ok {
				line = j.Pos.Line
			}
			sc.inherit(line, in(w, CtxSecrets))
		}
	}
	if s := j.Snapshot; s != nil {
		sc.scan(s.ImageName, w)
		sc.scan(s.Version, w)
		sc.scanCondition(s.If, in(w, CtxIf))
	}
}

// stepSecrets scans every string of a step that can hold an expression.
func (n *normalizer) stepSecrets(s *actionlint.Step, w where) {
	sc := &n.secrets
	sc.scanCondition(s.If, in(w, CtxIf))
	sc.scan(s.Name, in(w, CtxOther))
	n.env(s.Env, w)
	n.boolean(s.ContinueOnError, in(w, CtxOther))
	n.float(s.TimeoutMinutes, in(w, CtxOther))
	switch e := s.Exec.(type) {
	case *actionlint.ExecRun:
		sc.scan(e.Run, in(w, CtxRun))
		sc.scan(e.Shell, in(w, CtxOther))
		sc.scan(e.WorkingDirectory, in(w, CtxOther))
	case *actionlint.ExecAction:
		sc.scan(e.Uses, in(w, CtxOther))
		for _, input := range e.Inputs {
			sc.scan(input.Value, in(w, CtxWith))
		}
		sc.scan(e.Entrypoint, in(w, CtxWith))
		sc.scan(e.Args, in(w, CtxWith))
	}
}

func (n *normalizer) events(events []actionlint.Event, w where) {
	for _, e := range events {
		switch e := e.(type) {
		case *actionlint.WorkflowCallEvent:
			for _, input := range e.Inputs {
				n.secrets.scan(input.Default, w)
			}
			for _, o := range e.Outputs {
				n.secrets.scan(o.Value, w)
			}
		case *actionlint.WorkflowDispatchEvent:
			for _, input := range e.Inputs {
				n.secrets.scan(input.Default, w)
			}
		}
	}
}

func (n *normalizer) env(e *actionlint.Env, w where) {
	if e == nil {
		return
	}
	w.context = CtxEnv
	n.secrets.scan(e.Expression, w)
	for _, v := range e.Vars {
		n.secrets.scan(v.Value, w)
	}
}

func (n *normalizer) defaults(d *actionlint.Defaults, w where) {
	if d != nil && d.Run != nil {
		n.secrets.scan(d.Run.Shell, w)
		n.secrets.scan(d.Run.WorkingDirectory, w)
	}
}

func (n *normalizer) concurrency(c *actionlint.Concurrency, w where) {
	if c != nil {
		n.secrets.scan(c.Group, w)
		n.boolean(c.CancelInProgress, w)
	}
}

// container scans a job container or a service: registry credentials, env
// and the other strings.
func (n *normalizer) container(c *actionlint.Container, w where) {
	if c == nil {
		return
	}
	sc := &n.secrets
	sc.scan(c.Image, w)
	sc.scan(c.Options, w)
	for _, s := range c.Ports { // actionlint also keeps volumes here
		sc.scan(s, w)
	}
	for _, s := range c.Volumes {
		sc.scan(s, w)
	}
	if cr := c.Credentials; cr != nil {
		cw := in(w, CtxCredentials)
		sc.scan(cr.Expression, cw)
		sc.scan(cr.Username, cw)
		sc.scan(cr.Password, cw)
	}
	n.env(c.Env, w)
}

func (n *normalizer) matrix(m *actionlint.Matrix, w where) {
	if m == nil {
		return
	}
	n.secrets.scan(m.Expression, w)
	for _, row := range m.Rows {
		n.secrets.scan(row.Expression, w)
		for _, v := range row.Values {
			n.raw(v, w)
		}
	}
	for _, cs := range []*actionlint.MatrixCombinations{m.Include, m.Exclude} {
		if cs == nil {
			continue
		}
		n.secrets.scan(cs.Expression, w)
		for _, c := range cs.Combinations {
			n.secrets.scan(c.Expression, w)
			for _, a := range c.Assigns {
				n.raw(a.Value, w)
			}
		}
	}
}

// raw scans a matrix value. The tree is bounded by MaxYAMLNodes.
func (n *normalizer) raw(v actionlint.RawYAMLValue, w where) {
	switch v := v.(type) {
	case *actionlint.RawYAMLString:
		n.secrets.scan(&actionlint.String{Value: v.Value, Pos: v.Pos()}, w)
	case *actionlint.RawYAMLArray:
		for _, e := range v.Elems {
			n.raw(e, w)
		}
	case *actionlint.RawYAMLObject:
		for _, e := range v.Props {
			n.raw(e, w)
		}
	}
}

func (n *normalizer) boolean(b *actionlint.Bool, w where) {
	if b != nil {
		n.secrets.scan(b.Expression, w)
	}
}

func (n *normalizer) float(f *actionlint.Float, w where) {
	if f != nil {
		n.secrets.scan(f.Expression, w)
	}
}

// in returns w with another context.
func in(w where, context string) where {
	w.context = context
	return w
}
