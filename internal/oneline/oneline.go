// Package oneline folds multi-line messages (OPA's error lists, YAML and
// compile errors) into the one line that logs, statuses and the command
// line promise.
package oneline

import (
	"errors"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Fold joins the words of s with single spaces: every line is kept.
func Fold(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Flatten puts s on one line by replacing each line break and tab with a
// space, one for one, and leaves every other character alone: for names
// whose exact spelling matters, such as a check run's name, which a
// required check must match.
func Flatten(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
}

// Error keeps the first line of err and says how much it left out: the
// first of several compile errors, or the first line of a long message.
func Error(err error) string {
	var astErrs ast.Errors
	if errors.As(err, &astErrs) && len(astErrs) > 0 {
		s := astErrs[0].Error()
		if len(astErrs) > 1 {
			s += fmt.Sprintf(" (and %d more errors)", len(astErrs)-1)
		}
		return s
	}
	s := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + fmt.Sprintf(" (and %d more lines)", strings.Count(s[i:], "\n"))
	}
	return s
}
