package input

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
)

// viaJSON is the value OPA makes of the document's JSON encoding: what
// Value must equal.
func viaJSON(t testing.TB, d *Document) ast.Value {
	t.Helper()
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := util.UnmarshalJSON(data, &v); err != nil {
		t.Fatal(err)
	}
	value, err := ast.InterfaceToValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return value
}

// contexts are run contexts that exercise every field Value writes.
func contexts(t testing.TB) map[string]Context {
	t.Helper()
	sum := "0000000000000000000000000000000000000000000000000000000000000000"
	c := map[string]Context{
		"local":        LocalContext("ci.yml"),
		"zero context": {},
		"known default branch copy": {
			Event:               Event{Name: "workflow_run", Action: "requested", DeliveryID: "d-1"},
			Run:                 Run{ID: 1 << 40, Attempt: 2, Number: 1000, PullRequests: []int{1, 2}},
			DefaultBranchKnown:  true,
			DefaultBranchSHA256: &sum,
			WorkflowJob:         &WorkflowJob{ID: 7, Name: "build", Labels: []string{"self-hosted"}, Status: "queued"},
		},
	}
	for _, name := range []string{"workflow_run.completed.with-pull-requests.json", "workflow_job.queued.with-deployment.json"} {
		payload, err := os.ReadFile(filepath.Join(corpus, "payloads", name))
		if err != nil {
			t.Fatal(err)
		}
		ctx, err := ParseEvent(payload)
		if err != nil {
			t.Fatal(err)
		}
		c[name] = ctx
	}
	return c
}

// TestValueEqualsJSON proves Value builds the same OPA value as converting
// the JSON encoding, for every corpus workflow and golden test workflow.
func TestValueEqualsJSON(t *testing.T) {
	files := append(corpusFiles(t), goldens...)
	ctxs := contexts(t)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f := parseFile(t, path)
			for name, c := range ctxs {
				d := Build(f, c)
				if got, want := d.Value(), viaJSON(t, d); got.Compare(want) != 0 {
					t.Errorf("%s: Value() differs from the JSON encoding:\n got: %v\nwant: %v", name, got, want)
				}
			}
		})
	}
}

// TestValueAfterChange checks that Value does not serve cached facts for
// parts a caller (the resolver) replaced in the document.
func TestValueAfterChange(t *testing.T) {
	f := parseFile(t, filepath.Join(corpus, "workflows", "ossf__scorecard__goreleaser.yaml"))
	d := Build(f, LocalContext("g.yml"))
	_ = d.Value() // fill the cache

	sha := "ea584f4502babc6f60d9bc799dbbb13c1caa9ee6"
	uses := append([]Use{}, d.Uses...)
	uses[0].ResolvedSHA = &sha
	uses = append(uses, Use{Raw: "actions/checkout@v4", Kind: KindAction, Names: []string{}, Via: []string{"x/y@v1"}, Unresolved: "private repository"})
	impostor, reachable := true, false
	uses = append(uses,
		Use{Raw: "actions/checkout@" + sha, Kind: KindAction, Names: []string{}, Via: []string{}, Impostor: &impostor},
		Use{Raw: "actions/cache@" + sha, Kind: KindAction, Names: []string{}, Via: []string{}, Impostor: &reachable},
		Use{Raw: "acme/x@" + sha, Kind: KindAction, Names: []string{}, Via: []string{}, ImpostorUnverified: "call cap"},
		Use{Raw: "acme/y@" + sha, Kind: KindAction, Names: []string{}, Via: []string{}, Unresolved: "private", ImpostorUnverified: "private"})
	d.Uses = uses
	jobs := map[string]*Job{}
	for id, j := range d.Jobs {
		jobs[id] = j
	}
	timeout := json.Number("30")
	jobs["extra"] = &Job{
		Name: "extra", Steps: []Step{}, Secrets: []string{}, RunsOn: RunsOn{Labels: []string{}, Candidates: []Runner{}}, Services: map[string]*Service{},
		Env: map[string]string{"A": "b"}, Needs: []string{"x"}, Outputs: map[string]string{}, With: map[string]string{}, SecretsMap: map[string]string{},
		TimeoutMinutes: timeout, Expressions: []Expression{{Field: "if", Text: "x", Contexts: []string{"github.sha"}, Line: 1}},
		Permissions: JobPermissions{Source: PermissionsDefault}, Concurrency: &Concurrency{Group: "g", CancelInProgress: "${{ x }}", Line: 2},
	}
	d.Jobs = jobs
	d.Workflow.Env = map[string]string{"CHANGED": "1"}
	d.Workflow.Permissions = &Permissions{Scopes: map[string]string{"contents": PermissionWrite}, Line: 3}
	d.Workflow.On = map[string]*Trigger{"push": {Types: []string{}, Branches: []string{"main"}, BranchesIgnore: []string{}, Tags: []string{},
		TagsIgnore: []string{}, Paths: []string{}, PathsIgnore: []string{}, Workflows: []string{}, Line: 4}}
	d.RunnerLabels = []string{"changed"}
	d.Secrets.Bulk = true
	d.Workflow.Triggers = []string{"changed"}
	d.Workflow.ParseErrors = []ParseError{{Line: 1, Column: 1, Message: "changed"}}
	d.Resolution = &Resolution{Complete: false, Fetches: 3, Limits: []string{"depth"}}
	digest := "0000000000000000000000000000000000000000000000000000000000000000"
	d.Workflow.Modified = true
	d.Workflow.ModifiedFiles = append(d.Workflow.ModifiedFiles,
		ModifiedFile{Path: ".github/workflows/reusable.yml", Uses: "./.github/workflows/reusable.yml", Change: ChangeDiffers, SHA256: &digest},
		ModifiedFile{Path: ".github/actions/x", Uses: "$/.github/actions/x", Change: ChangeUnknown, Reason: "unreadable at the head commit: not found"})

	if got, want := d.Value(), viaJSON(t, d); got.Compare(want) != 0 {
		t.Errorf("Value() after change differs from the JSON encoding:\n got: %v\nwant: %v", got, want)
	}
	// A changed copy of the Facts shares the cache pointer but not its values.
	copied := *f
	copied.RunnerLabels = append([]string{}, "copied")
	d2 := Build(&copied, LocalContext("g.yml"))
	if got, want := d2.Value(), viaJSON(t, d2); got.Compare(want) != 0 {
		t.Errorf("Value() of a changed Facts copy differs from the JSON encoding:\n got: %v\nwant: %v", got, want)
	}
	// The facts themselves are untouched, and so is a fresh document.
	if got, want := Build(f, LocalContext("g.yml")).Value(), viaJSON(t, Build(f, LocalContext("g.yml"))); got.Compare(want) != 0 {
		t.Errorf("fresh document differs after another document changed")
	}
}

func BenchmarkBuildValue(b *testing.B) {
	f := parseFile(b, filepath.Join(corpus, "workflows", "ossf__scorecard__main.yml"))
	payload, err := os.ReadFile(filepath.Join(corpus, "payloads", "workflow_run.requested.json"))
	if err != nil {
		b.Fatal(err)
	}
	c, err := ParseEvent(payload)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cached facts", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Build(f, c).Value()
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := Build(f, c)
			d.facts = nil
			_ = d.Value()
		}
	})
	b.Run("via JSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = viaJSON(b, Build(f, c))
		}
	})
}

// TestValueConcurrent builds values of many runs of the same Facts at once,
// as the server does; run with -race.
func TestValueConcurrent(t *testing.T) {
	f := parseFile(t, filepath.Join(corpus, "workflows", "hashicorp__vault__ci.yml"))
	want := viaJSON(t, Build(f, LocalContext("ci.yml")))
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			if got := Build(f, LocalContext("ci.yml")).Value(); got.Compare(want) != 0 {
				errs <- "concurrent Value() differs from the JSON encoding"
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestValueSharesUses checks that a step's uses is the very term of its
// entry in the uses list: built once, not twice.
func TestValueSharesUses(t *testing.T) {
	f := parseFile(t, filepath.Join(corpus, "workflows", "google__osv-scanner-action__osv-scanner-reusable.yml"))
	doc := Build(f, LocalContext("ci.yml")).Value().(ast.Object)
	get := func(o ast.Value, key string) ast.Value { return o.(ast.Object).Get(ast.StringTerm(key)).Value }
	uses := get(doc, "uses").(*ast.Array)
	steps := get(get(get(doc, "jobs"), "osv-scan"), "steps").(*ast.Array)
	if steps.Len() != 6 || uses.Len() != 6 {
		t.Fatalf("%d steps and %d uses, want 6 of each", steps.Len(), uses.Len())
	}
	for i := range steps.Len() {
		if got := steps.Elem(i).Value.(ast.Object).Get(ast.StringTerm("uses")); got != uses.Elem(i) {
			t.Errorf("step %d: its uses is another term than uses[%d]", i, i)
		}
	}
}

// TestValueWithApprovals: input.approvals is in the value as in the JSON,
// and absent from both when there is none.
func TestValueWithApprovals(t *testing.T) {
	f := parseFile(t, filepath.Join(corpus, "workflows", "ossf__scorecard__goreleaser.yaml"))
	d := Build(f, LocalContext("g.yml"))
	if d.Value().(ast.Object).Get(ast.StringTerm("approvals")) != nil {
		t.Fatal("approvals in the value of a document without any")
	}
	d.Approvals = []Approval{{ID: "d-1", WorkflowPath: "g.yml", Files: map[string]string{"g.yml": "ab"},
		Policies: []string{"secret_exfiltration"}, Approver: "mona", CreatedAt: "2026-01-02T03:04:05Z"}}
	if got, want := d.Value(), viaJSON(t, d); got.Compare(want) != 0 {
		t.Errorf("Value() differs from the JSON encoding:\n got: %v\nwant: %v", got, want)
	}
}
