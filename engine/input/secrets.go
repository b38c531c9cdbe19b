package input

import (
	"slices"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"
)

// secretScanner finds references to the secrets context in the ${{ }}
// expressions of a workflow. It reads expressions with actionlint's own
// lexer and parser, so `secrets.X`, `secrets['X']`, `secrets[expr]` and
// `toJSON(secrets)` are told apart by the syntax tree, not by patterns.
type secretScanner struct {
	src  *source
	refs []pendingRef
}

// pendingRef is a reference with the key that puts it in document order:
// jobs in file order (the workflow level first), then the position of its
// expression in the file. Text reached through a YAML alias is reported at
// its anchor, in the job that uses it.
type pendingRef struct {
	ref    SecretRef
	job    int // order of the job, -1 for the workflow level
	offset int // byte offset of the expression in the file
	seq    int
}

// where says which part of the workflow a string belongs to.
type where struct {
	job      string
	jobOrder int
	step     *int
	context  string
}

// scan records the secrets read by every ${{ }} expression in s.
func (sc *secretScanner) scan(s *actionlint.String, w where) {
	if s == nil || s.Pos == nil || !strings.Contains(s.Value, "${{") || !mentionsSecrets(s.Value) {
		return
	}
	cursor := sc.src.offset(s.Pos)
	rest := s.Value
	for {
		i := strings.Index(rest, "${{")
		if i < 0 {
			return
		}
		rest = rest[i+3:]
		// The same expression in the file, for its line: the value of a
		// quoted or folded scalar is not the file's text, but it holds its
		// expressions in the same order.
		line, at := s.Pos.Line, cursor
		if j := sc.src.index(cursor, "${{"); j >= 0 {
			at = j
			line = sc.src.line(j)
			cursor = j + 3
		}
		n := sc.expr(rest, line, at, w)
		if n <= 0 {
			return
		}
		rest = rest[n:]
	}
}

// scanCondition records the secrets read by an if: condition, which GitHub
// evaluates as an expression even without ${{ }}.
func (sc *secretScanner) scanCondition(s *actionlint.String, w where) {
	if s == nil || s.Pos == nil || !mentionsSecrets(s.Value) {
		return
	}
	if strings.Contains(s.Value, "${{") {
		sc.scan(s, w)
		return
	}
	sc.expr(s.Value+"}}", s.Pos.Line, sc.src.offset(s.Pos), w)
}

// mentionsSecrets reports whether s holds "secrets" in any case. Text that
// does not cannot read the secrets context, so its expressions need not be
// parsed, which is most of them.
func mentionsSecrets(s string) bool {
	const name = "secrets"
	for i := 0; i+len(name) <= len(s); i++ {
		if (s[i] == 's' || s[i] == 'S') && strings.EqualFold(s[i:i+len(name)], name) {
			return true
		}
	}
	return false
}

// expr parses the expression at the start of text (just after "${{") and
// records its secret references. It returns how many bytes of text the
// expression and its closing "}}" took, or 0 when no "}}" follows.
func (sc *secretScanner) expr(text string, line, offset int, w where) (consumed int) {
	defer func() {
		// A panic in the expression parser loses this expression, not the file.
		if recover() != nil {
			consumed = closingOffset(text)
		}
	}()
	lexer := actionlint.NewExprLexer(text)
	tree, err := actionlint.NewExprParser().Parse(lexer)
	if err != nil {
		// Not a valid expression: GitHub rejects the workflow when it runs,
		// but read what the tokens say so that nothing is missed.
		sc.fromTokens(text, line, offset, w)
		return closingOffset(text)
	}
	var tokens []*actionlint.Token // lexed again only when a secret name is needed
	actionlint.VisitExprNode(tree, func(n, parent actionlint.ExprNode, entering bool) {
		v, ok := n.(*actionlint.VariableNode)
		if !entering || !ok || v.Name != "secrets" {
			return
		}
		refLine := line + v.Token().Line - 1
		switch p := parent.(type) {
		case *actionlint.ObjectDerefNode:
			if p.Receiver == n {
				// The parser lower-cases property names; take the author's
				// spelling from the token after the dot.
				if tokens == nil {
					tokens = lexAll(text)
				}
				name := p.Property
				if t := tokenAfterDot(tokens, v.Token().Offset); t != nil {
					name = t.Value
				}
				sc.add(name, false, refLine, offset, w)
				return
			}
		case *actionlint.IndexAccessNode:
			if p.Operand == n {
				if s, ok := p.Index.(*actionlint.StringNode); ok {
					sc.add(s.Value, false, refLine, offset, w)
				} else {
					sc.add("", true, refLine, offset, w)
				}
				return
			}
		}
		// secrets on its own: toJSON(secrets), secrets.*, a function argument.
		sc.add("", true, refLine, offset, w)
	})
	return lexer.Offset()
}

// fromTokens reads secret references from the tokens of an expression the
// parser rejected: secrets.NAME and secrets['NAME'] are named, any other
// use of the secrets context is bulk.
func (sc *secretScanner) fromTokens(text string, line, offset int, w where) {
	ts := lexAll(text)
	for i, t := range ts {
		if t.Kind != actionlint.TokenKindIdent || !strings.EqualFold(t.Value, "secrets") {
			continue
		}
		if i > 0 && ts[i-1].Kind == actionlint.TokenKindDot {
			continue // a property named secrets, as in github.secrets
		}
		refLine := line + t.Line - 1
		switch {
		case i+2 < len(ts) && ts[i+1].Kind == actionlint.TokenKindDot && ts[i+2].Kind == actionlint.TokenKindIdent:
			sc.add(ts[i+2].Value, false, refLine, offset, w)
		case i+3 < len(ts) && ts[i+1].Kind == actionlint.TokenKindLeftBracket &&
			ts[i+2].Kind == actionlint.TokenKindString && ts[i+3].Kind == actionlint.TokenKindRightBracket:
			s := ts[i+2].Value
			sc.add(strings.ReplaceAll(s[1:len(s)-1], "''", "'"), false, refLine, offset, w)
		default:
			sc.add("", true, refLine, offset, w)
		}
	}
}

// inherit records `secrets: inherit`, which hands every secret to the called workflow.
func (sc *secretScanner) inherit(line int, w where) {
	sc.add("", true, line, sc.src.lineStart(line), w)
}

func (sc *secretScanner) add(name string, bulk bool, line, offset int, w where) {
	sc.refs = append(sc.refs, pendingRef{
		ref:    SecretRef{Name: name, Bulk: bulk, Job: w.job, Step: w.step, Context: w.context, Line: line},
		job:    w.jobOrder,
		offset: offset,
		seq:    len(sc.refs),
	})
}

// sorted returns the references in document order.
func (sc *secretScanner) sorted() []SecretRef {
	sort.SliceStable(sc.refs, func(i, j int) bool {
		a, b := sc.refs[i], sc.refs[j]
		if a.job != b.job {
			return a.job < b.job
		}
		if a.offset != b.offset {
			return a.offset < b.offset
		}
		return a.seq < b.seq
	})
	refs := make([]SecretRef, len(sc.refs))
	for i, p := range sc.refs {
		refs[i] = p.ref
	}
	return refs
}

// lexAll returns the tokens of text up to the closing "}}" or the first
// lexing error.
func lexAll(text string) []*actionlint.Token {
	l := actionlint.NewExprLexer(text)
	var ts []*actionlint.Token
	for l.Err() == nil {
		t := l.Next()
		if l.Err() != nil || t.Kind == actionlint.TokenKindEnd {
			break
		}
		ts = append(ts, t)
	}
	return ts
}

// tokenAfterDot returns the identifier token in `<token at offset> . ident`.
func tokenAfterDot(ts []*actionlint.Token, offset int) *actionlint.Token {
	i := slices.IndexFunc(ts, func(t *actionlint.Token) bool { return t.Offset == offset })
	if i < 0 || i+2 >= len(ts) || ts[i+1].Kind != actionlint.TokenKindDot || ts[i+2].Kind != actionlint.TokenKindIdent {
		return nil
	}
	return ts[i+2]
}

// closingOffset returns the offset just past the first "}}" in text, or 0.
func closingOffset(text string) int {
	if i := strings.Index(text, "}}"); i >= 0 {
		return i + 2
	}
	return 0
}

// uniqueNames returns the sorted, distinct names of the named references.
func uniqueNames(refs []SecretRef) []string {
	names := []string{}
	for _, r := range refs {
		if r.Name != "" {
			names = append(names, r.Name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
