package input

import (
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

	jobs := func() *ast.Term {
		if cached != nil && sameMap(d.Jobs, f.Jobs) {
			return cached.jobs
		}
		return jobsTerm(d.Jobs)
	}
	uses := func() *ast.Term {
		if cached != nil && sameSlice(d.Uses, f.Uses) {
			return cached.uses
		}
		return usesTerm(d.Uses)
	}
	labels := func() *ast.Term {
		if cached != nil && sameSlice(d.RunnerLabels, f.RunnerLabels) {
			return cached.runnerLabels
		}
		return stringsTerm(d.RunnerLabels)
	}
	secrets := func() *ast.Term {
		s, fs := d.Secrets, Secrets{}
		if f != nil {
			fs = f.Secrets
		}
		if cached != nil && s.Bulk == fs.Bulk && s.Inherit == fs.Inherit && sameSlice(s.Names, fs.Names) && sameSlice(s.Refs, fs.Refs) {
			return cached.secrets
		}
		return secretsTerm(s)
	}
	triggers := func() *ast.Term {
		if cached != nil && sameSlice(d.Workflow.Triggers, f.Triggers) {
			return cached.triggers
		}
		return stringsTerm(d.Workflow.Triggers)
	}
	parseErrors := func() *ast.Term {
		if cached != nil && sameSlice(d.Workflow.ParseErrors, f.ParseErrors) {
			return cached.parseErrors
		}
		return parseErrorsTerm(d.Workflow.ParseErrors)
	}

	e, r, run, w := d.Event, d.Repository, d.Run, d.Workflow
	return ast.NewObject(
		item("schema_version", intTerm(d.SchemaVersion)),
		item("event", obj(
			item("name", str(e.Name)),
			item("action", str(e.Action)),
			item("delivery_id", str(e.DeliveryID)),
		)),
		item("repository", obj(
			item("full_name", str(r.FullName)),
			item("owner", str(r.Owner)),
			item("name", str(r.Name)),
			item("default_branch", str(r.DefaultBranch)),
			item("visibility", str(r.Visibility)),
			item("fork", boolean(r.Fork)),
		)),
		item("run", obj(
			item("id", intTerm(run.ID)),
			item("attempt", intTerm(run.Attempt)),
			item("number", intTerm(run.Number)),
			item("event", str(run.Event)),
			item("branch", str(run.Branch)),
			item("head_sha", str(run.HeadSHA)),
			item("is_default_branch", boolean(run.IsDefaultBranch)),
			item("actor", str(run.Actor)),
			item("triggering_actor", str(run.TriggeringActor)),
			item("head_repository", str(run.HeadRepository)),
			item("from_fork", boolean(run.FromFork)),
			item("pull_requests", intsTerm(run.PullRequests)),
		)),
		item("workflow", obj(
			item("path", str(w.Path)),
			item("name", str(w.Name)),
			item("triggers", triggers()),
			item("sha256", str(w.SHA256)),
			item("default_branch_sha256", optStr(w.DefaultBranchSHA256)),
			item("modified", boolean(w.Modified)),
			item("parse_errors", parseErrors()),
		)),
		item("jobs", jobs()),
		item("uses", uses()),
		item("runner_labels", labels()),
		item("secrets", secrets()),
		item("workflow_job", workflowJobTerm(d.WorkflowJob)),
		item("resolution", resolutionTerm(d.Resolution)),
	)
}

// lazyValue holds the OPA values of a Facts. Facts never change after
// Parse, and OPA values are safe for concurrent reads, so one copy serves
// every run of the same file.
type lazyValue struct {
	// owner is the Facts the values describe. A copy of the Facts struct
	// shares the pointer to this cache but is not its owner, so it is never
	// served values of fields it may have changed.
	owner                                                    *Facts
	once                                                     sync.Once
	jobs, uses, runnerLabels, secrets, triggers, parseErrors *ast.Term
}

func (f *Facts) terms() *lazyValue {
	f.lazy.once.Do(func() {
		uses := make([]*ast.Term, len(f.Uses))
		direct := make(map[stepKey]*ast.Term, len(f.Uses))
		for i := range f.Uses {
			u := &f.Uses[i]
			uses[i] = useTerm(u)
			if len(u.Via) == 0 {
				at := stepKey{job: u.Job, step: -1}
				if u.Step != nil {
					at.step = *u.Step
				}
				direct[at] = uses[i]
			}
		}
		// Parse puts each step's and job's uses in the list too: their
		// values are shared rather than built twice.
		f.lazy.jobs = jobsTermShared(f.Jobs, direct)
		f.lazy.uses = arr(uses)
		f.lazy.runnerLabels = stringsTerm(f.RunnerLabels)
		f.lazy.secrets = secretsTerm(f.Secrets)
		f.lazy.triggers = stringsTerm(f.Triggers)
		f.lazy.parseErrors = parseErrorsTerm(f.ParseErrors)
	})
	return f.lazy
}

func jobsTerm(jobs map[string]*Job) *ast.Term { return jobsTermShared(jobs, nil) }

// stepKey names a step of a job, -1 for the job itself.
type stepKey struct {
	job  string
	step int
}

// jobsTermShared builds the jobs, taking the value of a step's or a job's
// uses from shared, keyed by job id and step index (-1 for the job).
func jobsTermShared(jobs map[string]*Job, shared map[stepKey]*ast.Term) *ast.Term {
	ids := make([]string, 0, len(jobs))
	for id := range jobs {
		ids = append(ids, id)
	}
	sort.Strings(ids) // stable term order; the object itself is unordered
	items := make([][2]*ast.Term, 0, len(ids))
	for _, id := range ids {
		items = append(items, [2]*ast.Term{ast.StringTerm(id), jobTerm(id, jobs[id], shared)})
	}
	return obj(items...)
}

func jobTerm(id string, j *Job, shared map[stepKey]*ast.Term) *ast.Term {
	if j == nil {
		return ast.InternedNullTerm
	}
	use := func(u *Use, step int) *ast.Term {
		if t, ok := shared[stepKey{job: id, step: step}]; ok && u != nil {
			return t
		}
		return optUse(u)
	}
	ro, h := j.RunsOn, j.HardenRunner
	steps := make([]*ast.Term, len(j.Steps))
	for i, s := range j.Steps {
		steps[i] = obj(
			item("index", intTerm(s.Index)),
			item("id", str(s.ID)),
			item("name", str(s.Name)),
			item("line", intTerm(s.Line)),
			item("uses", use(s.Uses, s.Index)),
			item("run", boolean(s.Run)),
			item("with", stringMap(s.With)),
		)
	}
	return obj(
		item("name", str(j.Name)),
		item("line", intTerm(j.Line)),
		item("runs_on", obj(
			item("labels", stringsTerm(ro.Labels)),
			item("group", optStr(ro.Group)),
			item("dynamic", boolean(ro.Dynamic)),
			item("expression", optStr(ro.Expression)),
		)),
		item("container", optStr(j.Container)),
		item("uses", use(j.Uses, -1)),
		item("secrets_inherit", boolean(j.SecretsInherit)),
		item("secrets", stringsTerm(j.Secrets)),
		item("harden_runner", obj(
			item("present", boolean(h.Present)),
			item("first_step", boolean(h.FirstStep)),
			item("step", optInt(h.Step)),
			item("egress_policy", optStr(h.EgressPolicy)),
			item("use_policy_store", boolean(h.UsePolicyStore)),
		)),
		item("steps", arr(steps)),
	)
}

func usesTerm(uses []Use) *ast.Term {
	terms := make([]*ast.Term, len(uses))
	for i := range uses {
		terms[i] = useTerm(&uses[i])
	}
	return arr(terms)
}

func optUse(u *Use) *ast.Term {
	if u == nil {
		return ast.InternedNullTerm
	}
	return useTerm(u)
}

func useTerm(u *Use) *ast.Term {
	items := make([][2]*ast.Term, 0, 16)
	items = append(items,
		item("raw", str(u.Raw)),
		item("kind", enum(u.Kind)),
		item("name", str(u.Name)),
		item("owner", str(u.Owner)),
		item("repo", str(u.Repo)),
		item("path", str(u.Path)),
		item("names", stringsTerm(u.Names)),
		item("ref", str(u.Ref)),
		item("ref_type", enum(u.RefType)),
		item("pinned", boolean(u.Pinned)),
		item("resolved_sha", optStr(u.ResolvedSHA)),
		item("job", str(u.Job)),
		item("step", optInt(u.Step)),
		item("line", intTerm(u.Line)),
		item("via", stringsTerm(u.Via)),
	)
	if u.Unresolved != "" { // omitempty in JSON
		items = append(items, item("unresolved", str(u.Unresolved)))
	}
	return obj(items...)
}

func secretsTerm(s Secrets) *ast.Term {
	refs := make([]*ast.Term, len(s.Refs))
	for i, r := range s.Refs {
		refs[i] = obj(
			item("name", str(r.Name)),
			item("bulk", boolean(r.Bulk)),
			item("job", str(r.Job)),
			item("step", optInt(r.Step)),
			item("context", enum(r.Context)),
			item("line", intTerm(r.Line)),
		)
	}
	return obj(
		item("names", stringsTerm(s.Names)),
		item("bulk", boolean(s.Bulk)),
		item("inherit", boolean(s.Inherit)),
		item("refs", arr(refs)),
	)
}

func parseErrorsTerm(errs []ParseError) *ast.Term {
	terms := make([]*ast.Term, len(errs))
	for i, e := range errs {
		terms[i] = obj(
			item("line", intTerm(e.Line)),
			item("column", intTerm(e.Column)),
			item("message", str(e.Message)),
		)
	}
	return arr(terms)
}

func workflowJobTerm(j *WorkflowJob) *ast.Term {
	if j == nil {
		return ast.InternedNullTerm
	}
	return obj(
		item("id", intTerm(j.ID)),
		item("name", str(j.Name)),
		item("labels", stringsTerm(j.Labels)),
		item("runner_name", str(j.RunnerName)),
		item("runner_group_name", str(j.RunnerGroupName)),
		item("status", str(j.Status)),
	)
}

func resolutionTerm(r *Resolution) *ast.Term {
	if r == nil {
		return ast.InternedNullTerm
	}
	return obj(
		item("complete", boolean(r.Complete)),
		item("fetches", intTerm(r.Fetches)),
		item("limits", stringsTerm(r.Limits)),
	)
}

// Small constructors. A nil slice becomes [] as in the JSON encoding of a
// Document, where every slice is non-nil.

func item(key string, value *ast.Term) [2]*ast.Term {
	return [2]*ast.Term{enum(key), value}
}

func obj(items ...[2]*ast.Term) *ast.Term { return ast.NewTerm(ast.NewObject(items...)) }

func arr(terms []*ast.Term) *ast.Term {
	if len(terms) == 0 {
		return ast.InternedEmptyArray
	}
	return ast.NewTerm(ast.NewArray(terms...))
}

// documentStrings are the terms of the document's keys and enumerated
// values, built once and never modified.
var documentStrings = func() map[string]*ast.Term {
	m := map[string]*ast.Term{}
	for _, s := range append(jsonKeys(reflect.TypeFor[Document](), nil),
		"", KindAction, KindReusableWorkflow, KindDocker, KindLocal, RefSHA, RefTagOrBranch, RefNone,
		CtxEnv, CtxWith, CtxRun, CtxIf, CtxSecrets, CtxCredentials, CtxOther) {
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
// shared: each saves two allocations, and most strings of a document are
// keys.
func enum(s string) *ast.Term {
	if t, ok := documentStrings[s]; ok {
		return t
	}
	return ast.StringTerm(s)
}

// str returns the term of a string value.
func str(s string) *ast.Term {
	if s == "" {
		return ast.InternedEmptyString
	}
	return ast.StringTerm(s)
}

// stringMap converts a string map; nil becomes {} as in the JSON encoding.
func stringMap(m map[string]string) *ast.Term {
	if len(m) == 0 {
		return ast.InternedEmptyObject
	}
	items := make([][2]*ast.Term, 0, len(m))
	for k, v := range m {
		items = append(items, item(k, str(v)))
	}
	return ast.ObjectTerm(items...)
}

func boolean(b bool) *ast.Term { return ast.InternedTerm(b) }

func intTerm[T int | int64](i T) *ast.Term { return ast.InternedTerm(i) }

func optStr(s *string) *ast.Term {
	if s == nil {
		return ast.InternedNullTerm
	}
	return str(*s)
}

func optInt(i *int) *ast.Term {
	if i == nil {
		return ast.InternedNullTerm
	}
	return intTerm(*i)
}

func stringsTerm(ss []string) *ast.Term {
	terms := make([]*ast.Term, len(ss))
	for i, s := range ss {
		terms[i] = str(s)
	}
	return arr(terms)
}

func intsTerm(is []int) *ast.Term {
	terms := make([]*ast.Term, len(is))
	for i, n := range is {
		terms[i] = intTerm(n)
	}
	return arr(terms)
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
