package input

import (
	"strings"

	"github.com/rhysd/actionlint"
)

// The walk over every string of a workflow that GitHub evaluates as an
// expression. Each ${{ }} is parsed once (expressions.go): the secret scan
// (secrets.go) reads the references to secrets, reported with where they
// are (job, step, context); the expressions of steps, jobs and the
// workflow are recorded with the key they are written under
// (Expression.Field).

// jobStrings walks every job-level string that can hold an expression.
func (n *normalizer) jobStrings(j *actionlint.Job, w where) {
	n.condition(j.If, in(w, CtxIf).under("if"))
	n.text(j.Name, w.under("name"))
	n.env(j.Env, w)
	n.defaults(j.Defaults, w.under("defaults"))
	n.concurrency(j.Concurrency, w.under("concurrency"))
	if r := j.RunsOn; r != nil {
		rw := w.under("runs-on")
		n.text(r.LabelsExpr, rw)
		n.text(r.Group, rw)
		for _, l := range r.Labels {
			n.text(l, rw)
		}
	}
	if e := j.Environment; e != nil {
		ew := w.under("environment")
		n.text(e.Name, ew)
		n.text(e.URL, ew)
		n.boolean(e.Deployment, ew)
	}
	for _, o := range j.Outputs {
		n.text(o.Value, w.underName("outputs.", o.Name))
	}
	n.float(j.TimeoutMinutes, w.under("timeout-minutes"))
	n.boolean(j.ContinueOnError, w.under("continue-on-error"))
	if s := j.Strategy; s != nil {
		sw := w.under("strategy")
		n.matrix(s.Matrix, sw)
		n.boolean(s.FailFast, sw)
		if s.MaxParallel != nil {
			n.text(s.MaxParallel.Expression, sw)
		}
	}
	n.container(j.Container, w.under("container"))
	if s := j.Services; s != nil {
		n.text(s.Expression, w.under("services"))
		for _, svc := range s.Value {
			n.container(svc.Container, w.underName("services.", svc.Name))
		}
	}
	if call := j.WorkflowCall; call != nil {
		for _, input := range call.Inputs {
			n.text(input.Value, in(w, CtxWith).underName("with.", input.Name))
		}
		for _, secret := range call.Secrets {
			n.text(secret.Value, in(w, CtxSecrets).underName("secrets.", secret.Name))
		}
		if call.InheritSecrets {
			line, ok := n.lines.inherit[strings.ToLower(w.job)]
			if !ok {
				line = j.Pos.Line
			}
			n.secrets.inherit(line, in(w, CtxSecrets))
		}
	}
	if s := j.Snapshot; s != nil {
		sw := w.under("snapshot")
		n.text(s.ImageName, sw)
		n.text(s.Version, sw)
		n.condition(s.If, in(sw, CtxIf))
	}
}

// stepStrings walks every string of a step that can hold an expression.
func (n *normalizer) stepStrings(s *actionlint.Step, w where) {
	n.condition(s.If, in(w, CtxIf).under("if"))
	n.text(s.Name, in(w, CtxOther).under("name"))
	n.env(s.Env, w)
	n.boolean(s.ContinueOnError, in(w, CtxOther).under("continue-on-error"))
	n.float(s.TimeoutMinutes, in(w, CtxOther).under("timeout-minutes"))
	switch e := s.Exec.(type) {
	case *actionlint.ExecRun:
		n.text(e.Run, in(w, CtxRun).under("run"))
		n.text(e.Shell, in(w, CtxOther).under("shell"))
		n.text(e.WorkingDirectory, in(w, CtxOther).under("working-directory"))
	case *actionlint.ExecAction:
		n.text(e.Uses, in(w, CtxOther).under("uses"))
		for _, input := range e.Inputs {
			n.text(input.Value, in(w, CtxWith).underName("with.", input.Name))
		}
		n.text(e.Entrypoint, in(w, CtxWith).under("with.entrypoint"))
		n.text(e.Args, in(w, CtxWith).under("with.args"))
	}
}

func (n *normalizer) events(events []actionlint.Event, w where) {
	for _, e := range events {
		switch e := e.(type) {
		case *actionlint.WorkflowCallEvent:
			for _, input := range e.Inputs {
				n.text(input.Default, w)
			}
			for _, o := range e.Outputs {
				n.text(o.Value, w)
			}
		case *actionlint.WorkflowDispatchEvent:
			for _, input := range e.Inputs {
				n.text(input.Default, w)
			}
		}
	}
}

func (n *normalizer) env(e *actionlint.Env, w where) {
	if e == nil {
		return
	}
	w.context = CtxEnv
	n.text(e.Expression, w.under("env"))
	for _, v := range e.Vars {
		n.text(v.Value, w.underName("env.", v.Name))
	}
}

func (n *normalizer) defaults(d *actionlint.Defaults, w where) {
	if d != nil && d.Run != nil {
		n.text(d.Run.Shell, w)
		n.text(d.Run.WorkingDirectory, w)
	}
}

func (n *normalizer) concurrency(c *actionlint.Concurrency, w where) {
	if c != nil {
		n.text(c.Group, w)
		n.boolean(c.CancelInProgress, w)
	}
}

// container walks a job container or a service: registry credentials, env
// and the other strings.
func (n *normalizer) container(c *actionlint.Container, w where) {
	if c == nil {
		return
	}
	n.text(c.Image, w)
	n.text(c.Options, w)
	for _, s := range c.Ports { // actionlint also keeps volumes here
		n.text(s, w)
	}
	for _, s := range c.Volumes {
		n.text(s, w)
	}
	if cr := c.Credentials; cr != nil {
		cw := in(w, CtxCredentials)
		n.text(cr.Expression, cw)
		n.text(cr.Username, cw)
		n.text(cr.Password, cw)
	}
	n.env(c.Env, w)
}

func (n *normalizer) matrix(m *actionlint.Matrix, w where) {
	if m == nil {
		return
	}
	n.text(m.Expression, w)
	for _, row := range m.Rows {
		n.text(row.Expression, w)
		for _, v := range row.Values {
			n.raw(v, w)
		}
	}
	for _, cs := range []*actionlint.MatrixCombinations{m.Include, m.Exclude} {
		if cs == nil {
			continue
		}
		n.text(cs.Expression, w)
		for _, c := range cs.Combinations {
			n.text(c.Expression, w)
			for _, a := range c.Assigns {
				n.raw(a.Value, w)
			}
		}
	}
}

// raw walks a matrix value. The tree is bounded by MaxYAMLNodes.
func (n *normalizer) raw(v actionlint.RawYAMLValue, w where) {
	switch v := v.(type) {
	case *actionlint.RawYAMLString:
		if strings.Contains(v.Value, "${{") {
			n.text(&actionlint.String{Value: v.Value, Pos: v.Pos()}, w)
		}
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
		n.text(b.Expression, w)
	}
}

func (n *normalizer) float(f *actionlint.Float, w where) {
	if f != nil {
		n.text(f.Expression, w)
	}
}

// where says which part of the workflow a string belongs to.
type where struct {
	job      string
	jobOrder int
	step     *int
	context  string
	// exprs is where the expressions of the string are recorded (those of
	// a step, a job or the workflow's own keys), nil to record none;
	// field+name is the key they are written under, joined only when an
	// expression is recorded.
	exprs       *[]pendingExpr
	field, name string
}

// under returns w for the strings under key. A key already set, that of
// an enclosing key (container for the container's env), is kept.
func (w where) under(key string) where {
	if w.exprs != nil && w.field == "" {
		w.field = key
	}
	return w
}

// underName is under for the key prefix+name: with.<input>, env.<NAME>.
func (w where) underName(prefix string, name *actionlint.String) where {
	if w.exprs != nil && w.field == "" && name != nil {
		w.field, w.name = prefix, name.Value
	}
	return w
}

// in returns w with another context.
func in(w where, context string) where {
	w.context = context
	return w
}
