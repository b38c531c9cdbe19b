package input

import (
	"strings"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v4"
)

// Steps are numbered flat, in file order: a `- parallel:` block is a step
// (Control "parallel", no uses, no run) and the steps it runs follow it,
// each with ParallelGroup set to the block's index. Every step, nested or
// not, thus has one index that Use.Step and SecretRef.Step point to, and
// index 0 is what the job starts with.

// flatStep is one step of a job before it is normalized.
type flatStep struct {
	s          *actionlint.Step
	serial     int // index in actionlint's steps, -1 for a step it never saw
	usesLine   int // line of the uses: value where written, 0: that of s
	control    string
	group      int // flat index of the enclosing parallel block, -1 for none
	background bool
	targets    []string
	// controls are the values of the keys actionlint's step has no place
	// for (background, wait, wait-all, cancel): GitHub evaluates their
	// expressions, so their secret references count.
	controls []control
}

// control is a key of a step that actionlint's tree has no place for.
type control struct {
	key   string
	value *yaml.Node
}

// steps normalizes the steps of job j (id, in file order order) into
// job.Steps and returns the actionlint step of each, aligned with them.
//
// defaults are the job's defaults.run over the workflow's.
func (n *normalizer) steps(j *actionlint.Job, id string, order int, job *Job, defaults Defaults) []*actionlint.Step {
	nodes := n.yaml.stepNodes(j)
	flat := make([]flatStep, 0, len(j.Steps))
	for i, s := range j.Steps {
		if s == nil || s.Pos == nil {
			continue
		}
		var node *yaml.Node
		if nodes != nil {
			node = nodes[i]
		}
		flat = n.flatten(flat, id, flatStep{s: s, serial: i, group: -1}, node)
	}
	flat = n.jobExtras(j, id, flat)

	indexes := make([]int, len(flat)) // what Use.Step, SecretRef.Step and ParallelGroup point to
	execs := make([]*actionlint.Step, len(flat))
	job.Steps = make([]Step, 0, len(flat))
	for i, f := range flat {
		indexes[i] = i
		index := &indexes[i]
		s := f.s
		step := Step{
			Index: i, Line: s.Pos.Line, Control: f.control, Background: f.background, Targets: f.targets,
			If: optString(s.If), Env: n.envVars(s.Env, id, index, s.Pos.Line),
			Lines: StepLines{If: stringLine(s.If), Env: envLine(s.Env)},
		}
		if step.Targets == nil {
			step.Targets = []string{}
		}
		if f.group >= 0 {
			step.ParallelGroup = &indexes[f.group]
		}
		if s.ID != nil {
			step.ID = s.ID.Value
		}
		if s.Name != nil {
			step.Name = s.Name.Value
		}
		switch e := s.Exec.(type) {
		case *actionlint.ExecAction:
			if e.Uses != nil {
				u := ParseUses(e.Uses.Value, false)
				u.Job, u.Step, u.Line = id, index, e.Uses.Pos.Line
				switch {
				case f.serial >= 0:
					u.Line = n.useLine(id, f.serial, e.Uses)
				case f.usesLine > 0:
					u.Line = f.usesLine
				}
				step.Uses = n.addUse(u)
			}
			if len(e.Inputs) > 0 {
				step.With = make(map[string]string, len(e.Inputs))
			}
			for _, in := range e.Inputs {
				if in != nil && in.Name != nil && in.Value != nil {
					step.With[in.Name.Value] = in.Value.Value
				}
			}
			step.Lines.With = inputsLine(e)
		case *actionlint.ExecRun:
			step.Run = true
			step.Script = n.script(e, defaults, s.Pos.Line)
		}
		if len(step.With) == 0 {
			step.With = n.empty()
		}
		n.scratch = n.scratch[:0]
		w := where{job: id, jobOrder: order, step: index, exprs: &n.scratch}
		n.stepStrings(s, w)
		for _, c := range f.controls {
			n.textYAML(c.value, in(w, CtxOther).under(c.key), 0)
		}
		step.Expressions = recorded(n.scratch)
		job.Steps = append(job.Steps, step)
		execs[i] = s
	}
	return execs
}

// textYAML parses the expressions of the scalars under node.
func (n *normalizer) textYAML(node *yaml.Node, w where, depth int) {
	node = unalias(node)
	if depth > MaxYAMLDepth {
		return
	}
	if node.Kind == yaml.ScalarNode {
		if strings.Contains(node.Value, "${{") {
			n.text(yamlString(node), w)
		}
		return
	}
	for _, c := range node.Content {
		n.textYAML(c, w, depth+1)
	}
}

// flatten appends f and, for a parallel block, the steps it runs. node is
// the step's YAML, nil when none was read (then actionlint's step is all
// there is, and it runs an action or a script).
func (n *normalizer) flatten(flat []flatStep, job string, f flatStep, node *yaml.Node) []flatStep {
	index := len(flat)
	y := n.yaml
	if node == nil || node.Kind != yaml.MappingNode || y == nil {
		if f.s.Exec == nil && y != nil {
			y.unmodel(job, &index, f.s.Pos.Line, "step is a %s, not a mapping: runpolicy cannot tell what it runs", kindOf(node))
		}
		return append(flat, f)
	}
	var (
		block  *yaml.Node // the value of parallel:
		extras []*yaml.Node
		keys   []string
	)
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], unalias(node.Content[i+1])
		switch k.Value {
		case "background":
			f.background = !(v.Kind == yaml.ScalarNode && v.Value == "false")
			f.controls = append(f.controls, control{k.Value, v})
			y.explain(k, `unexpected key "background"`)
		case ControlParallel, ControlWait, ControlWaitAll, ControlCancel:
			keys = append(keys, k.Value)
			f.control = k.Value
			y.explain(k, `unexpected key "`+k.Value+`"`)
			switch k.Value {
			case ControlParallel:
				block = v
				if v.Kind == yaml.ScalarNode {
					f.controls = append(f.controls, control{k.Value, v}) // an expression GitHub may evaluate
				}
			default:
				f.controls = append(f.controls, control{k.Value, v})
				if k.Value != ControlWaitAll {
					f.targets = scalars(v)
				}
			}
		default:
			if !stepKeys[k.Value] {
				if found := stepsUnder(v, 0, nil); len(found) > 0 {
					y.unmodel(job, &index, k.Line, "step key %q is not workflow syntax runpolicy knows and holds steps: they are judged as steps of the job", k.Value)
					extras = append(extras, found...)
				}
			}
		}
	}
	switch {
	case len(keys) > 1:
		y.unmodel(job, &index, f.s.Pos.Line, "step has %s: a step takes one of %s", strings.Join(keys, " and "), strings.Join(controls, ", "))
	case f.control != "" && f.s.Exec != nil:
		y.unmodel(job, &index, f.s.Pos.Line, "step has both %s and uses or run: both are judged", f.control)
	case f.control == "" && f.s.Exec == nil:
		y.unmodel(job, &index, f.s.Pos.Line, "step has neither uses, run nor %s: runpolicy cannot tell what it runs", strings.Join(controls, ", "))
	}
	if f.control != "" && f.s.Exec == nil {
		y.explain(node, "step must run script")
	}
	if f.group >= 0 && f.control == ControlParallel {
		y.unmodel(job, &index, f.s.Pos.Line, "parallel block inside a parallel block: its steps are judged as running in the inner block")
	}
	flat = append(flat, f)

	if block != nil {
		var nested []*yaml.Node
		if block.Kind == yaml.SequenceNode {
			for _, c := range block.Content {
				if unalias(c).Kind == yaml.MappingNode {
					nested = append(nested, c)
				} else {
					y.unmodel(job, &index, c.Line, "parallel block entry is a %s, not a step", kindOf(c))
				}
			}
		} else {
			y.unmodel(job, &index, block.Line, "parallel is a %s, not a list of steps", kindName(block.Kind))
			nested = stepsUnder(block, 0, nil)
		}
		for _, c := range nested {
			flat = n.flatten(flat, job, nestedStep(c, index), unalias(c))
		}
	}
	for _, c := range extras {
		flat = n.flatten(flat, job, nestedStep(c, f.group), unalias(c))
	}
	return flat
}

// nestedStep is the flatStep of a step actionlint never saw, in group.
// node may be an alias: a reference is reported where the author wrote
// it, not at the anchor.
func nestedStep(node *yaml.Node, group int) flatStep {
	f := flatStep{s: stepFromYAML(unalias(node)), serial: -1, group: group}
	f.usesLine, _ = aliasedUsesLine(node)
	return f
}

// jobExtras appends the steps of a job that sit where actionlint reads no
// steps: under a job key it does not know, or under a steps: that is not a
// list. Each is reported as unmodeled.
func (n *normalizer) jobExtras(j *actionlint.Job, id string, flat []flatStep) []flatStep {
	node := n.yaml.job(j.ID.Value)
	if node == nil || node.Kind != yaml.MappingNode {
		return flat
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], unalias(node.Content[i+1])
		var found []*yaml.Node
		switch {
		case k.Value == "steps" && v.Kind != yaml.SequenceNode:
			found = stepsUnder(v, 0, nil)
			n.yaml.unmodel(id, nil, k.Line, "steps is a %s, not a list: the steps found in it are judged", kindName(v.Kind))
		case !jobKeys[k.Value]:
			found = stepsUnder(v, 0, nil)
			if len(found) > 0 {
				n.yaml.unmodel(id, nil, k.Line, "job key %q is not workflow syntax runpolicy knows and holds steps: they are judged as steps of the job", k.Value)
			}
		}
		for _, c := range found {
			flat = n.flatten(flat, id, nestedStep(c, -1), c)
		}
	}
	return flat
}

// scalars returns the values of a scalar or a list of scalars: the step
// ids a wait: or cancel: names.
func scalars(n *yaml.Node) []string {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return []string{}
		}
		return []string{n.Value}
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c = unalias(c); c.Kind == yaml.ScalarNode {
				out = append(out, c.Value)
			}
		}
		return out
	}
	return []string{}
}
