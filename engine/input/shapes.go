package input

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v4"
)

// actionlint knows the workflow syntax of its release, not what GitHub
// added since (parallel steps, June 2026) nor every shape a hostile author
// can write. Where its tree has no place for something, the file's YAML is
// read here, so that what GitHub runs is judged and what runpolicy cannot
// model is reported (Facts.Unmodeled), never dropped in silence.

// Control keys of a step that runs no action or script (GitHub, June 2026).
const (
	ControlParallel = "parallel" // runs the steps it lists at the same time
	ControlWait     = "wait"     // waits for the background steps it names
	ControlWaitAll  = "wait-all" // waits for every background step so far
	ControlCancel   = "cancel"   // cancels the background step it names
)

// controls are the step keys that make a step a control step.
var controls = []string{ControlParallel, ControlWait, ControlWaitAll, ControlCancel}

// stepKeys are the keys of a step that runpolicy models.
var stepKeys = map[string]bool{
	"id": true, "if": true, "name": true, "env": true, "continue-on-error": true, "timeout-minutes": true,
	"uses": true, "with": true, "run": true, "shell": true, "working-directory": true, "background": true,
	ControlParallel: true, ControlWait: true, ControlWaitAll: true, ControlCancel: true,
}

// jobKeys are the keys of a job that runpolicy models (those actionlint
// knows).
var jobKeys = map[string]bool{
	"name": true, "needs": true, "runs-on": true, "permissions": true, "environment": true, "concurrency": true,
	"outputs": true, "env": true, "defaults": true, "if": true, "steps": true, "timeout-minutes": true,
	"strategy": true, "continue-on-error": true, "container": true, "services": true, "uses": true,
	"with": true, "secrets": true, "snapshot": true,
}

// workflowYAML is the YAML of a workflow whose actionlint tree lacks
// something: the job nodes by lower-case id (actionlint's map keys).
type workflowYAML struct {
	jobs map[string]*yaml.Node
	// uses bounds the references the YAML can add to actionlint's: every
	// mapping with a uses key, aliases expanded.
	uses int
	// explained are actionlint's errors about what the YAML models: a
	// control step is no error for GitHub.
	explained []ParseError
	unmodeled []Unmodeled
}

// readWorkflowYAML reads the YAML of src when actionlint's tree may have
// lost something: a step with neither uses nor run (a parallel block, a
// control step, or a shape nobody knows) or any error (an unknown key, a
// reusable workflow call actionlint refused). Other workflows, nearly all of
// them, cost nothing more. root is src's tree when parse decoded it already,
// else nil and src is decoded here. It returns nil when there is nothing to
// read.
func readWorkflowYAML(src []byte, root *yaml.Node, wf *actionlint.Workflow, errs []*actionlint.Error) *workflowYAML {
	if len(errs) == 0 && !hasBareStep(wf) {
		return nil
	}
	y := &workflowYAML{jobs: map[string]*yaml.Node{}}
	var err error
	if root == nil {
		root, err = decodeYAML(src)
	}
	if err != nil {
		// actionlint read a tree the YAML decoder refuses: what only the
		// YAML shows stays unread, and that must not pass in silence.
		y.unmodel("", nil, 1, "the YAML decoder refuses the file that actionlint read (%v): steps actionlint does not know are not judged", err)
		return y
	}
	jobs := unalias(mappingValue(root, "jobs"))
	if jobs == nil || jobs.Kind != yaml.MappingNode {
		return y
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		y.jobs[strings.ToLower(jobs.Content[i].Value)] = unalias(jobs.Content[i+1])
	}
	y.uses = countUses(jobs, 0)
	return y
}

func hasBareStep(wf *actionlint.Workflow) bool {
	for _, j := range wf.Jobs {
		if j == nil {
			continue
		}
		for _, s := range j.Steps {
			if s != nil && s.Exec == nil {
				return true
			}
		}
	}
	return false
}

// countUses counts the mappings with a uses key under n, aliases expanded
// (decodeYAML bounded the expanded tree).
func countUses(n *yaml.Node, depth int) int {
	n = unalias(n)
	if depth > MaxYAMLDepth {
		return 0
	}
	count := 0
	if n.Kind == yaml.MappingNode && mappingValue(n, "uses") != nil {
		count++
	}
	for _, c := range n.Content {
		count += countUses(c, depth+1)
	}
	return count
}

// usesBound is how many more references than actionlint's tree holds the
// YAML may add.
func (y *workflowYAML) usesBound() int {
	if y == nil {
		return 0
	}
	return y.uses
}

// job returns the YAML of a job, nil when none was read.
func (y *workflowYAML) job(id string) *yaml.Node {
	if y == nil {
		return nil
	}
	return y.jobs[strings.ToLower(id)]
}

// stepNodes returns the step nodes of a job aligned with actionlint's
// steps, nil when they cannot be aligned.
func (y *workflowYAML) stepNodes(j *actionlint.Job) []*yaml.Node {
	job := y.job(j.ID.Value)
	if job == nil {
		return nil
	}
	steps := mappingValue(job, "steps")
	if steps == nil {
		return nil
	}
	steps = unalias(steps)
	if steps.Kind != yaml.SequenceNode || len(steps.Content) != len(j.Steps) {
		return nil
	}
	nodes := make([]*yaml.Node, len(steps.Content))
	for i, s := range steps.Content {
		nodes[i] = unalias(s)
	}
	return nodes
}

// explain records that actionlint's error at n's position starting with
// prefix describes syntax runpolicy models.
func (y *workflowYAML) explain(n *yaml.Node, message string) {
	y.explained = append(y.explained, ParseError{Line: n.Line, Column: n.Column, Message: message})
}

// filter drops the errors explain recorded: a message matches by prefix.
func (y *workflowYAML) filter(errs []ParseError) []ParseError {
	if y == nil || len(y.explained) == 0 {
		return errs
	}
	out := errs[:0:0]
	for _, e := range errs {
		drop := false
		for _, x := range y.explained {
			if x.Line == e.Line && x.Column == e.Column && strings.HasPrefix(e.Message, x.Message) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return []ParseError{}
	}
	return out
}

// unmodel records a shape runpolicy cannot model.
func (y *workflowYAML) unmodel(job string, step *int, line int, format string, args ...any) {
	var s *int
	if step != nil {
		i := *step
		s = &i
	}
	y.unmodeled = append(y.unmodeled, Unmodeled{Job: job, Step: s, Line: line, Message: fmt.Sprintf(format, args...)})
}

// unmodeled returns the shapes runpolicy cannot model, in file order:
// those the YAML showed, and self-repository references with a ref.
func (n *normalizer) unmodeled() []Unmodeled {
	out := n.unmodeledShapes
	if n.yaml != nil {
		out = append(out, n.yaml.unmodeled...)
	}
	for _, u := range n.facts.Uses {
		// GitHub documents $/path as the running commit; what a ref
		// written after it means, it does not say. runpolicy reads the
		// running commit, and says so.
		s := strings.TrimSpace(u.Raw)
		if strings.HasPrefix(s, SelfRepository) && strings.Contains(s, "@") {
			out = append(out, Unmodeled{Job: u.Job, Step: u.Step, Line: u.Line, Message: fmt.Sprintf(
				"%s names a ref after a self-repository reference, which GitHub does not document: runpolicy judges %s at the commit that runs", s, u.Name)})
		}
		if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
			judged := u.Name
			if u.Ref != "" {
				judged += "@" + u.Ref
			}
			if u.Kind == KindDocker {
				judged = u.Names[0] // docker://image:tag, as the lists see it
			}
			out = append(out, Unmodeled{Job: u.Job, Step: u.Step, Line: u.Line, Message: fmt.Sprintf(
				"uses: %q holds whitespace inside the reference: runpolicy judges it as %s", s, judged)})
		}
	}
	if len(out) == 0 {
		return []Unmodeled{}
	}
	slices.SortStableFunc(out, func(a, b Unmodeled) int { return a.Line - b.Line })
	return out
}

// recoverCall gives back the reusable workflow call actionlint drops from
// a job that also has keys GitHub refuses beside uses (env:,
// timeout-minutes:, steps:, …). GitHub rejects such a workflow, but the
// reference must still be judged: a compromised workflow is reported
// whatever else is wrong. actionlint's error stays in ParseErrors.
func (n *normalizer) recoverCall(j *actionlint.Job) {
	job := n.yaml.job(j.ID.Value)
	if j.WorkflowCall != nil || job == nil || job.Kind != yaml.MappingNode {
		return
	}
	usesNode := mappingValue(job, "uses")
	if usesNode == nil {
		return
	}
	call := &actionlint.WorkflowCall{
		Uses:    yamlString(usesNode),
		Inputs:  map[string]*actionlint.WorkflowCallInput{},
		Secrets: map[string]*actionlint.WorkflowCallSecret{},
	}
	if with := unalias(mappingValue(job, "with")); with != nil && with.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(with.Content); i += 2 {
			k := with.Content[i]
			call.Inputs[strings.ToLower(k.Value)] = &actionlint.WorkflowCallInput{Name: yamlString(k), Value: yamlString(with.Content[i+1])}
		}
	}
	for i := 0; i+1 < len(job.Content); i += 2 {
		k, v := job.Content[i], unalias(job.Content[i+1])
		if k.Value != "secrets" {
			continue
		}
		switch {
		case v.Kind == yaml.ScalarNode && v.Value == "inherit":
			call.InheritSecrets = true
			if n.lines.inherit == nil {
				n.lines.inherit = map[string]int{}
			}
			n.lines.inherit[strings.ToLower(j.ID.Value)] = k.Line
		case v.Kind == yaml.MappingNode:
			for s := 0; s+1 < len(v.Content); s += 2 {
				sk := v.Content[s]
				call.Secrets[strings.ToLower(sk.Value)] = &actionlint.WorkflowCallSecret{Name: yamlString(sk), Value: yamlString(v.Content[s+1])}
			}
		}
	}
	if usesNode.Kind == yaml.AliasNode {
		if n.lines.uses == nil {
			n.lines.uses = map[useAt]int{}
		}
		n.lines.uses[useAt{strings.ToLower(j.ID.Value), -1}] = usesNode.Line
	}
	j.WorkflowCall = call
}

// pos is actionlint's position of a node.
func pos(n *yaml.Node) *actionlint.Pos {
	return &actionlint.Pos{Line: n.Line, Col: n.Column}
}

// yamlString is actionlint's String of a scalar; any other node reads as
// the empty string at its position, as actionlint reads it.
func yamlString(n *yaml.Node) *actionlint.String {
	n = unalias(n)
	if n.Kind != yaml.ScalarNode {
		return &actionlint.String{Pos: pos(n)}
	}
	return &actionlint.String{Value: n.Value, Quoted: n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0, Pos: pos(n)}
}

// yamlExpression is the String of a scalar that holds ${{ }}, else nil:
// what a Bool, Float or Env keeps of a value written as an expression.
func yamlExpression(n *yaml.Node) *actionlint.String {
	s := yamlString(n)
	if !strings.Contains(s.Value, "${{") {
		return nil
	}
	return s
}

// stepFromYAML builds the actionlint step of a step actionlint never saw
// (one inside a parallel block), with the same fields and positions its
// own parser gives a serial step, so that the same code judges both.
func stepFromYAML(n *yaml.Node) *actionlint.Step {
	s := &actionlint.Step{Pos: pos(n)}
	var (
		uses, run, runKey, with *yaml.Node
		shell, wd               *actionlint.String
	)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "id":
			s.ID = yamlString(v)
		case "if":
			s.If = yamlString(v)
		case "name":
			s.Name = yamlString(v)
		case "env":
			s.Env = yamlEnv(v)
		case "continue-on-error":
			s.ContinueOnError = &actionlint.Bool{Expression: yamlExpression(v), Pos: pos(unalias(v))}
		case "timeout-minutes":
			s.TimeoutMinutes = &actionlint.Float{Expression: yamlExpression(v), Pos: pos(unalias(v))}
		case "uses":
			uses = v
		case "with":
			with = unalias(v)
		case "run":
			run, runKey = v, k
		case "shell":
			shell = yamlString(v)
		case "working-directory":
			wd = yamlString(v)
		}
	}
	switch {
	case uses != nil:
		e := &actionlint.ExecAction{Uses: yamlString(uses), Inputs: map[string]*actionlint.Input{}}
		docker := strings.HasPrefix(strings.TrimSpace(e.Uses.Value), "docker://")
		if with != nil && with.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(with.Content); i += 2 {
				k, v := with.Content[i], with.Content[i+1]
				switch id := strings.ToLower(k.Value); {
				case docker && id == "entrypoint":
					e.Entrypoint = yamlString(v)
				case docker && id == "args":
					e.Args = yamlString(v)
				default:
					e.Inputs[id] = &actionlint.Input{Name: yamlString(k), Value: yamlString(v)}
				}
			}
		}
		s.Exec = e
	case run != nil:
		s.Exec = &actionlint.ExecRun{Run: yamlString(run), Shell: shell, WorkingDirectory: wd, RunPos: pos(runKey)}
	}
	return s
}

func yamlEnv(n *yaml.Node) *actionlint.Env {
	n = unalias(n)
	if n.Kind != yaml.MappingNode {
		return &actionlint.Env{Expression: yamlExpression(n)}
	}
	env := &actionlint.Env{Vars: map[string]*actionlint.EnvVar{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		env.Vars[strings.ToLower(k.Value)] = &actionlint.EnvVar{Name: yamlString(k), Value: yamlString(n.Content[i+1])}
	}
	return env
}

// stepLike reports whether n is a mapping that runs something: a step
// written where runpolicy does not expect one.
func stepLike(n *yaml.Node) bool {
	n = unalias(n)
	return n.Kind == yaml.MappingNode && (mappingValue(n, "uses") != nil || mappingValue(n, "run") != nil || mappingValue(n, ControlParallel) != nil)
}

// stepsUnder collects the step-like mappings under n (n itself, or the
// entries of a list, at any depth), in file order.
func stepsUnder(n *yaml.Node, depth int, out []*yaml.Node) []*yaml.Node {
	n = unalias(n)
	if depth > MaxYAMLDepth {
		return out
	}
	if stepLike(n) {
		return append(out, n)
	}
	for _, c := range n.Content {
		out = stepsUnder(c, depth+1, out)
	}
	return out
}

func kindOf(n *yaml.Node) string {
	if n = unalias(n); n == nil {
		return kindName(0)
	}
	return kindName(n.Kind)
}
