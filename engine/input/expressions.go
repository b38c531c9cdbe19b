package input

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/rhysd/actionlint"

	"github.com/runpolicy/runpolicy/internal/oneline"
)

// Every ${{ }} the walk (walk.go) reaches is parsed here, once, with
// actionlint's expression parser: the secret scan reads the tree, and the
// expressions of steps, jobs and the workflow are recorded with the
// contexts they read.
// An expression that does not parse is a parse error of the workflow
// (GitHub fails the run on it) and is still recorded, its contexts read
// from its tokens.

// expression is one ${{ }} found in a string of the workflow.
type expression struct {
	text   string              // inside ${{ }}, as written
	line   int                 // line of ${{ in the file
	offset int                 // byte offset of ${{ in the file: file order
	tree   actionlint.ExprNode // nil when it does not parse
}

// pendingExpr is an Expression with the key that puts it in file order.
type pendingExpr struct {
	expr   Expression
	offset int
	seq    int
}

// exprBudget is what the limits on expressions (limits.go) leave.
type exprBudget struct {
	count, bytes int
	// search bounds the bytes of the file searched for the line of an
	// expression; once spent, an expression is reported on the line of its
	// string.
	search int
}

func newExprBudget() exprBudget {
	return exprBudget{count: MaxExpressions, bytes: MaxExpressionBytes, search: 4 * MaxWorkflowSize}
}

// text parses every ${{ }} expression in s.
func (n *normalizer) text(s *actionlint.String, w where) {
	if s == nil || s.Pos == nil || !strings.Contains(s.Value, "${{") {
		return
	}
	cursor := n.src.offset(s.Pos)
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
		if j := n.src.indexWithin(cursor, "${{", &n.exprs.search); j >= 0 {
			at, line, cursor = j, n.src.line(j), j+3
		}
		consumed := n.expression(rest, line, at, at+3, w)
		if consumed <= 0 {
			return
		}
		rest = rest[consumed:]
	}
}

// condition parses an if:, which GitHub evaluates as an expression even
// without ${{ }}.
func (n *normalizer) condition(s *actionlint.String, w where) {
	if s == nil || s.Pos == nil {
		return
	}
	if strings.Contains(s.Value, "${{") {
		n.text(s, w)
		return
	}
	if strings.TrimSpace(s.Value) == "" {
		return
	}
	at := n.src.offset(s.Pos)
	if s.Quoted {
		at++ // the position is the quote's
	}
	text := s.Value + "}}"
	if consumed := n.expression(text, s.Pos.Line, at, at, w); consumed > 0 && strings.TrimSpace(text[consumed:]) != "" {
		n.exprError(s.Value, s.Pos.Line, at, at, &exprSyntaxError{0, 0, "text follows the closing }}"})
	}
}

// expression parses the expression at the start of text (just after "${{")
// and hands it to the secret scan and, where w records them, to the
// expressions of the step, job or workflow. offset is where its ${{ is in the file,
// start where text is. It returns how many bytes of text the expression
// and its closing "}}" took, 0 when nothing closes it.
func (n *normalizer) expression(text string, line, offset, start int, w where) int {
	if n.over != nil {
		return 0
	}
	p := n.parse(text)
	tree, consumed, err := p.tree, p.consumed, p.err
	inner := text
	if consumed >= 2 {
		inner = text[:consumed-2]
	}
	// An expression too long to parse is read no further (its tokens, its
	// text in the document) than the parser would.
	inner = cut(inner, MaxExpressionSize)
	n.exprs.count--
	n.exprs.bytes -= len(inner)
	switch {
	case n.exprs.count < 0:
		n.over = fmt.Errorf("more than %d ${{ }} expressions (aliases expanded)", MaxExpressions)
		return 0
	case n.exprs.bytes < 0:
		n.over = fmt.Errorf("more than %d bytes of ${{ }} expressions (aliases expanded)", MaxExpressionBytes)
		return 0
	}
	if err != nil {
		n.exprError(inner, line, offset, start, err)
	}
	e := expression{text: inner, line: line, offset: offset, tree: tree}
	if mentionsSecrets(inner) {
		n.secrets.read(&e, w)
	}
	if w.exprs != nil {
		if p.contexts == nil {
			if tree != nil {
				p.contexts = treeContexts(tree)
			} else {
				p.contexts = tokenContexts(inner)
			}
		}
		*w.exprs = append(*w.exprs, pendingExpr{
			expr:   Expression{Field: w.field + w.name, Text: strings.TrimSpace(inner), Contexts: p.contexts, Line: line},
			offset: offset,
			seq:    len(*w.exprs),
		})
	}
	return consumed
}

// parsedExpr is what parseExpr makes of an expression, and the contexts
// it reads once they are asked for.
type parsedExpr struct {
	tree     actionlint.ExprNode
	consumed int
	err      *exprSyntaxError
	contexts []string
}

// parse is parseExpr, remembering the expressions that parse: the same
// text recurs in a workflow (runner.os, secrets.GITHUB_TOKEN, an output
// read by several steps), and its tree and contexts never change.
func (n *normalizer) parse(text string) *parsedExpr {
	end := closingOffset(text)
	if p, ok := n.parsed[text[:end]]; ok && end > 0 {
		return p
	}
	tree, consumed, err := parseExpr(text)
	p := &parsedExpr{tree: tree, consumed: consumed, err: err}
	// Only an expression that ends at the first }} is known by the text
	// before it: one that does not parse may end later ('a}}b' …).
	if err == nil && consumed == end {
		if n.parsed == nil {
			n.parsed = map[string]*parsedExpr{}
		}
		n.parsed[text[:end]] = p
	}
	return p
}

// exprSyntaxError is why an expression does not parse, at a position in
// its text.
type exprSyntaxError struct {
	line, column int // 1-based, in the expression's text; 0 for the whole expression
	message      string
}

func (e *exprSyntaxError) Error() string { return e.message }

// parseExpr parses the expression at the start of text (just after "${{").
// It returns the tree, nil with the error when it does not parse, and the
// bytes the expression and its "}}" took (0 when nothing closes it). The
// parser recurses once per nesting level: it never reads more than
// MaxExpressionSize bytes, so that a hostile nest cannot overflow the stack.
func parseExpr(text string) (tree actionlint.ExprNode, consumed int, err *exprSyntaxError) {
	defer func() {
		// A panic in the parser costs this expression, not the file.
		if r := recover(); r != nil {
			tree, consumed, err = nil, closingOffset(text), &exprSyntaxError{0, 0, fmt.Sprintf("expression parser panicked: %v", r)}
		}
	}()
	bounded := text
	if len(bounded) > MaxExpressionSize {
		bounded = bounded[:MaxExpressionSize]
	}
	lexer := actionlint.NewExprLexer(bounded)
	tree, perr := actionlint.NewExprParser().Parse(lexer)
	if perr == nil {
		return tree, lexer.Offset(), nil
	}
	consumed = closingOffset(text)
	switch {
	case consumed == 0:
		return nil, 0, &exprSyntaxError{0, 0, "not closed by }}"}
	case consumed > MaxExpressionSize:
		return nil, consumed, &exprSyntaxError{0, 0, fmt.Sprintf("longer than %d bytes", MaxExpressionSize)}
	}
	return nil, consumed, &exprSyntaxError{perr.Line, perr.Column, oneline.Fold(perr.Message)}
}

// exprError reports an expression that does not parse as a parse error
// of the workflow, at the position the parser names.
func (n *normalizer) exprError(text string, line, offset, start int, err *exprSyntaxError) {
	column := err.column
	switch err.line {
	case 0: // the whole expression
		column = n.src.column(offset)
	case 1: // on the line the text starts on
		column += n.src.column(start) - 1
	}
	n.parseErrors = append(n.parseErrors, ParseError{
		Line:    line + max(err.line, 1) - 1,
		Column:  column,
		Message: fmt.Sprintf("expression ${{ %s }} does not parse: %s", brief(text), err.message),
	})
}

// brief returns s on one line, cut to 80 bytes, for a message.
func brief(s string) string {
	s = oneline.Fold(s)
	if len(s) > 80 {
		s = cut(s, 80) + "…"
	}
	return s
}

// recorded returns the expressions in file order: by offset, then in the
// order they were found (an alias's text is reached more than once).
func recorded(pending []pendingExpr) []Expression {
	slices.SortStableFunc(pending, func(a, b pendingExpr) int {
		return cmp.Or(cmp.Compare(a.offset, b.offset), cmp.Compare(a.seq, b.seq))
	})
	out := make([]Expression, len(pending))
	for i, p := range pending {
		out[i] = p.expr
	}
	return out
}

// treeContexts returns the property paths an expression reads (see
// Expression.Contexts), each once, in the order they appear.
func treeContexts(tree actionlint.ExprNode) []string {
	c := contextWalk{out: []string{}}
	c.walk(tree)
	return c.out
}

type contextWalk struct {
	out  []string
	segs []string // reused: the segments of a path, last first
	// seen indexes out once it is long, so that a hostile expression of
	// thousands of paths costs no quadratic search.
	seen map[string]bool
}

func (c *contextWalk) walk(node actionlint.ExprNode) {
	if c.path(node) {
		return
	}
	switch n := node.(type) {
	case *actionlint.ObjectDerefNode:
		c.walk(n.Receiver) // fromJSON(x).y: the receiver reads x
	case *actionlint.ArrayDerefNode:
		c.walk(n.Receiver)
	case *actionlint.IndexAccessNode:
		c.walk(n.Operand)
		c.walk(n.Index)
	case *actionlint.NotOpNode:
		c.walk(n.Operand)
	case *actionlint.CompareOpNode:
		c.walk(n.Left)
		c.walk(n.Right)
	case *actionlint.LogicalOpNode:
		c.walk(n.Left)
		c.walk(n.Right)
	case *actionlint.FuncCallNode:
		for _, a := range n.Args {
			c.walk(a)
		}
	}
}

// path records node when it is a property path from a context (github,
// steps, …), and walks the index expressions inside it: in
// github.event[inputs.key], inputs.key is read as well.
func (c *contextWalk) path(node actionlint.ExprNode) bool {
	segs := c.segs[:0]
	var indexes []actionlint.ExprNode
	for {
		switch n := node.(type) {
		case *actionlint.VariableNode:
			var b strings.Builder
			b.WriteString(n.Name) // lower case, as the parser gives it
			for i := len(segs) - 1; i >= 0; i-- {
				b.WriteByte('.')
				b.WriteString(segs[i])
			}
			c.segs = segs
			c.add(b.String())
			for _, idx := range indexes {
				c.walk(idx)
			}
			return true
		case *actionlint.ObjectDerefNode:
			segs = append(segs, n.Property) // lower case, as the parser gives it
			node = n.Receiver
		case *actionlint.ArrayDerefNode:
			segs = append(segs, "*")
			node = n.Receiver
		case *actionlint.IndexAccessNode:
			if s, ok := n.Index.(*actionlint.StringNode); ok {
				segs = append(segs, strings.ToLower(s.Value))
			} else {
				segs = append(segs, "*")
				indexes = append(indexes, n.Index)
			}
			node = n.Operand
		default:
			c.segs = segs
			return false
		}
	}
}

func (c *contextWalk) add(path string) {
	switch {
	case c.seen != nil:
		if c.seen[path] {
			return
		}
		c.seen[path] = true
	case len(c.out) < 16: // an expression reads a few contexts
		if slices.Contains(c.out, path) {
			return
		}
	default:
		c.seen = make(map[string]bool, 2*len(c.out))
		for _, p := range c.out {
			c.seen[p] = true
		}
		if c.seen[path] {
			return
		}
		c.seen[path] = true
	}
	c.out = append(c.out, path)
}

// tokenContexts reads the contexts of an expression the parser rejected
// from its tokens: an identifier that is no function name nor keyword,
// followed by .name, .*, ['name'] or [other].
func tokenContexts(text string) []string {
	c := contextWalk{out: []string{}}
	ts := lexAll(text)
	for i := 0; i < len(ts); i++ {
		t := ts[i]
		if t.Kind != actionlint.TokenKindIdent || (i > 0 && ts[i-1].Kind == actionlint.TokenKindDot) ||
			(i+1 < len(ts) && ts[i+1].Kind == actionlint.TokenKindLeftParen) ||
			t.Value == "true" || t.Value == "false" || t.Value == "null" {
			continue
		}
		var b strings.Builder
		b.WriteString(strings.ToLower(t.Value))
	chain:
		for i+1 < len(ts) {
			next := ts[i+1]
			switch {
			case next.Kind == actionlint.TokenKindDot && i+2 < len(ts) && ts[i+2].Kind == actionlint.TokenKindIdent:
				b.WriteString("." + strings.ToLower(ts[i+2].Value))
				i += 2
			case next.Kind == actionlint.TokenKindDot && i+2 < len(ts) && ts[i+2].Kind == actionlint.TokenKindStar:
				b.WriteString(".*")
				i += 2
			case next.Kind == actionlint.TokenKindLeftBracket && i+3 < len(ts) &&
				ts[i+2].Kind == actionlint.TokenKindString && ts[i+3].Kind == actionlint.TokenKindRightBracket:
				s := ts[i+2].Value
				b.WriteString("." + strings.ToLower(strings.ReplaceAll(s[1:len(s)-1], "''", "'")))
				i += 3
			case next.Kind == actionlint.TokenKindLeftBracket:
				b.WriteString(".*")
				break chain // the index's own contexts are read after
			default:
				break chain
			}
		}
		c.add(b.String())
	}
	return c.out
}

// mentionsSecrets reports whether s holds "secrets" in any case. Text that
// does not cannot read the secrets context, so the secret scan skips it,
// which is most expressions.
func mentionsSecrets(s string) bool {
	const name = "secrets"
	for i := 0; i+len(name) <= len(s); i++ {
		if (s[i] == 's' || s[i] == 'S') && strings.EqualFold(s[i:i+len(name)], name) {
			return true
		}
	}
	return false
}

// cut returns at most n bytes of s, cut on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
