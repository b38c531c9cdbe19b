package input

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v4"

	"github.com/runpolicy/runpolicy/internal/oneline"
)

// Parse normalizes the bytes of one workflow file. It is pure: no network,
// no file system. path is used only in error messages.
//
// Parse fails only when the bytes are not a workflow at all (empty, binary,
// not YAML, not a mapping with "on" or "jobs") or break a limit in limits.go.
// Syntax errors inside a workflow are kept in Facts.ParseErrors and the rest
// is read from the partial tree actionlint still builds, so that a broken
// workflow is judged on what it does say.
func Parse(path string, src []byte) (*Facts, error) {
	if err := checkBytes(src); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return parse(path, src, sha256.Sum256(src))
}

// parse is Parse for bytes that passed checkBytes and whose SHA-256 is sum.
func parse(path string, src []byte, sum [32]byte) (*Facts, error) {
	// Most workflows have no YAML alias and shallow nesting, which a byte
	// scan can tell: actionlint alone decodes those. Any other file is
	// decoded and measured first, so that actionlint never walks an alias
	// bomb.
	var (
		lines yamlLines
		// root is the decoded tree once actionlint's tree is built beside
		// it, kept for readWorkflowYAML; nil when it was not decoded then.
		root *yaml.Node
	)
	measured := !simpleYAML(src)
	if measured {
		measuredRoot, err := decodeYAML(src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		// Take what is needed from this tree before actionlint builds its
		// own, so that the two are not alive at the same time: such a file
		// is decoded again only when readWorkflowYAML needs the tree.
		lines = findYAMLLines(measuredRoot)
	}
	var (
		wf   *actionlint.Workflow
		errs []*actionlint.Error
	)
	err := guard(func() error {
		wf, errs = actionlint.Parse(src)
		return nil
	})
	if !measured && (err != nil || wf == nil || (wf.On == nil && wf.Jobs == nil) || inheritsSecrets(wf)) {
		// The YAML decoder names what is wrong with a file that is not a
		// workflow, and keeps the line of `secrets: inherit`, which
		// actionlint's tree loses.
		var derr error
		if root, derr = decodeYAML(src); derr != nil {
			return nil, fmt.Errorf("%s: %w", path, derr)
		}
		lines = findYAMLLines(root)
	}
	if err == nil && wf == nil {
		err = fmt.Errorf("not YAML: %s", firstMessage(errs))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}

	y := readWorkflowYAML(src, root, wf, errs) // nil for nearly every workflow (see shapes.go)
	n := normalizer{
		src:         newSource(src),
		lines:       lines,
		yaml:        y,
		budget:      matrixBudget{left: maxMatrixWork},
		exprs:       newExprBudget(),
		scriptBytes: MaxScriptBytes,
		facts: &Facts{
			SHA256:      hex.EncodeToString(sum[:]),
			Triggers:    triggers(wf),
			Jobs:        map[string]*Job{},
			Uses:        make([]Use, 0, maxUses(wf)+y.usesBound()),
			ParseErrors: parseErrors(errs),
		},
	}
	n.facts.lazy = &lazyValue{owner: n.facts}
	n.secrets.src = n.src
	if wf.Name != nil {
		n.facts.Name = wf.Name.Value
	}
	n.workflow(wf)
	if n.over != nil {
		return nil, fmt.Errorf("%s: %w", path, n.over)
	}
	n.facts.ParseErrors = sortedParseErrors(append(y.filter(n.facts.ParseErrors), n.parseErrors...))
	n.facts.Unmodeled = n.unmodeled()
	return n.facts, nil
}

// normalizer fills Facts from actionlint's tree.
type normalizer struct {
	src     *source
	secrets secretScanner
	lines   yamlLines
	yaml    *workflowYAML // what actionlint's tree lacks; nil when it lacks nothing
	facts   *Facts
	budget  matrixBudget           // work left for expanding matrices (matrix.go)
	exprs   exprBudget             // what the limits on expressions leave (expressions.go)
	parsed  map[string]*parsedExpr // the expressions parsed so far, by their text and }}
	// scriptBytes is what MaxScriptBytes leaves.
	scriptBytes int
	// over is the limit the workflow broke while it was read: Parse fails.
	over error
	// parseErrors are the expressions that do not parse.
	parseErrors []ParseError
	// unmodeledShapes are those actionlint's tree shows (permissions.go).
	unmodeledShapes []Unmodeled
	// wfDefaults are the workflow's defaults.run.
	wfDefaults Defaults
	// inherited are the permissions of the jobs without their own.
	inherited *JobPermissions
	// none is the empty map of every absent mapping (fields.go).
	none map[string]string
	// scratch collects the expressions of the workflow, a job or a step,
	// one at a time.
	scratch []pendingExpr
}

func (n *normalizer) workflow(wf *actionlint.Workflow) {
	n.scratch = n.scratch[:0]
	top := where{jobOrder: -1, context: CtxOther, exprs: &n.scratch}
	n.text(wf.Name, top.under("name"))
	n.text(wf.RunName, top.under("run-name"))
	n.events(wf.On, top.under("on"))
	n.env(wf.Env, top)
	n.defaults(wf.Defaults, top.under("defaults"))
	n.concurrency(wf.Concurrency, top.under("concurrency"))

	f := n.facts
	f.Expressions = recorded(n.scratch)
	f.On = on(wf)
	f.Env = n.envVars(wf.Env, "", nil, 1)
	n.wfDefaults = defaultsRun(wf.Defaults)
	f.Defaults = n.wfDefaults
	f.Concurrency = concurrencyOf(wf.Concurrency)
	f.Permissions = n.permissions(wf.Permissions, "")
	f.Lines = WorkflowLines{Env: envLine(wf.Env)}
	if d := wf.Defaults; d != nil && d.Pos != nil {
		f.Lines.Defaults = d.Pos.Line
	}

	labels := []string{}
	for order, j := range sortedJobs(wf.Jobs) {
		job := n.job(j, order)
		n.facts.Jobs[j.ID.Value] = job
		labels = appendRunnerLabels(labels, job.RunsOn)
	}
	slices.Sort(labels)
	n.facts.RunnerLabels = slices.Compact(labels)

	refs := n.secrets.sorted()
	n.facts.Secrets = Secrets{Names: uniqueNames(refs), Refs: refs}
	for _, r := range refs {
		n.facts.Secrets.Bulk = n.facts.Secrets.Bulk || r.Bulk
	}
	// A job's secrets are those it reads itself plus those of the workflow's
	// env:, which GitHub sets in every step of every job.
	var envRefs []SecretRef
	for _, r := range refs {
		if r.Job == "" && r.Context == CtxEnv {
			envRefs = append(envRefs, r)
		}
	}
	for id, job := range n.facts.Jobs {
		var own []SecretRef
		for _, r := range refs {
			if r.Job == id {
				own = append(own, r)
			}
		}
		if job.Uses == nil {
			own = append(own, envRefs...)
		}
		job.Secrets = uniqueNames(own)
		n.facts.Secrets.Inherit = n.facts.Secrets.Inherit || job.SecretsInherit
	}
}

func (n *normalizer) job(j *actionlint.Job, order int) *Job {
	id := j.ID.Value
	n.recoverCall(j)
	job := &Job{
		Name:           id,
		Line:           j.Pos.Line,
		RunsOn:         runsOn(j.RunsOn),
		If:             optString(j.If),
		Env:            n.envVars(j.Env, id, nil, j.Pos.Line),
		Environment:    environmentOf(j.Environment),
		Concurrency:    concurrencyOf(j.Concurrency),
		Needs:          values(j.Needs),
		Outputs:        n.outputs(j.Outputs),
		TimeoutMinutes: timeoutMinutes(j.TimeoutMinutes),
		Permissions:    n.jobPermissions(j.Permissions, id),
	}
	job.With, job.SecretsMap = n.callInputs(j.WorkflowCall)
	job.Lines = JobLines{
		If: stringLine(j.If), Env: envLine(j.Env), Needs: valuesLine(j.Needs), Outputs: outputsLine(j.Outputs),
		TimeoutMinutes: floatLine(j.TimeoutMinutes),
	}
	if call := j.WorkflowCall; call != nil {
		job.Lines.With, job.Lines.SecretsMap = callLines(call)
	}
	if j.Name != nil && j.Name.Value != "" {
		job.Name = j.Name.Value
	}
	matrix := n.budget.lazy(j.Strategy)
	runnerCandidates(&job.RunsOn, j.RunsOn, matrix)
	if j.Container != nil && j.Container.Image != nil {
		image := j.Container.Image.Value
		job.Container = &image
	}

	n.scratch = n.scratch[:0]
	n.jobStrings(j, where{job: id, jobOrder: order, context: CtxOther, exprs: &n.scratch})
	job.Expressions = recorded(n.scratch)

	if call := j.WorkflowCall; call != nil && call.Uses != nil {
		u := ParseUses(call.Uses.Value, true)
		u.Job, u.Line = id, n.useLine(id, -1, call.Uses)
		job.Uses = n.addUse(u)
		job.SecretsInherit = call.InheritSecrets
	}

	n.images(job, j, id, matrix)

	execs := n.steps(j, id, order, job, defaultsRun(j.Defaults).orBase(n.wfDefaults)) // aligned with job.Steps (parallel.go)
	job.HardenRunner = hardenRunner(execs, job.Steps)
	return job
}

// addUse appends a direct reference to the facts' list and returns it
// there, where the job or step it belongs to points.
func (n *normalizer) addUse(u Use) *Use {
	n.facts.Uses = append(n.facts.Uses, u)
	return &n.facts.Uses[len(n.facts.Uses)-1]
}

// maxUses is the most direct references wf can hold: one per job, one
// per step and one per image (a matrix can make more of an image). With that capacity the list never moves while Parse fills it,
// so the pointers addUse returns stay in it. (Were it to move, they would
// still hold the same values: nothing changes a Use once it is added.)
func maxUses(wf *actionlint.Workflow) int {
	n := 0
	for _, j := range wf.Jobs {
		if j != nil {
			n += 1 + len(j.Steps) + imageCount(j)
		}
	}
	return n
}

// runsOn normalizes every form of runs-on: a label, a list of labels, a
// {group, labels} mapping, and expressions GitHub evaluates at run time.
func runsOn(r *actionlint.Runner) RunsOn {
	ro := RunsOn{Labels: []string{}}
	if r == nil {
		return ro
	}
	if r.LabelsExpr != nil {
		expr := r.LabelsExpr.Value
		ro.Expression = &expr
		ro.Dynamic = true
	}
	for _, l := range r.Labels {
		if l == nil {
			continue
		}
		ro.Labels = append(ro.Labels, l.Value)
		ro.Dynamic = ro.Dynamic || l.ContainsExpression()
	}
	if r.Group != nil {
		group := r.Group.Value
		ro.Group = &group
		ro.Dynamic = ro.Dynamic || r.Group.ContainsExpression()
	}
	return ro
}

// hardenRunnerAction is the action HardenRunner looks for, in lower case.
const hardenRunnerAction = "step-security/harden-runner"

// hardenRunner reports the first step-security/harden-runner step of a job.
func hardenRunner(steps []*actionlint.Step, normalized []Step) HardenRunner {
	for i, s := range normalized {
		u := s.Uses
		if u == nil || u.Kind != KindAction || !strings.EqualFold(u.Name, hardenRunnerAction) {
			continue
		}
		// First means it runs before anything else: step 0, neither in a
		// parallel block nor in the background, where the steps beside or
		// after it start before it is ready.
		first := s.Index == 0 && s.ParallelGroup == nil && !s.Background
		h := HardenRunner{Present: true, FirstStep: first, Step: &normalized[i].Index}
		if e, ok := steps[i].Exec.(*actionlint.ExecAction); ok {
			if input := e.Inputs["egress-policy"]; input != nil && input.Value != nil {
				policy := input.Value.Value
				h.EgressPolicy = &policy
			}
			if input := e.Inputs["use-policy-store"]; input != nil && input.Value != nil {
				h.UsePolicyStore = input.Value.Value == "true"
			}
		}
		return h
	}
	return HardenRunner{}
}

// sortedJobs returns the jobs in file order; actionlint keeps them in a map.
func sortedJobs(jobs map[string]*actionlint.Job) []*actionlint.Job {
	sorted := make([]*actionlint.Job, 0, len(jobs))
	for _, j := range jobs {
		if j != nil && j.ID != nil && j.Pos != nil {
			sorted = append(sorted, j)
		}
	}
	slices.SortFunc(sorted, func(a, b *actionlint.Job) int {
		return cmp.Or(cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col), strings.Compare(a.ID.Value, b.ID.Value))
	})
	return sorted
}

// inheritsSecrets reports whether a job passes `secrets: inherit`.
func inheritsSecrets(wf *actionlint.Workflow) bool {
	for _, j := range wf.Jobs {
		if j != nil && j.WorkflowCall != nil && j.WorkflowCall.InheritSecrets {
			return true
		}
	}
	return false
}

// yamlLines are positions actionlint's tree loses: it has no place for the
// line of `secrets: inherit`, and it replaces a YAML alias by its anchor, so
// an aliased uses: would be reported at the anchor.
type yamlLines struct {
	inherit map[string]int // lower-case job id -> line of `secrets: inherit`
	uses    map[useAt]int  // line of each uses: written as an alias
}

// useAt names a uses: key; step is -1 for a job calling a reusable workflow.
type useAt struct {
	job  string // lower case, like actionlint's map keys
	step int
}

func findYAMLLines(root *yaml.Node) yamlLines {
	lines := yamlLines{inherit: map[string]int{}, uses: map[useAt]int{}}
	jobs := mappingValue(root, "jobs")
	if jobs == nil || jobs.Kind != yaml.MappingNode {
		return lines
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		id := strings.ToLower(jobs.Content[i].Value)
		job := unalias(jobs.Content[i+1])
		if job.Kind != yaml.MappingNode {
			continue
		}
		for k := 0; k+1 < len(job.Content); k += 2 {
			key, val := job.Content[k], job.Content[k+1]
			switch key.Value {
			case "secrets":
				if val.Kind == yaml.ScalarNode && val.Value == "inherit" {
					lines.inherit[id] = key.Line
				}
			case "uses":
				if val.Kind == yaml.AliasNode {
					lines.uses[useAt{id, -1}] = val.Line
				}
			case "steps":
				for s, step := range unalias(val).Content {
					if line, ok := aliasedUsesLine(step); ok {
						lines.uses[useAt{id, s}] = line
					}
				}
			}
		}
	}
	return lines
}

// aliasedUsesLine is the line where the author wrote a step's uses: when
// an alias stands for it, the whole step or its uses value; ok is false
// when neither is an alias (the node's own line is right then).
func aliasedUsesLine(step *yaml.Node) (line int, ok bool) {
	if step.Kind == yaml.AliasNode {
		return step.Line, true
	}
	if u := mappingValue(step, "uses"); u != nil && u.Kind == yaml.AliasNode {
		return u.Line, true
	}
	return 0, false
}

// useLine returns the line of a uses: value, where the author wrote it.
func (n *normalizer) useLine(job string, step int, s *actionlint.String) int {
	if line, ok := n.lines.uses[useAt{strings.ToLower(job), step}]; ok {
		return line
	}
	return s.Pos.Line
}

// parseErrors converts actionlint's errors.
func parseErrors(errs []*actionlint.Error) []ParseError {
	out := make([]ParseError, 0, len(errs))
	for _, e := range errs {
		out = append(out, ParseError{Line: e.Line, Column: e.Column, Message: oneline.Fold(e.Message)})
	}
	return out
}

// sortedParseErrors sorts errors by position and drops repeats: text an
// alias repeats is read, and found wrong, once per alias.
func sortedParseErrors(errs []ParseError) []ParseError {
	slices.SortFunc(errs, func(a, b ParseError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column), strings.Compare(a.Message, b.Message))
	})
	return slices.Compact(errs)
}

func firstMessage(errs []*actionlint.Error) string {
	if len(errs) == 0 {
		return "no workflow in the file"
	}
	return oneline.Fold(errs[0].Message)
}
