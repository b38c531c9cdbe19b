package input

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestExpressionContexts checks the contexts read from one expression of a
// run: script, by the syntax tree and, where the parser refuses the
// expression, by its tokens.
func TestExpressionContexts(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{"github.event.issue.title", []string{"github.event.issue.title"}},
		{"github['head_ref']", []string{"github.head_ref"}},
		{"github[\"head_ref\"]", nil}, // double quotes are no string in GitHub's syntax: reported below
		{"GITHUB.Event.Pull_Request.Body", []string{"github.event.pull_request.body"}},
		{"github.event['pull_request']['title']", []string{"github.event.pull_request.title"}},
		{"inputs.x", []string{"inputs.x"}},
		{"steps.a.outputs.b", []string{"steps.a.outputs.b"}},
		{"fromJSON(steps.a.outputs.b).c", []string{"steps.a.outputs.b"}},
		{"fromJSON(needs.build.outputs.matrix)[matrix.key]", []string{"needs.build.outputs.matrix", "matrix.key"}},
		{"github.event.pull_request.labels.*.name", []string{"github.event.pull_request.labels.*.name"}},
		{"github.event.commits[0].message", []string{"github.event.commits.*.message"}},
		{"github.event[inputs.field]", []string{"github.event.*", "inputs.field"}},
		{"toJSON(github.event)", []string{"github.event"}},
		{"format('{0} {1}', github.head_ref, env.NAME)", []string{"github.head_ref", "env.name"}},
		{"github.head_ref || github.head_ref", []string{"github.head_ref"}},
		{"!contains(github.event.issue.body, 'x') && github.actor == 'a'", []string{"github.event.issue.body", "github.actor"}},
		{"'github.event.issue.title'", []string{}},
		{"true && null", []string{}},
		{"secrets.TOKEN", []string{"secrets.token"}},
		// The parser refuses these; the tokens still tell.
		{"github.event.issue.title ==", []string{"github.event.issue.title"}},
		{"contains(github.head_ref, ", []string{"github.head_ref"}},
		{"github['event']['issue'] &&", []string{"github.event.issue"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			src := "on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: " + yamlQuote("echo ${{ "+tt.expr+" }}") + "\n"
			f := mustParse(t, src)
			exprs := f.Jobs["j"].Steps[0].Expressions
			if len(exprs) != 1 {
				t.Fatalf("expressions = %+v, want one", exprs)
			}
			e := exprs[0]
			if e.Field != "run" || e.Text != strings.TrimSpace(tt.expr) || e.Line != 6 {
				t.Errorf("expression = %+v, want field run, text %q, line 6", e, tt.expr)
			}
			if tt.want != nil && !slices.Equal(e.Contexts, tt.want) {
				t.Errorf("contexts = %q, want %q", e.Contexts, tt.want)
			}
			if e.Contexts == nil {
				t.Error("contexts is nil, want a list")
			}
		})
	}
}

// TestExpressionParseErrors checks that an expression the parser refuses
// is a parse error of the workflow, with its position, and still recorded.
func TestExpressionParseErrors(t *testing.T) {
	tests := []struct {
		name, run string
		line, col int
		message   string
		recorded  int
	}{
		// ${{ is at column 20: the error is where the parser stopped.
		{"dangling operator", "echo ${{ github.sha == }}", 6, 38, "does not parse: unexpected end of input", 1},
		{"double quotes", `echo ${{ github["head_ref"] }}`, 6, 31, "does not parse: got unexpected character '\"'", 1},
		{"not closed", "echo ${{ github.sha", 6, 20, "not closed by }}", 1},
		{"empty", "echo ${{ }} ok", 6, 24, "does not parse", 1},
		{"too long", "echo ${{ " + strings.Repeat("(", MaxExpressionSize) + " }}", 6, 20, fmt.Sprintf("longer than %d bytes", MaxExpressionSize), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: " + yamlQuote(tt.run) + "\n"
			f := mustParse(t, src)
			if len(f.ParseErrors) != 1 {
				t.Fatalf("parse errors = %+v, want one", f.ParseErrors)
			}
			pe := f.ParseErrors[0]
			if pe.Line != tt.line || pe.Column != tt.col || !strings.Contains(pe.Message, tt.message) || !strings.HasPrefix(pe.Message, "expression ${{ ") {
				t.Errorf("parse error = %+v, want line %d, column %d, %q", pe, tt.line, tt.col, tt.message)
			}
			if len(pe.Message) > 500 {
				t.Errorf("message is %d bytes long, want the expression cut", len(pe.Message))
			}
			if got := len(f.Jobs["j"].Steps[0].Expressions); got != tt.recorded {
				t.Errorf("%d expressions recorded, want %d", got, tt.recorded)
			}
		})
	}
}

// TestExpressionsHostile: a nest that would overflow the parser's stack,
// and more expressions than the limit allows, fail fast and never crash.
func TestExpressionsHostile(t *testing.T) {
	deep := "on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: \"${{ secrets.A || " + strings.Repeat("(", 1_500_000) + "\"\n"
	f, err := Parse("deep.yml", []byte(deep))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(f.ParseErrors) != 1 || !strings.Contains(f.ParseErrors[0].Message, "not closed") {
		t.Errorf("parse errors = %+v, want the unclosed expression", f.ParseErrors)
	}
	if len(f.Secrets.Names) != 1 || f.Secrets.Names[0] != "A" {
		t.Errorf("secrets = %v, want A read from the tokens", f.Secrets.Names)
	}
	// Closed, but far longer than an expression may be: read no further
	// than MaxExpressionSize, in its tokens as in the document.
	long := "on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: \"${{ " + strings.Repeat("(", 2_000_000) + " }}\"\n"
	f, err = Parse("long.yml", []byte(long))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if e := f.Jobs["j"].Steps[0].Expressions; len(e) != 1 || len(e[0].Text) > MaxExpressionSize {
		t.Errorf("the long expression is recorded %d times, %d bytes, want once, cut to %d", len(e), len(e[0].Text), MaxExpressionSize)
	}
	// runs-on and images are read for matrix values by the same parser.
	for _, key := range []string{"runs-on", "container"} {
		deep := "on: push\njobs:\n  j:\n    " + key + ": \"${{ " + strings.Repeat("(", 1_500_000) + " }}\"\n    steps:\n      - run: x\n"
		if _, err := Parse("deep.yml", []byte(deep)); err != nil {
			t.Fatalf("Parse: %v", err)
		}
	}

	many := "on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n" + strings.Repeat("          ${{ a }}${{ b }}\n", MaxExpressions/2+1)
	if _, err := Parse("many.yml", []byte(many)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d ${{ }} expressions", MaxExpressions)) {
		t.Errorf("Parse of %d expressions: %v, want the limit named", MaxExpressions+2, err)
	}
	// An anchored script aliased by many steps counts once per step.
	var b strings.Builder
	b.WriteString("on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: &s |\n")
	for range 1000 {
		b.WriteString("          " + strings.Repeat("x", 100) + "\n")
	}
	for range MaxScriptBytes/MaxScriptSize + 1 {
		b.WriteString("      - run: *s\n")
	}
	if _, err := Parse("aliased.yml", []byte(b.String())); err == nil || !strings.Contains(err.Error(), "bytes of run: scripts") {
		t.Errorf("Parse of an aliased script: %v, want the script limit named", err)
	}
}

// TestExpressionFields checks the field and the line of every expression a
// step and a job record, in file order.
func TestExpressionFields(t *testing.T) {
	src := `on: push
jobs:
  call:
    if: github.event_name == 'push'
    uses: acme/flows/.github/workflows/x.yml@v1
    with:
      title: ${{ github.event.issue.title }}
    secrets:
      token: ${{ secrets.TOKEN }}
  build:
    runs-on: ${{ matrix.os }}
    env:
      REF: ${{ github.head_ref }}
    outputs:
      out: ${{ steps.s.outputs.v }}
    container:
      image: node
      env:
        X: ${{ inputs.x }}
    steps:
      - id: s
        if: ${{ github.actor != 'bot' }}
        uses: actions/github-script@v7
        env:
          BODY: ${{ github.event.comment.body }}
        with:
          script: |
            console.log("${{ github.event.issue.title }}")
      - name: Run ${{ matrix.os }}
        shell: bash
        run: |
          echo "${{ github.head_ref }}"
          echo '${{ toJSON(github.event) }}'
`
	f := mustParse(t, src)
	type rec struct {
		field string
		line  int
	}
	fields := func(es []Expression) []rec {
		out := []rec{}
		for _, e := range es {
			out = append(out, rec{e.Field, e.Line})
		}
		return out
	}
	for _, tt := range []struct {
		name string
		got  []Expression
		want []rec
	}{
		{"job call", f.Jobs["call"].Expressions, []rec{{"if", 4}, {"with.title", 7}, {"secrets.token", 9}}},
		{"job build", f.Jobs["build"].Expressions, []rec{{"runs-on", 11}, {"env.REF", 13}, {"outputs.out", 15}, {"container", 19}}},
		{"step 0", f.Jobs["build"].Steps[0].Expressions, []rec{{"if", 22}, {"env.BODY", 25}, {"with.script", 28}}},
		{"step 1", f.Jobs["build"].Steps[1].Expressions, []rec{{"name", 29}, {"run", 32}, {"run", 33}}},
	} {
		if got := fields(tt.got); !slices.Equal(got, tt.want) {
			t.Errorf("%s: expressions at %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := f.Jobs["build"].Steps[1].Expressions[2].Contexts; !slices.Equal(got, []string{"github.event"}) {
		t.Errorf("toJSON(github.event) reads %q, want github.event", got)
	}
}

// TestConditionParseErrors checks an if: without ${{ }}: its own text is
// the expression, and an error is placed in it.
func TestConditionParseErrors(t *testing.T) {
	for _, tt := range []struct {
		cond    string
		col     int
		message string
	}{
		// The condition starts at column 14, after its quote.
		{"github.sha ==", 27, "unexpected end of input"},
		{"github.sha }} || true", 14, "text follows the closing }}"},
		{"success()", 0, ""},
	} {
		t.Run(tt.cond, func(t *testing.T) {
			src := "on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - if: " + yamlQuote(tt.cond) + "\n        run: make\n"
			f := mustParse(t, src)
			if tt.message == "" {
				if len(f.ParseErrors) != 0 {
					t.Errorf("parse errors = %+v, want none", f.ParseErrors)
				}
				return
			}
			if len(f.ParseErrors) != 1 || f.ParseErrors[0].Line != 6 || f.ParseErrors[0].Column != tt.col || !strings.Contains(f.ParseErrors[0].Message, tt.message) {
				t.Errorf("parse errors = %+v, want one at 6:%d with %q", f.ParseErrors, tt.col, tt.message)
			}
		})
	}
}

// TestWorkflowExpressions checks the expressions of the workflow's own
// keys: each recorded with its field, text, contexts and line, as a job's
// and a step's are, and counted against the same limits.
func TestWorkflowExpressions(t *testing.T) {
	const jobs = "jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: make\n"
	tests := []struct {
		name, src string
		want      []Expression
	}{
		{"none", "on: push\nenv:\n  A: plain\n", []Expression{}},
		{"env", "on: push\nenv:\n  T: ${{ github.event.issue.title }}\n",
			[]Expression{{"env.T", "github.event.issue.title", []string{"github.event.issue.title"}, 3}}},
		{"env as one expression", "on: push\nenv: ${{ fromJSON(inputs.env) }}\n",
			[]Expression{{"env", "fromJSON(inputs.env)", []string{"inputs.env"}, 2}}},
		{"run-name", "on: push\nrun-name: Deploy ${{ github.head_ref }} by @${{ github.actor }}\n",
			[]Expression{{"run-name", "github.head_ref", []string{"github.head_ref"}, 2}, {"run-name", "github.actor", []string{"github.actor"}, 2}}},
		{"concurrency", "on: push\nconcurrency:\n  group: ${{ github.workflow }}-${{ github.event.pull_request.head.ref }}\n  cancel-in-progress: ${{ github.ref != 'refs/heads/main' }}\n",
			[]Expression{
				{"concurrency", "github.workflow", []string{"github.workflow"}, 3},
				{"concurrency", "github.event.pull_request.head.ref", []string{"github.event.pull_request.head.ref"}, 3},
				{"concurrency", "github.ref != 'refs/heads/main'", []string{"github.ref"}, 4},
			}},
		{"defaults", "on: push\ndefaults:\n  run:\n    working-directory: ${{ inputs.dir }}\n",
			[]Expression{{"defaults", "inputs.dir", []string{"inputs.dir"}, 4}}},
		{"on", "on:\n  workflow_call:\n    inputs:\n      ref:\n        type: string\n        default: ${{ github.head_ref }}\n",
			[]Expression{{"on", "github.head_ref", []string{"github.head_ref"}, 6}}},
		{"file order", "run-name: ${{ inputs.b }}\non: push\nenv:\n  A: ${{ inputs.a }}\n",
			[]Expression{{"run-name", "inputs.b", []string{"inputs.b"}, 1}, {"env.A", "inputs.a", []string{"inputs.a"}, 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, tt.src+jobs)
			if !reflect.DeepEqual(f.Expressions, tt.want) {
				t.Errorf("workflow expressions = %+v, want %+v", f.Expressions, tt.want)
			}
			if j := f.Jobs["j"]; len(j.Expressions) != 0 || len(j.Steps[0].Expressions) != 0 {
				t.Errorf("job expressions %+v, step expressions %+v, want none", j.Expressions, j.Steps[0].Expressions)
			}
		})
	}

	// They count against MaxExpressions like any other.
	many := "on: push\nenv:\n  A: \"" + strings.Repeat("${{ a }}", MaxExpressions+1) + "\"\n" + jobs
	if _, err := Parse("many.yml", []byte(many)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d ${{ }} expressions", MaxExpressions)) {
		t.Errorf("Parse of %d workflow expressions: %v, want the limit named", MaxExpressions+1, err)
	}
}
