package input

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestScript checks a run step's script: its text, cut on a rune
// boundary past MaxScriptSize, and its shell and working directory, the
// step's over the job's defaults over the workflow's.
func TestScript(t *testing.T) {
	long := strings.Repeat("é", MaxScriptSize/2+10) // two bytes each, so MaxScriptSize falls on a boundary…
	odd := "x" + long                               // …and here one byte after it
	src := `on: push
defaults:
  run:
    shell: bash
    working-directory: top
jobs:
  a:
    runs-on: x
    defaults:
      run:
        working-directory: job
    steps:
      - run: make
      - run: make
        shell: pwsh
        working-directory: step
      - uses: actions/checkout@v4
      - run: ` + yamlQuote(long) + `
      - run: ` + yamlQuote(odd) + `
  b:
    runs-on: x
    steps:
      - run: |
          echo ${{ github.sha }}
          make
`
	f := mustParse(t, src)
	steps := f.Jobs["a"].Steps
	for i, want := range []*Script{
		{Text: "make", Shell: ptr("bash"), WorkingDirectory: ptr("job"), Line: 13},
		{Text: "make", Shell: ptr("pwsh"), WorkingDirectory: ptr("step"), Line: 14},
		nil,
	} {
		if !reflect.DeepEqual(steps[i].Script, want) {
			t.Errorf("step %d: script %+v, want %+v", i, steps[i].Script, want)
		}
	}
	for i := 3; i <= 4; i++ {
		s := steps[i].Script
		if !s.Truncated || len(s.Text) > MaxScriptSize || len(s.Text) < MaxScriptSize-3 || !utf8.ValidString(s.Text) {
			t.Errorf("step %d: %d bytes, truncated %v, valid UTF-8 %v: want cut to at most %d bytes on a rune boundary",
				i, len(s.Text), s.Truncated, utf8.ValidString(s.Text), MaxScriptSize)
		}
	}
	if s := f.Jobs["b"].Steps[0].Script; s.Text != "echo ${{ github.sha }}\nmake\n" || s.Truncated || s.Shell == nil || *s.Shell != "bash" || s.WorkingDirectory == nil || *s.WorkingDirectory != "top" {
		t.Errorf("job b: script %+v, want the text as written and the workflow's defaults", *s)
	}
	if f.Defaults.Shell == nil || *f.Defaults.Shell != "bash" || f.Defaults.WorkingDirectory == nil || *f.Defaults.WorkingDirectory != "top" {
		t.Errorf("workflow defaults = %+v", f.Defaults)
	}
}

func ptr(s string) *string { return &s }

// TestJobFields checks the job keys the document gives as written, in
// each of their forms.
func TestJobFields(t *testing.T) {
	src := `on: push
env:
  TOP: one
concurrency: ci-${{ github.ref }}
jobs:
  plain:
    runs-on: x
    steps:
      - run: make
  full:
    needs: plain
    if: github.event_name == 'push'
    runs-on: x
    environment: production
    concurrency:
      group: deploy
      cancel-in-progress: true
    timeout-minutes: 30
    env:
      Mixed_Case: ${{ github.actor }}
    outputs:
      digest: ${{ steps.build.outputs.digest }}
    steps:
      - id: build
        if: success()
        env:
          A: "1"
        run: make
  forms:
    needs: [plain, full]
    runs-on: x
    environment:
      name: staging
      url: https://example.com/${{ github.sha }}
    concurrency:
      group: g
      cancel-in-progress: ${{ github.ref != 'refs/heads/main' }}
    timeout-minutes: ${{ inputs.timeout }}
    env: ${{ fromJSON(inputs.env) }}
    steps:
      - run: make
        env: ${{ fromJSON(inputs.step_env) }}
  call:
    needs: [forms]
    uses: acme/flows/.github/workflows/deploy.yml@v1
    with:
      Target: prod
      count: 3
    secrets:
      token: ${{ secrets.DEPLOY }}
  inherit:
    uses: ./.github/workflows/x.yml
    secrets: inherit
`
	f := mustParse(t, src)
	if !maps.Equal(f.Env, map[string]string{"TOP": "one"}) {
		t.Errorf("workflow env = %v", f.Env)
	}
	if c := f.Concurrency; c == nil || c.Group != "ci-${{ github.ref }}" || c.CancelInProgress != false || c.Line != 4 {
		t.Errorf("workflow concurrency = %+v, want the string form", c)
	}
	plain, full, forms, call, inherit := f.Jobs["plain"], f.Jobs["full"], f.Jobs["forms"], f.Jobs["call"], f.Jobs["inherit"]
	if plain.If != nil || len(plain.Env) != 0 || plain.Environment != nil || plain.Concurrency != nil || len(plain.Needs) != 0 ||
		plain.Needs == nil || len(plain.Outputs) != 0 || plain.TimeoutMinutes != nil || len(plain.With) != 0 || len(plain.SecretsMap) != 0 {
		t.Errorf("job without the keys: %+v", plain)
	}
	if full.If == nil || *full.If != "github.event_name == 'push'" || !slices.Equal(full.Needs, []string{"plain"}) {
		t.Errorf("full: if %v needs %v", full.If, full.Needs)
	}
	if e := full.Environment; e == nil || e.Name != "production" || e.URL != nil || e.Line != 14 {
		t.Errorf("full: environment %+v, want production with no url", e)
	}
	if c := full.Concurrency; c == nil || c.Group != "deploy" || c.CancelInProgress != true || c.Line != 15 {
		t.Errorf("full: concurrency %+v", c)
	}
	if full.TimeoutMinutes != json.Number("30") {
		t.Errorf("full: timeout %#v, want 30", full.TimeoutMinutes)
	}
	if !maps.Equal(full.Env, map[string]string{"Mixed_Case": "${{ github.actor }}"}) || !maps.Equal(full.Outputs, map[string]string{"digest": "${{ steps.build.outputs.digest }}"}) {
		t.Errorf("full: env %v outputs %v", full.Env, full.Outputs)
	}
	if s := full.Steps[0]; s.If == nil || *s.If != "success()" || !maps.Equal(s.Env, map[string]string{"A": "1"}) {
		t.Errorf("full: step if %v env %v", s.If, s.Env)
	}
	if !slices.Equal(forms.Needs, []string{"plain", "full"}) {
		t.Errorf("forms: needs %v", forms.Needs)
	}
	if e := forms.Environment; e == nil || e.Name != "staging" || e.URL == nil || *e.URL != "https://example.com/${{ github.sha }}" {
		t.Errorf("forms: environment %+v", e)
	}
	if c := forms.Concurrency; c == nil || c.CancelInProgress != "${{ github.ref != 'refs/heads/main' }}" {
		t.Errorf("forms: concurrency %+v, want the expression text", c)
	}
	if forms.TimeoutMinutes != "${{ inputs.timeout }}" {
		t.Errorf("forms: timeout %#v, want the expression text", forms.TimeoutMinutes)
	}
	if len(forms.Env) != 0 || forms.Env == nil {
		t.Errorf("forms: env %v, want {} for an expression", forms.Env)
	}
	if s := forms.Steps[0]; len(s.Env) != 0 || s.Env == nil {
		t.Errorf("forms: step env %v, want {} for an expression", s.Env)
	}
	// Each env: written as one expression is reported where it is: the
	// job's at the job, the step's at its step.
	jobEnv, stepEnv := false, false
	for _, u := range f.Unmodeled {
		jobEnv = jobEnv || (u.Job == "forms" && u.Step == nil && u.Line == 39 && strings.Contains(u.Message, "fromJSON(inputs.env)"))
		stepEnv = stepEnv || (u.Job == "forms" && u.Step != nil && *u.Step == 0 && u.Line == 42 && strings.Contains(u.Message, "fromJSON(inputs.step_env)"))
	}
	if !jobEnv {
		t.Errorf("unmodeled = %+v, want the env expression of job forms", f.Unmodeled)
	}
	if !stepEnv {
		t.Errorf("unmodeled = %+v, want the env expression of job forms, step 0", f.Unmodeled)
	}
	if !maps.Equal(call.With, map[string]string{"Target": "prod", "count": "3"}) || !maps.Equal(call.SecretsMap, map[string]string{"token": "${{ secrets.DEPLOY }}"}) {
		t.Errorf("call: with %v secrets %v", call.With, call.SecretsMap)
	}
	if !inherit.SecretsInherit || len(inherit.SecretsMap) != 0 || inherit.SecretsMap == nil {
		t.Errorf("inherit: secrets_inherit %v secrets_map %v", inherit.SecretsInherit, inherit.SecretsMap)
	}
}

// TestFactLines checks the line of each fact that has no line field of
// its own, in each of its forms: a scalar's value, a list's or a mapping's
// first entry in file order (not in Go map order), none when absent or
// empty.
func TestFactLines(t *testing.T) {
	src := `on: push
env:
  B: two
  A: one
defaults:
  run:
    shell: bash
jobs:
  none:
    runs-on: x
    env: {}
    steps:
      - run: make
  full:
    needs: none
    if: github.event_name == 'push'
    runs-on: x
    timeout-minutes: 30
    env:
      # Z is the first entry
      Z: z
      Y: y
    outputs: {out: x, b: y}
    steps:
      - uses: actions/checkout@v4
        if: >-
          success()
        env: ${{ fromJSON(inputs.env) }}
        with:
          ref: main
          fetch-depth: 0
  forms:
    needs:
      - none
      - full
    runs-on: x
    timeout-minutes: ${{ inputs.t }}
    steps:
      - run: make
        env:
          X: x
  call:
    uses: acme/flows/.github/workflows/x.yml@v1
    with:
      b: 1
      a: 2
    secrets:
      token: ${{ secrets.T }}
  inherit:
    uses: ./.github/workflows/x.yml
    secrets: inherit
`
	f := mustParse(t, src)
	if want := (WorkflowLines{Env: 3, Defaults: 5}); f.Lines != want {
		t.Errorf("workflow lines = %+v, want %+v", f.Lines, want)
	}
	for _, tt := range []struct {
		job   string
		want  JobLines
		steps []StepLines
	}{
		{"none", JobLines{}, []StepLines{{}}},
		{"full", JobLines{If: 16, Env: 21, Needs: 15, Outputs: 23, TimeoutMinutes: 18}, []StepLines{{If: 26, Env: 28, With: 30}}},
		{"forms", JobLines{Needs: 34, TimeoutMinutes: 37}, []StepLines{{Env: 41}}},
		{"call", JobLines{With: 45, SecretsMap: 48}, nil},
		{"inherit", JobLines{}, nil},
	} {
		j := f.Jobs[tt.job]
		if j.Lines != tt.want {
			t.Errorf("job %s: lines %+v, want %+v", tt.job, j.Lines, tt.want)
		}
		if len(j.Steps) != len(tt.steps) {
			t.Fatalf("job %s: %d steps, want %d", tt.job, len(j.Steps), len(tt.steps))
		}
		for i, want := range tt.steps {
			if got := j.Steps[i].Lines; got != want {
				t.Errorf("job %s, step %d: lines %+v, want %+v", tt.job, i, got, want)
			}
		}
	}
}
