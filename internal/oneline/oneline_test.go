package oneline

import (
	"errors"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"":                                   "",
		"one line":                           "one line",
		"2 errors occurred:\n\t* a\n\t* b\n": "2 errors occurred: * a * b",
		"  spaced \r\n  out  ":               "spaced out",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFlatten(t *testing.T) {
	for in, want := range map[string]string{
		"":               "",
		"CI  build":      "CI  build",
		"CI\nbuild":      "CI build",
		"a\r\n\tb":       "a   b",
		" edges kept \n": " edges kept  ",
	} {
		if got := Flatten(in); got != want {
			t.Errorf("Flatten(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestError(t *testing.T) {
	compile := ast.Errors{
		ast.NewError(ast.TypeErr, nil, "first problem"),
		ast.NewError(ast.TypeErr, nil, "second problem"),
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("plain"), "plain"},
		{errors.New("head\nsecond\nthird\n"), "head (and 2 more lines)"},
		{compile, "rego_type_error: first problem (and 1 more errors)"},
		{ast.Errors{compile[0]}, "rego_type_error: first problem"},
	} {
		if got := Error(tc.err); got != tc.want {
			t.Errorf("Error(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
