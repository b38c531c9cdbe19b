package input

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

func mustParse(t *testing.T, src string) *Facts {
	t.Helper()
	f, err := Parse("test.yml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

// A step inside a parallel block is judged like a serial one: its uses is
// in the list with its job, flat index and line, its inputs and secrets
// are read, and the block's own step is a control with no exec.
func TestParallelStepsAreNormalizedLikeSerialOnes(t *testing.T) {
	f := mustParse(t, `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - parallel:
          - uses: step-security/harden-runner@v2
          - id: changed
            uses: tj-actions/changed-files@v44
            with:
              token: ${{ secrets.NPM_TOKEN }}
      - run: echo ${{ secrets.AFTER }}
`)
	job := f.Jobs["build"]
	if len(job.Steps) != 4 {
		t.Fatalf("got %d steps, want the block, its two steps and the last: %+v", len(job.Steps), job.Steps)
	}
	block, changed, after := job.Steps[0], job.Steps[2], job.Steps[3]
	if block.Control != ControlParallel || block.Uses != nil || block.Run || block.ParallelGroup != nil {
		t.Errorf("block = %+v, want a parallel control step", block)
	}
	if changed.Index != 2 || changed.ID != "changed" || changed.ParallelGroup == nil || *changed.ParallelGroup != 0 || changed.With["token"] != "${{ secrets.NPM_TOKEN }}" {
		t.Errorf("nested step = %+v, want index 2, id changed, group 0, its with:", changed)
	}
	if after.Index != 3 || after.ParallelGroup != nil || !after.Run {
		t.Errorf("step after the block = %+v, want a serial run step at index 3", after)
	}
	u := changed.Uses
	if u == nil || u.Name != "tj-actions/changed-files" || u.Job != "build" || u.Step == nil || *u.Step != 2 || u.Line != 9 {
		t.Fatalf("nested uses = %+v, want tj-actions/changed-files in build, step 2, line 9", u)
	}
	if &f.Uses[1] != u {
		t.Error("the step's uses does not point into the uses list")
	}
	var refs []string
	for _, r := range f.Secrets.Refs {
		refs = append(refs, r.Name+"@"+r.Context+":"+strings.Repeat("I", *r.Step))
	}
	if want := []string{"NPM_TOKEN@with:II", "AFTER@run:III"}; !slices.Equal(refs, want) {
		t.Errorf("secret refs (name@context:step) = %v, want %v", refs, want)
	}
	if !slices.Equal(job.Secrets, []string{"AFTER", "NPM_TOKEN"}) {
		t.Errorf("job secrets = %v", job.Secrets)
	}
	h := job.HardenRunner
	if !h.Present || h.FirstStep || h.Step == nil || *h.Step != 1 {
		t.Errorf("harden_runner = %+v, want present at step 1, not first: it starts with its siblings", h)
	}
	if len(f.ParseErrors) != 0 || len(f.Unmodeled) != 0 {
		t.Errorf("parse errors %+v, unmodeled %+v: want none for valid parallel steps", f.ParseErrors, f.Unmodeled)
	}
}

// harden-runner is first only when it runs before anything else.
func TestHardenRunnerFirstStep(t *testing.T) {
	tests := []struct {
		name  string
		steps string
		first bool
	}{
		{"serial step 0", "      - uses: step-security/harden-runner@v2\n      - parallel:\n          - run: a\n", true},
		{"in a leading parallel block", "      - parallel:\n          - uses: step-security/harden-runner@v2\n          - run: a\n", false},
		{"in the background", "      - uses: step-security/harden-runner@v2\n        background: true\n      - run: a\n", false},
		{"background: false", "      - uses: step-security/harden-runner@v2\n        background: false\n      - run: a\n", true},
		{"second", "      - run: a\n      - uses: step-security/harden-runner@v2\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n"+tt.steps)
			if h := f.Jobs["j"].HardenRunner; !h.Present || h.FirstStep != tt.first {
				t.Errorf("harden_runner = %+v, want present, first_step %v", h, tt.first)
			}
		})
	}
}

// Control steps are modeled: no unmodeled finding, no parse error, the
// ids they name kept.
func TestControlSteps(t *testing.T) {
	f := mustParse(t, `on: push
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - id: a
        run: serve
        background: true
      - wait: a
      - wait: [a, b]
      - wait-all:
      - cancel: a
`)
	got := []string{}
	for _, s := range f.Jobs["j"].Steps {
		got = append(got, s.Control+"("+strings.Join(s.Targets, ",")+")")
	}
	if want := []string{"()", "wait(a)", "wait(a,b)", "wait-all()", "cancel(a)"}; !slices.Equal(got, want) {
		t.Errorf("controls = %v, want %v", got, want)
	}
	if !f.Jobs["j"].Steps[0].Background {
		t.Error("background: true not read")
	}
	g := mustParse(t, `on: push
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - id: a
        run: serve
        background: ${{ secrets.BG != '' }}
      - wait: ${{ secrets.WAIT }}
      - parallel: ${{ secrets.BLOCK }}
`)
	var refs []string
	for _, r := range g.Secrets.Refs {
		refs = append(refs, fmt.Sprintf("%s@%d:%d", r.Name, *r.Step, r.Line))
	}
	if want := []string{"BG@0:8", "WAIT@1:9", "BLOCK@2:10"}; !slices.Equal(refs, want) {
		t.Errorf("secret refs (name@step:line) = %v, want %v", refs, want)
	}
	if len(f.ParseErrors) != 0 || len(f.Unmodeled) != 0 {
		t.Errorf("parse errors %+v, unmodeled %+v: want none", f.ParseErrors, f.Unmodeled)
	}
}

// Every shape the normalizer cannot model is reported, and what it holds
// is still read.
func TestUnmodeledShapes(t *testing.T) {
	tests := []struct {
		name    string
		steps   string
		message string
		uses    []string
	}{
		{"step without exec", "      - name: x\n        sleep: 1\n", "step has neither uses, run nor", nil},
		{"parallel mapping", "      - parallel:\n          uses: evil/a@v1\n", "parallel is a mapping, not a list of steps", []string{"evil/a@v1"}},
		{"parallel expression", "      - parallel: ${{ inputs.steps }}\n", "parallel is a scalar, not a list of steps", nil},
		{"parallel entry not a step", "      - parallel:\n          - evil/a@v1\n", "parallel block entry is a scalar, not a step", nil},
		{"nested parallel", "      - parallel:\n          - parallel:\n              - uses: evil/a@v1\n", "parallel block inside a parallel block", []string{"evil/a@v1"}},
		{"control and exec", "      - wait: x\n        uses: evil/a@v1\n", "step has both wait and uses or run", []string{"evil/a@v1"}},
		{"two controls", "      - wait: x\n        cancel: y\n", "step has wait and cancel", nil},
		{"unknown step key holding steps", "      - uses: actions/checkout@v4\n        post:\n          - uses: evil/a@v1\n", `step key "post" is not workflow syntax`, []string{"actions/checkout@v4", "evil/a@v1"}},
		{"unknown job key holding steps", "      - run: a\n    pre-steps:\n      - uses: evil/a@v1\n", `job key "pre-steps" is not workflow syntax`, []string{"evil/a@v1"}},
		{"steps mapping", "      first:\n        uses: evil/a@v1\n", "steps is a mapping, not a list", []string{"evil/a@v1"}},
		{"whitespace inside a reference", "      - uses: tj-actions/changed-files @v44\n", `holds whitespace inside the reference: runpolicy judges it as tj-actions/changed-files@v44`, []string{"tj-actions/changed-files @v44"}},
		{"whitespace inside a repository name", "      - uses: tj-actions/ changed-files@v44\n", `holds whitespace inside the reference: runpolicy judges it as tj-actions/changed-files@v44`, []string{"tj-actions/ changed-files@v44"}},
		{"whitespace inside a docker reference", "      - uses: docker:// redis:7\n", `holds whitespace inside the reference: runpolicy judges it as docker://redis:7`, []string{"docker:// redis:7"}},
		{"self-repository reference with a ref", "      - uses: $/.github/actions/x@main\n", "names a ref after a self-repository reference", []string{"$/.github/actions/x@main"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n"+tt.steps)
			if !slices.ContainsFunc(f.Unmodeled, func(u Unmodeled) bool { return u.Job == "j" && u.Line > 0 && strings.Contains(u.Message, tt.message) }) {
				t.Errorf("unmodeled = %+v, want one in job j containing %q", f.Unmodeled, tt.message)
			}
			got := []string{}
			for _, u := range f.Uses {
				got = append(got, u.Raw)
			}
			if tt.uses == nil {
				tt.uses = []string{}
			}
			if !slices.Equal(got, tt.uses) {
				t.Errorf("uses = %v, want %v", got, tt.uses)
			}
		})
	}
}

// actionlint drops the call of a job that has keys GitHub refuses beside
// uses: the reference, its inputs and secrets are read back from the YAML,
// and actionlint's error stays.
func TestReusableWorkflowCallBesideRefusedKeys(t *testing.T) {
	f := mustParse(t, `on: push
jobs:
  call:
    uses: acme/wf/.github/workflows/x.yml@v1
    env:
      A: b
    timeout-minutes: 5
    with:
      token: ${{ secrets.IN_WITH }}
    secrets:
      key: ${{ secrets.PASSED }}
  inherit:
    uses: ./.github/workflows/y.yml
    steps:
      - run: echo
    secrets: inherit
`)
	call := f.Jobs["call"].Uses
	if call == nil || call.Kind != KindReusableWorkflow || call.Name != "acme/wf/.github/workflows/x.yml" || call.Line != 4 || call.Step != nil {
		t.Fatalf("call uses = %+v, want the reusable workflow at line 4", call)
	}
	if !slices.Equal(f.Jobs["call"].Secrets, []string{"IN_WITH", "PASSED"}) {
		t.Errorf("call secrets = %v", f.Jobs["call"].Secrets)
	}
	inherit := f.Jobs["inherit"]
	if inherit.Uses == nil || inherit.Uses.Kind != KindLocal || !inherit.SecretsInherit || !f.Secrets.Bulk || !f.Secrets.Inherit {
		t.Errorf("inherit job = %+v, secrets %+v: want its local call with secrets: inherit", inherit, f.Secrets)
	}
	if i := slices.IndexFunc(f.Secrets.Refs, func(r SecretRef) bool { return r.Job == "inherit" && r.Bulk }); i < 0 || f.Secrets.Refs[i].Line != 16 {
		t.Errorf("secret refs %+v: want the bulk inherit at line 16", f.Secrets.Refs)
	}
	var msgs []string
	for _, e := range f.ParseErrors {
		msgs = append(msgs, e.Message)
	}
	if len(msgs) != 2 || !strings.Contains(msgs[0], `"timeout-minutes" is not available`) || !strings.Contains(msgs[1], `"steps" is not available`) {
		t.Errorf("parse errors = %q, want actionlint's two refusals kept", msgs)
	}
}

// Parse reads the YAML again only when actionlint's tree may lack
// something: the real workflows of the corpus cost nothing more, and a
// parallel block or an error does.
func TestWorkflowYAMLReadOnlyWhenNeeded(t *testing.T) {
	read := func(src []byte) bool {
		wf, errs := actionlint.Parse(src)
		return readWorkflowYAML(src, nil, wf, errs) != nil
	}
	files, err := filepath.Glob(filepath.Join(corpus, "workflows", "*.y*ml"))
	if err != nil || len(files) < 40 {
		t.Fatalf("found %d corpus workflows (%v)", len(files), err)
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if read(src) {
			t.Errorf("%s: YAML read again for a workflow actionlint reads whole", filepath.Base(path))
		}
	}
	for _, src := range []string{
		"on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - parallel:\n          - run: a\n",
		"on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: a\n        background: true\n",
		"on: push\njobs:\n  j:\n    uses: a/b/.github/workflows/c.yml@v1\n    env: {A: b}\n",
	} {
		if !read([]byte(src)) {
			t.Errorf("YAML not read for %q", src)
		}
	}
	f := mustParse(t, "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: a\n")
	if f.Unmodeled == nil || len(f.Unmodeled) != 0 {
		t.Errorf("unmodeled = %#v, want an empty list", f.Unmodeled)
	}
}

// A tree parse decoded already is read as it is, not decoded again.
func TestWorkflowYAMLReusesTheTree(t *testing.T) {
	src := []byte("on: push\njobs:\n  build:\n    runs-on: x\n    steps:\n      - parallel:\n          - run: a\n")
	other, err := decodeYAML([]byte("on: push\njobs:\n  other:\n    runs-on: x\n    steps: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	wf, errs := actionlint.Parse(src)
	y := readWorkflowYAML(src, other, wf, errs)
	if y == nil || y.job("other") == nil || y.job("build") != nil {
		t.Fatalf("readWorkflowYAML did not read the tree it was given: %+v", y)
	}
	if y = readWorkflowYAML(src, nil, wf, errs); y == nil || y.job("build") == nil {
		t.Fatalf("readWorkflowYAML without a tree did not decode src: %+v", y)
	}
}
