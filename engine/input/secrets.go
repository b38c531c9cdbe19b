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

// read records the secrets an expression reads: from its syntax tree, or
// from its tokens when it does not parse (GitHub rejects it when it runs,
// but what the tokens say is not missed).
func (sc *secretScanner) read(e *expression, w where) {
	if e.tree == nil {
		sc.fromTokens(e.text, e.line, e.offset, w)
		return
	}
	var tokens []*actionlint.Token // lexed again only when a secret name is needed
	actionlint.VisitExprNode(e.tree, func(n, parent actionlint.ExprNode, entering bool) {
		v, ok := n.(*actionlint.VariableNode)
		if !entering || !ok || v.Name != "secrets" {
			return
		}
		refLine := e.line + v.Token().Line - 1
		switch p := parent.(type) {
		case *actionlint.ObjectDerefNode:
			if p.Receiver == n {
				// The parser lower-cases property names; take the author's
				// spelling from the token after the dot.
				if tokens == nil {
					tokens = lexAll(e.text)
				}
				name := p.Property
				if t := tokenAfterDot(tokens, v.Token().Offset); t != nil {
					name = t.Value
				}
				sc.add(name, false, refLine, e.offset, w)
				return
			}
		case *actionlint.IndexAccessNode:
			if p.Operand == n {
				if s, ok := p.Index.(*actionlint.StringNode); ok {
					sc.add(s.Value, false, refLine, e.offset, w)
				} else {
					sc.add("", true, refLine, e.offset, w)
				}
				return
			}
		}
		// secrets on its own: toJSON(secrets), secrets.*, a function argument.
		sc.add("", true, refLine, e.offset, w)
	})
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
	// The tokens are in the order of their offsets.
	i, found := slices.BinarySearchFunc(ts, offset, func(t *actionlint.Token, o int) int { return t.Offset - o })
	if !found || i+2 >= len(ts) || ts[i+1].Kind != actionlint.TokenKindDot || ts[i+2].Kind != actionlint.TokenKindIdent {
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
