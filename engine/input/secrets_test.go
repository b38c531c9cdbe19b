package input

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestSecretExpressions checks how one run: line's expressions are read.
// "*" stands for a bulk reference.
func TestSecretExpressions(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{"${{ secrets.A }}", []string{"A"}},
		{"${{ secrets.Token_X }}", []string{"Token_X"}},
		{"${{ SECRETS.lower }}", []string{"lower"}},
		{"${{ secrets . Spaced }}", []string{"Spaced"}},
		{"${{ secrets.A || secrets.B }} and ${{ secrets.C }}", []string{"A", "B", "C"}},
		{"${{ secrets['Quoted'] }}", []string{"Quoted"}},
		{"${{ secrets['it''s'] }}", []string{"it's"}},
		{"${{ secrets[matrix.name] }}", []string{"*"}},
		{"${{ secrets[format('{0}_KEY', env.X)] }}", []string{"*"}},
		{"${{ toJSON(secrets) }}", []string{"*"}},
		{"${{ secrets.* }}", []string{"*"}},
		{"${{ format('{0}', secrets.F) }}", []string{"F"}},
		{"${{ secrets.A.nested }}", []string{"A"}},
		{"${{ github.secrets.NOT_A_SECRET }}", nil},
		{"${{ steps.secrets.outputs.X }}", nil},
		{"${{ 'secrets.IN_A_STRING' }}", nil},
		{"secrets.NOT_AN_EXPRESSION", nil},
		{"${{ secrets.BROKEN == }}", []string{"BROKEN"}}, // the parser fails; the tokens still tell
		{"${{ secrets.UNCLOSED", []string{"UNCLOSED"}},
		{"${{ toJSON(secrets) ", []string{"*"}},
		{"${{ }} ${{ secrets.AFTER_EMPTY }}", []string{"AFTER_EMPTY"}},
		{"${{ 'a}}b' }} ${{ secrets.AFTER_BRACES }}", []string{"AFTER_BRACES"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			src := "on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: " + yamlQuote(tt.expr) + "\n"
			f, err := Parse("t.yml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range f.Secrets.Refs {
				name := r.Name
				if r.Bulk {
					name = "*"
				}
				got = append(got, name)
				if r.Job != "j" || r.Step == nil || *r.Step != 0 || r.Context != CtxRun || r.Line != 6 {
					t.Errorf("ref %+v: want job j, step 0, context run, line 6", r)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("refs = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSecretLines checks that a reference deep in a block scalar is
// reported on its own line, in quoted and plain scalars too.
func TestSecretLines(t *testing.T) {
	src := `on: push
jobs:
  j:
    runs-on: x
    steps:
      - run: |
          echo one

          echo "${{ secrets.LINE_9 }}"
          echo "${{
            secrets.LINE_11 }}"
      - run: "echo ${{ secrets.LINE_12 }}"
      - env: {A: "${{ secrets.LINE_13A }}", B: "${{ secrets.LINE_13B }}"}
        run: echo
`
	f, err := Parse("t.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range f.Secrets.Refs {
		got = append(got, r.Name+"@"+strconv.Itoa(r.Line))
	}
	want := []string{"LINE_9@9", "LINE_11@11", "LINE_12@12", "LINE_13A@13", "LINE_13B@13"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("refs = %q, want %q", got, want)
	}
}

func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
