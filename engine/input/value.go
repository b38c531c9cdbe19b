package input

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Value returns the document as OPA's own value type, equal to what
// ast.InterfaceToValue makes of its JSON encoding, so that the engine can
// evaluate with rego.EvalParsedInput and skip converting Go maps on every
// evaluation. The parts that come from Facts are built once per Facts and
// shared by every document built from them, as long as the caller did not
// replace them (a resolver that adds uses builds its own).
func (d *Document) Value() ast.Value {
	var f *Facts
	var cached *lazyValue
	if d.facts != nil && d.facts.lazy != nil && d.facts.lazy.owner == d.facts {
		f, cached = d.facts, d.facts.terms()
	}
	b := &builder{}

	jobs := func() *ast.Term {
		if cached != nil && sameMap(d.Jobs, f.Jobs) {
			return cached.jobs
		}
		return b.jobs(d.Jobs, nil)
	}
	uses := func() *ast.Term {
		if cached != nil && sameSlice(d.Uses, f.Uses) {
			return cached.uses
		}
		terms := make([]*ast.Term, len(d.Uses))
		for i := range d.Uses {
			terms[i] = b.use(&d.Uses[i])
		}
		return b.array(terms)
	}
	labels := func() *ast.Term {
		if cached != nil && sameSlice(d.RunnerLabels, f.RunnerLabels) {
			return cached.runnerLabels
		}
		return b.strings(d.RunnerLabels)
	}
	secrets := func() *ast.Term {
		s, fs := d.Secrets, Secrets{}
		if f != nil {
			fs = f.Secrets
		}
		if cached != nil && s.Bulk == fs.Bulk && s.Inherit == fs.Inherit && sameSlice(s.Names, fs.Names) && sameSlice(s.Refs, fs.Refs) {
			return cached.secrets
		}
		return b.secrets(s)
	}
	triggers := func() *ast.Term {
		if cached != nil && sameSlice(d.Workflow.Triggers, f.Triggers) {
			return cached.triggers
		}
		return b.strings(d.Workflow.Triggers)
	}
	parseErrors := func() *ast.Term {
		if cached != nil && sameSlice(d.Workflow.ParseErrors, f.ParseErrors) {
			return cached.parseErrors
		}
		return b.parseErrors(d.Workflow.ParseErrors)
	}
	unmodeled := func() *ast.Term {
		if cached != nil && sameSlice(d.Workflow.Unmodeled, f.Unmodeled) {
			return cached.unmodeled
		}
		return b.unmodeled(d.Workflow.Unmodeled)
	}

	workflowFacts := func() []*ast.Term {
		w := &d.Workflow
		if cached != nil && sameMap(w.Env, f.Env) && w.Defaults == f.Defaults && w.Concurrency == f.Concurrency &&
			w.Permissions == f.Permissions && sameMap(w.On, f.On) && sameSlice(w.Expressions, f.Expressions) && w.Lines == f.Lines {
			return cached.workflow[:]
		}
		return b.workflowFacts(w.Env, w.Defaults, w.Concurrency, w.Permissions, w.On, w.Expressions, w.Lines)
	}

	e, r, run, w := d.Event, d.Repository, d.Run, d.Workflow
	values := []*ast.Term{
		intTerm(d.SchemaVersion),
		b.object(eventShape, b.str(e.Name), b.str(e.Action), b.str(e.DeliveryID)),
		b.object(repositoryShape, b.str(r.FullName), b.str(r.Owner), b.str(r.Name), b.str(r.DefaultBranch), b.str(r.Visibility), boolean(r.Fork)),
		b.object(runShape,
			intTerm(run.ID), intTerm(run.Attempt), intTerm(run.Number), b.str(run.Event), b.str(run.Branch), b.str(run.HeadSHA),
			boolean(run.IsDefaultBranch), b.str(run.Actor), b.str(run.TriggeringActor), b.str(run.HeadRepository),
			boolean(run.FromFork), b.ints(run.PullRequests),
		),
		b.object(workflowShape, append([]*ast.Term{
			b.str(w.Path), b.str(w.Name), triggers(), b.str(w.SHA256), b.optStr(w.DefaultBranchSHA256),
			boolean(w.Modified), b.modifiedFiles(w.ModifiedFiles), parseErrors(), unmodeled(),
		}, workflowFacts()...)...),
		jobs(),
		uses(),
		labels(),
		secrets(),
		b.workflowJob(d.WorkflowJob),
		b.resolution(d.Resolution),
	}
	if len(d.Approvals) > 0 {
		values = append(values, b.approvals(d.Approvals))
	}
	return documentShape.object(values...)
}

// lazyValue holds the OPA values of a Facts. Facts never change after
// Parse, and OPA values are safe for concurrent reads, so one copy serves
// every run of the same file.
type lazyValue struct {
	// owner is the Facts the values describe. A copy of the Facts struct
	// shares the pointer to this cache but is not its owner, so it is never
	// served values of fields it may have changed.
	owner                                                               *Facts
	once                                                                sync.Once
	jobs, uses, runnerLabels, secrets, triggers, parseErrors, unmodeled *ast.Term
	// workflow are the values of the workflow's env, defaults,
	// concurrency, permissions, on, expressions and lines.
	workflow [7]*ast.Term
}

func (f *Facts) terms() *lazyValue {
	f.lazy.once.Do(func() {
		b := &builder{jobIDs: make(map[string]*ast.Term, len(f.Jobs))}
		for id := range f.Jobs {
			b.jobIDs[id] = b.str(id)
		}
		uses := make([]*ast.Term, len(f.Uses))
		built := make(map[*Use]*ast.Term, len(f.Uses))
		for i := range f.Uses {
			uses[i] = b.use(&f.Uses[i])
			built[&f.Uses[i]] = uses[i]
		}
		// Each job's and step's uses points into the list (see Parse):
		// their values are shared rather than built twice.
		f.lazy.jobs = b.jobs(f.Jobs, built)
		f.lazy.uses = b.array(uses)
		f.lazy.runnerLabels = b.strings(f.RunnerLabels)
		f.lazy.secrets = b.secrets(f.Secrets)
		f.lazy.triggers = b.strings(f.Triggers)
		f.lazy.parseErrors = b.parseErrors(f.ParseErrors)
		f.lazy.unmodeled = b.unmodeled(f.Unmodeled)
		copy(f.lazy.workflow[:], b.workflowFacts(f.Env, f.Defaults, f.Concurrency, f.Permissions, f.On, f.Expressions, f.Lines))
	})
	return f.lazy
}

// builder makes the terms of one document, or of the facts part of one.
// Those terms live and die together, so it carves them out of blocks, one
// allocation for many. OPA never modifies the terms of an input.
type builder struct {
	block []ast.Term
	// jobIDs are the terms of the job ids, shared by the jobs object and
	// every use and secret reference of a job; nil builds each anew.
	jobIDs map[string]*ast.Term
	// scopes and scopesTerm are the last permission scopes built: the
	// jobs without permissions of their own share the workflow's.
	scopes     map[string]string
	scopesTerm *ast.Term
}

// term returns a new term holding v.
func (b *builder) term(v ast.Value) *ast.Term {
	if len(b.block) == 0 {
		b.block = make([]ast.Term, 32)
	}
	t := &b.block[0]
	b.block = b.block[1:]
	t.Value = v
	return t
}

// object returns the object with the shape's first len(values) keys.
func (b *builder) object(s shape, values ...*ast.Term) *ast.Term {
	return b.term(s.object(values...))
}

// jobs builds the jobs, taking the value of a step's or a job's uses from
// built when it is there.
func (b *builder) jobs(jobs map[string]*Job, built map[*Use]*ast.Term) *ast.Term {
	ids := make([]string, 0, len(jobs))
	for id := range jobs {
		ids = append(ids, id)
	}
	sort.Strings(ids) // stable term order; the object itself is unordered
	items := make([][2]*ast.Term, 0, len(ids))
	for _, id := range ids {
		items = append(items, [2]*ast.Term{b.jobID(id), b.job(jobs[id], built)})
	}
	return b.term(ast.NewObject(items...))
}

func (b *builder) job(j *Job, built map[*Use]*ast.Term) *ast.Term {
	if j == nil {
		return ast.InternedNullTerm
	}
	use := func(u *Use) *ast.Term {
		if t, ok := built[u]; ok {
			return t
		}
		return b.optUse(u)
	}
	ro, h := j.RunsOn, j.HardenRunner
	steps := make([]*ast.Term, len(j.Steps))
	for i, s := range j.Steps {
		steps[i] = b.object(stepShape,
			intTerm(s.Index), b.str(s.ID), b.str(s.Name), intTerm(s.Line),
			use(s.Uses), boolean(s.Run), b.stringMap(s.With),
			enum(s.Control), optInt(s.ParallelGroup), boolean(s.Background), b.strings(s.Targets),
			b.script(s.Script), b.optStr(s.If), b.stringMap(s.Env), b.expressions(s.Expressions),
			b.lines(stepLinesShape, s.Lines.If, s.Lines.Env, s.Lines.With),
		)
	}
	return b.object(jobShape,
		b.str(j.Name),
		intTerm(j.Line),
		b.object(runsOnShape, b.strings(ro.Labels), b.optStr(ro.Group), boolean(ro.Dynamic), b.optStr(ro.Expression), b.runners(ro.Candidates)),
		b.optStr(j.Container),
		boolean(j.ContainerDynamic),
		b.services(j.Services),
		use(j.Uses),
		boolean(j.SecretsInherit),
		b.strings(j.Secrets),
		b.hardenRunner(h),
		b.array(steps),
		b.optStr(j.If),
		b.stringMap(j.Env),
		b.environment(j.Environment),
		b.concurrency(j.Concurrency),
		b.strings(j.Needs),
		b.stringMap(j.Outputs),
		b.scalar(j.TimeoutMinutes),
		b.jobPermissions(j.Permissions),
		b.stringMap(j.With),
		b.stringMap(j.SecretsMap),
		b.expressions(j.Expressions),
		b.lines(jobLinesShape, j.Lines.If, j.Lines.Env, j.Lines.Needs, j.Lines.Outputs, j.Lines.TimeoutMinutes, j.Lines.With, j.Lines.SecretsMap),
	)
}

// workflowFacts returns the values of a workflow's env, defaults,
// concurrency, permissions, on, expressions and lines, in workflowShape's
// order.
func (b *builder) workflowFacts(env map[string]string, d Defaults, c *Concurrency, p *Permissions, on map[string]*Trigger,
	exprs []Expression, lines WorkflowLines,
) []*ast.Term {
	perms := ast.InternedNullTerm
	if p != nil {
		perms = b.object(permissionsShape, b.scopeMap(p.Scopes), b.optEnum(p.All), intTerm(p.Line))
	}
	items := make([][2]*ast.Term, 0, len(on))
	for name, t := range on {
		v := ast.InternedNullTerm
		if t != nil {
			v = b.object(triggerShape,
				b.strings(t.Types), b.strings(t.Branches), b.strings(t.BranchesIgnore), b.strings(t.Tags),
				b.strings(t.TagsIgnore), b.strings(t.Paths), b.strings(t.PathsIgnore), b.strings(t.Workflows), intTerm(t.Line))
		}
		items = append(items, [2]*ast.Term{enum(name), v})
	}
	return []*ast.Term{
		b.stringMap(env),
		b.defaults(d),
		b.concurrency(c),
		perms,
		b.term(ast.NewObject(items...)),
		b.expressions(exprs),
		b.lines(workflowLinesShape, lines.Env, lines.Defaults),
	}
}

// lines returns a lines object (JobLines, …): the shape's key of each
// line given, in the order of the struct's fields, left out when 0 (as
// omitempty leaves it out of the JSON encoding).
func (b *builder) lines(s shape, lines ...int) *ast.Term {
	var buf [8][2]*ast.Term
	items := buf[:0]
	for i, line := range lines {
		if line != 0 {
			items = append(items, [2]*ast.Term{s[i], intTerm(line)})
		}
	}
	if len(items) == 0 {
		return ast.InternedEmptyObject
	}
	return b.term(ast.NewObject(items...))
}

// noDefaults is the defaults of a workflow without defaults.run.
var noDefaults = ast.NewTerm(defaultsShape.object(ast.InternedNullTerm, ast.InternedNullTerm))

func (b *builder) defaults(d Defaults) *ast.Term {
	if d == (Defaults{}) {
		return noDefaults
	}
	return b.object(defaultsShape, b.optStr(d.Shell), b.optStr(d.WorkingDirectory))
}

func (b *builder) concurrency(c *Concurrency) *ast.Term {
	if c == nil {
		return ast.InternedNullTerm
	}
	return b.object(concurrencyShape, b.str(c.Group), b.scalar(c.CancelInProgress), intTerm(c.Line))
}

func (b *builder) environment(e *Environment) *ast.Term {
	if e == nil {
		return ast.InternedNullTerm
	}
	return b.object(environmentShape, b.str(e.Name), b.optStr(e.URL), intTerm(e.Line))
}

// defaultPermissions are the permissions of a job when neither it nor
// the workflow declares any, most jobs.
var defaultPermissions = ast.NewTerm(jobPermissionsShape.object(
	enum(PermissionsDefault), ast.InternedNullTerm, ast.InternedNullTerm, ast.InternedNullTerm,
))

func (b *builder) jobPermissions(p JobPermissions) *ast.Term {
	if p.Source == PermissionsDefault && p.Scopes == nil && p.All == nil && p.Line == nil {
		return defaultPermissions
	}
	scopes := ast.InternedNullTerm
	if p.Scopes != nil {
		if !sameMap(p.Scopes, b.scopes) {
			b.scopes, b.scopesTerm = p.Scopes, b.scopeMap(p.Scopes)
		}
		scopes = b.scopesTerm
	}
	return b.object(jobPermissionsShape, enum(p.Source), scopes, b.optEnum(p.All), optInt(p.Line))
}

// scopeMap is stringMap for permission scopes, whose keys and values are
// all enumerated.
func (b *builder) scopeMap(m map[string]string) *ast.Term {
	if len(m) == 0 {
		return ast.InternedEmptyObject
	}
	items := make([][2]*ast.Term, 0, len(m))
	for k, v := range m {
		items = append(items, [2]*ast.Term{enum(k), enum(v)})
	}
	return b.term(ast.NewObject(items...))
}

func (b *builder) script(s *Script) *ast.Term {
	if s == nil {
		return ast.InternedNullTerm
	}
	return b.object(scriptShape, b.str(s.Text), boolean(s.Truncated), b.optStr(s.Shell), b.optStr(s.WorkingDirectory), intTerm(s.Line))
}

func (b *builder) expressions(es []Expression) *ast.Term {
	terms := make([]*ast.Term, len(es))
	for i, e := range es {
		terms[i] = b.object(expressionShape, b.field(e.Field), b.str(e.Text), b.strings(e.Contexts), intTerm(e.Line))
	}
	return b.array(terms)
}

// field returns the term of an Expression.Field: the fixed ones are
// enumerated.
func (b *builder) field(f string) *ast.Term {
	if t, ok := documentStrings[f]; ok {
		return t
	}
	return b.str(f)
}

// scalar returns the term of a value that is a JSON scalar of more than
// one type: nil, a bool, a string or a json.Number.
func (b *builder) scalar(v any) *ast.Term {
	switch v := v.(type) {
	case bool:
		return boolean(v)
	case string:
		return b.str(v)
	case json.Number:
		return b.term(ast.Number(v))
	}
	return ast.InternedNullTerm
}

func (b *builder) optEnum(s *string) *ast.Term {
	if s == nil {
		return ast.InternedNullTerm
	}
	return enum(*s)
}

func (b *builder) runners(rs []Runner) *ast.Term {
	terms := make([]*ast.Term, len(rs))
	for i, r := range rs {
		terms[i] = b.object(runnerShape, b.strings(r.Labels), b.optStr(r.Group))
	}
	return b.array(terms)
}

// services converts a job's services; nil becomes {} as in the JSON encoding.
func (b *builder) services(m map[string]*Service) *ast.Term {
	if len(m) == 0 {
		return ast.InternedEmptyObject
	}
	items := make([][2]*ast.Term, 0, len(m))
	for name, s := range m {
		v := ast.InternedNullTerm
		if s != nil {
			v = b.object(serviceShape, b.str(s.Image), intTerm(s.Line), boolean(s.Dynamic))
		}
		items = append(items, [2]*ast.Term{b.str(name), v})
	}
	return b.term(ast.NewObject(items...))
}

// noHardenRunner is the harden_runner of every job without it.
var noHardenRunner = ast.NewTerm(hardenRunnerShape.object(
	boolean(false), boolean(false), ast.InternedNullTerm, ast.InternedNullTerm, boolean(false),
))

func (b *builder) hardenRunner(h HardenRunner) *ast.Term {
	if h == (HardenRunner{}) {
		return noHardenRunner
	}
	return b.object(hardenRunnerShape, boolean(h.Present), boolean(h.FirstStep), optInt(h.Step), b.optStr(h.EgressPolicy), boolean(h.UsePolicyStore))
}

// jobID returns the term of a job id.
func (b *builder) jobID(id string) *ast.Term {
	if t, ok := b.jobIDs[id]; ok {
		return t
	}
	return b.str(id)
}

func (b *builder) optUse(u *Use) *ast.Term {
	if u == nil {
		return ast.InternedNullTerm
	}
	return b.use(u)
}

func (b *builder) use(u *Use) *ast.Term {
	name := b.str(u.Name)
	values := [...]*ast.Term{
		b.str(u.Raw), enum(u.Kind), name, b.str(u.Owner), b.str(u.Repo), b.str(u.Path),
		b.names(u.Names, u.Name, name), b.str(u.Ref), enum(u.RefType), boolean(u.Pinned), b.optStr(u.ResolvedSHA),
		b.jobID(u.Job), optInt(u.Step), intTerm(u.Line), enum(u.Source), b.strings(u.Via),
	}
	if u.Unresolved == "" && u.Impostor == nil && u.ImpostorUnverified == "" { // omitempty in JSON
		return b.object(useShape, values[:]...)
	}
	// The optional keys follow the fixed ones; only those set are added.
	obj := useShape.object(values[:]...)
	if u.Unresolved != "" {
		obj.Insert(useShape[len(values)], b.str(u.Unresolved))
	}
	if u.Impostor != nil {
		obj.Insert(useShape[len(values)+1], boolean(*u.Impostor))
	}
	if u.ImpostorUnverified != "" {
		obj.Insert(useShape[len(values)+2], b.str(u.ImpostorUnverified))
	}
	return b.term(obj)
}

// names is strings for a use's names, the first of which is usually its
// name already in lower case: that one shares the name's term.
func (b *builder) names(names []string, name string, nameTerm *ast.Term) *ast.Term {
	terms := make([]*ast.Term, len(names))
	for i, s := range names {
		if s == name {
			terms[i] = nameTerm
		} else {
			terms[i] = b.str(s)
		}
	}
	return b.array(terms)
}

func (b *builder) secrets(s Secrets) *ast.Term {
	refs := make([]*ast.Term, len(s.Refs))
	for i, r := range s.Refs {
		refs[i] = b.object(secretRefShape, b.str(r.Name), boolean(r.Bulk), b.jobID(r.Job), optInt(r.Step), enum(r.Context), intTerm(r.Line))
	}
	return b.object(secretsShape, b.strings(s.Names), boolean(s.Bulk), boolean(s.Inherit), b.array(refs))
}

func (b *builder) modifiedFiles(files []ModifiedFile) *ast.Term {
	terms := make([]*ast.Term, len(files))
	for i, f := range files {
		terms[i] = b.object(modifiedFileShape, b.str(f.Path), b.str(f.Uses), enum(f.Change), b.str(f.Reason), b.optStr(f.SHA256))
	}
	return b.array(terms)
}

func (b *builder) parseErrors(errs []ParseError) *ast.Term {
	terms := make([]*ast.Term, len(errs))
	for i, e := range errs {
		terms[i] = b.object(parseErrorShape, intTerm(e.Line), intTerm(e.Column), b.str(e.Message))
	}
	return b.array(terms)
}

func (b *builder) unmodeled(us []Unmodeled) *ast.Term {
	terms := make([]*ast.Term, len(us))
	for i, u := range us {
		terms[i] = b.object(unmodeledShape, b.jobID(u.Job), optInt(u.Step), intTerm(u.Line), b.str(u.Message))
	}
	return b.array(terms)
}

func (b *builder) workflowJob(j *WorkflowJob) *ast.Term {
	if j == nil {
		return ast.InternedNullTerm
	}
	return b.object(workflowJobShape, intTerm(j.ID), b.str(j.Name), b.strings(j.Labels), b.str(j.RunnerName), b.str(j.RunnerGroupName), b.str(j.Status))
}

func (b *builder) resolution(r *Resolution) *ast.Term {
	if r == nil {
		return ast.InternedNullTerm
	}
	return b.object(resolutionShape, boolean(r.Complete), intTerm(r.Fetches), b.strings(r.Limits))
}

// shape is the keys of one kind of object of the document, in the order
// its values are given, so that building an object looks up no key. A
// shape lists its JSON keys as the struct declares them:
// TestValueEqualsJSON fails when the two disagree.
type shape []*ast.Term

func newShape(keys ...string) shape {
	s := make(shape, len(keys))
	for i, k := range keys {
		s[i] = enum(k)
	}
	return s
}

// Shapes of the document's objects.
var (
	documentShape       = newShape("schema_version", "event", "repository", "run", "workflow", "jobs", "uses", "runner_labels", "secrets", "workflow_job", "resolution", "approvals")
	eventShape          = newShape("name", "action", "delivery_id")
	repositoryShape     = newShape("full_name", "owner", "name", "default_branch", "visibility", "fork")
	runShape            = newShape("id", "attempt", "number", "event", "branch", "head_sha", "is_default_branch", "actor", "triggering_actor", "head_repository", "from_fork", "pull_requests")
	workflowShape       = newShape("path", "name", "triggers", "sha256", "default_branch_sha256", "modified", "modified_files", "parse_errors", "unmodeled", "env", "defaults", "concurrency", "permissions", "on", "expressions", "lines")
	defaultsShape       = newShape("shell", "working_directory")
	concurrencyShape    = newShape("group", "cancel_in_progress", "line")
	permissionsShape    = newShape("scopes", "all", "line")
	triggerShape        = newShape("types", "branches", "branches_ignore", "tags", "tags_ignore", "paths", "paths_ignore", "workflows", "line")
	environmentShape    = newShape("name", "url", "line")
	scriptShape         = newShape("text", "truncated", "shell", "working_directory", "line")
	expressionShape     = newShape("field", "text", "contexts", "line")
	jobPermissionsShape = newShape("source", "scopes", "all", "line")
	modifiedFileShape   = newShape("path", "uses", "change", "reason", "sha256")
	parseErrorShape     = newShape("line", "column", "message")
	unmodeledShape      = newShape("job", "step", "line", "message")
	jobShape            = newShape("name", "line", "runs_on", "container", "container_dynamic", "services", "uses", "secrets_inherit", "secrets", "harden_runner", "steps",
		"if", "env", "environment", "concurrency", "needs", "outputs", "timeout_minutes", "permissions", "with", "secrets_map", "expressions", "lines")
	runsOnShape       = newShape("labels", "group", "dynamic", "expression", "candidates")
	runnerShape       = newShape("labels", "group")
	serviceShape      = newShape("image", "line", "dynamic")
	hardenRunnerShape = newShape("present", "first_step", "step", "egress_policy", "use_policy_store")
	stepShape         = newShape("index", "id", "name", "line", "uses", "run", "with", "control", "parallel_group", "background", "targets", "script", "if", "env", "expressions", "lines")
	useShape          = newShape("raw", "kind", "name", "owner", "repo", "path", "names", "ref", "ref_type", "pinned", "resolved_sha", "job", "step", "line", "source", "via", "unresolved", "impostor", "impostor_unverified")
	secretsShape      = newShape("names", "bulk", "inherit", "refs")
	secretRefShape    = newShape("name", "bulk", "job", "step", "context", "line")
	workflowJobShape  = newShape("id", "name", "labels", "runner_name", "runner_group_name", "status")
	resolutionShape   = newShape("complete", "fetches", "limits")

	workflowLinesShape = newShape("env", "defaults")
	jobLinesShape      = newShape("if", "env", "needs", "outputs", "timeout_minutes", "with", "secrets_map")
	stepLinesShape     = newShape("if", "env", "with")
)

// object returns the object with the shape's first len(values) keys.
func (s shape) object(values ...*ast.Term) ast.Object {
	var buf [24][2]*ast.Term // no object of the document has more keys
	items := buf[:0]
	for i, v := range values {
		items = append(items, [2]*ast.Term{s[i], v})
	}
	return ast.NewObject(items...)
}

// array returns the array of terms; nil and empty become [] as in the JSON
// encoding of a Document, where every slice is non-nil.
func (b *builder) array(terms []*ast.Term) *ast.Term {
	if len(terms) == 0 {
		return ast.InternedEmptyArray
	}
	return b.term(ast.NewArray(terms...))
}

// documentStrings are the terms of the document's keys and enumerated
// values, built once and never modified.
var documentStrings = func() map[string]*ast.Term {
	m := map[string]*ast.Term{}
	for _, s := range append(jsonKeys(reflect.TypeFor[Document](), nil),
		"", KindAction, KindReusableWorkflow, KindDocker, KindLocal, RefSHA, RefTagOrBranch, RefNone,
		ControlParallel, ControlWait, ControlWaitAll, ControlCancel,
		SourceStep, SourceJob, SourceContainer, SourceService,
		CtxEnv, CtxWith, CtxRun, CtxIf, CtxSecrets, CtxCredentials, CtxOther,
		ChangeDiffers, ChangeNew, ChangeUnknown,
		PermissionsJob, PermissionsWorkflow, PermissionsDefault,
		PermissionRead, PermissionWrite, PermissionNone, PermissionReadAll, PermissionWriteAll,
		"run", "if", "name", "uses", "shell", "working-directory", "runs-on", "container", "environment", "concurrency",
		"strategy", "timeout-minutes", "continue-on-error", "with.args", "with.entrypoint") {
		m[s] = ast.StringTerm(s)
	}
	for _, s := range PermissionScopes {
		m[s] = ast.StringTerm(s)
	}
	return m
}()

// jsonKeys appends the JSON keys of the struct types reachable from t.
func jsonKeys(t reflect.Type, keys []string) []string {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		return jsonKeys(t.Elem(), keys)
	case reflect.Struct:
		for f := range t.Fields() {
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
				keys = append(keys, name)
				keys = jsonKeys(f.Type, keys)
			}
		}
	}
	return keys
}

// enum returns the term of a key or an enumerated value of the document,
// built once and shared; a step's inputs are often named like keys (name,
// path).
func enum(s string) *ast.Term {
	if t, ok := documentStrings[s]; ok {
		return t
	}
	return ast.StringTerm(s)
}

// str returns the term of a string value.
func (b *builder) str(s string) *ast.Term {
	if s == "" {
		return ast.InternedEmptyString
	}
	return b.term(ast.String(s))
}

// stringMap converts a string map; nil becomes {} as in the JSON encoding.
func (b *builder) stringMap(m map[string]string) *ast.Term {
	if len(m) == 0 {
		return ast.InternedEmptyObject
	}
	var buf [8][2]*ast.Term // most steps have few inputs
	items := buf[:0]
	for k, v := range m {
		items = append(items, [2]*ast.Term{enum(k), b.str(v)})
	}
	return b.term(ast.NewObject(items...))
}

func boolean(b bool) *ast.Term { return ast.InternedTerm(b) }

func intTerm[T int | int64](i T) *ast.Term { return ast.InternedTerm(i) }

func (b *builder) optStr(s *string) *ast.Term {
	if s == nil {
		return ast.InternedNullTerm
	}
	return b.str(*s)
}

func optInt(i *int) *ast.Term {
	if i == nil {
		return ast.InternedNullTerm
	}
	return intTerm(*i)
}

func (b *builder) strings(ss []string) *ast.Term {
	terms := make([]*ast.Term, len(ss))
	for i, s := range ss {
		terms[i] = b.str(s)
	}
	return b.array(terms)
}

func (b *builder) ints(is []int) *ast.Term {
	terms := make([]*ast.Term, len(is))
	for i, n := range is {
		terms[i] = intTerm(n)
	}
	return b.array(terms)
}

// sameSlice reports whether a and b are the same slice (same backing array
// and length), so a cached value of b also describes a.
func sameSlice[T any](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	return len(a) == 0 || &a[0] == &b[0]
}

// sameMap reports whether a and b are the same map.
func sameMap[K comparable, V any](a, b map[K]V) bool {
	return len(a) == len(b) && reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
