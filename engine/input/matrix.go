package input

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/rhysd/actionlint"
)

// A job's runs-on, container image and service images may name matrix
// values (${{ matrix.os }}). When the matrix is written out in the file,
// GitHub can only run the job with the values it lists, so each of them is
// judged rather than the expression warned about. Anything else an
// expression can read (inputs, needs, a matrix given by an expression, an
// include entry with an expression) is decided at run time.

// maxCombinations bounds the combinations expanded for one job. GitHub runs
// at most 256 jobs per matrix; a product above the bound (before exclude
// trims it) is judged as decided at run time.
const maxCombinations = 1024

// maxMatrixWork bounds the work of expanding every matrix of one file:
// combinations made plus include and exclude entries compared with them.
// Past it, a matrix is judged as decided at run time, so that a file of
// many large matrices costs Parse a bounded time.
const maxMatrixWork = 1 << 18

// matrixBudget is the work left for the matrices of one file.
type matrixBudget struct{ left int }

// spend takes n units of work, and reports false when there were not that
// many left.
func (b *matrixBudget) spend(n int) bool {
	if n > b.left {
		b.left = 0
		return false
	}
	b.left -= n
	return true
}

// combination is one job of a matrix: its values by lower-case key, as
// GitHub compares them.
type combination map[string]actionlint.RawYAMLValue

// matrixValues are the combinations of a job's matrix. A value an
// expression decides at run time is kept as its expression text (a row
// given by an expression is one such value), so that every literal value
// beside it is still judged; what reads it is decided at run time. known
// is false when the whole matrix is an expression, or there are too many
// combinations. unsure is true when which combinations GitHub makes
// depends on a value decided at run time (include given by an expression,
// or an include entry that may or may not match): every literal value is
// in the combinations, but what reads them is decided at run time too.
type matrixValues struct {
	combinations []combination
	known        bool
	unsure       bool
}

// lazy returns a function that expands the matrix of a job the first time
// runs-on or an image needs it, and then returns the same values.
func (b *matrixBudget) lazy(s *actionlint.Strategy) func() matrixValues {
	var (
		mv   matrixValues
		done bool
	)
	return func() matrixValues {
		if !done {
			mv, done = expandMatrix(s, b), true
		}
		return mv
	}
}

// expandMatrix computes the combinations of a matrix as GitHub does: the
// product of the rows, less the exclude entries, then each include entry
// added to every combination whose original values it matches, or as a
// combination of its own when it matches none.
func expandMatrix(s *actionlint.Strategy, budget *matrixBudget) matrixValues {
	if s == nil || s.Matrix == nil {
		// One job, whose matrix values are all null.
		return matrixValues{combinations: []combination{{}}, known: true}
	}
	m := s.Matrix
	if m.Expression != nil {
		return matrixValues{}
	}
	mv := matrixValues{known: true}
	original := map[string]bool{}
	// runTime are the original keys with a value decided at run time: an
	// include entry naming one may or may not match.
	runTime := map[string]bool{}
	product := []combination{}
	for _, key := range rowKeys(m.Rows) {
		row := m.Rows[key]
		if row == nil {
			return matrixValues{}
		}
		values := row.Values
		if row.Expression != nil {
			values = []actionlint.RawYAMLValue{&actionlint.RawYAMLString{Value: row.Expression.Value}}
		}
		original[key] = true
		runTime[key] = hasExpression(values...)
		if len(product) == 0 {
			product = []combination{{}}
		}
		if len(product)*len(values) > maxCombinations || !budget.spend(len(product)*len(values)) {
			return matrixValues{}
		}
		next := make([]combination, 0, len(product)*len(values))
		for _, c := range product {
			for _, v := range values {
				n := make(combination, len(c)+1)
				for k, cv := range c {
					n[k] = cv
				}
				n[key] = v
				next = append(next, n)
			}
		}
		product = next
	}
	// An exclude entry written with an expression is left out: excluding
	// fewer combinations judges more of them, never fewer.
	if m.Exclude != nil && m.Exclude.Expression == nil {
		if !budget.spend(len(product) * len(m.Exclude.Combinations)) {
			return matrixValues{}
		}
		kept := product[:0]
		for _, c := range product {
			if !excluded(c, m.Exclude.Combinations) {
				kept = append(kept, c)
			}
		}
		product = kept
	}
	var added []combination
	if m.Include != nil {
		if !budget.spend((len(product) + 1) * len(m.Include.Combinations)) {
			return matrixValues{}
		}
		mv.unsure = m.Include.Expression != nil
		for _, inc := range m.Include.Combinations {
			if inc == nil {
				continue
			}
			if inc.Expression != nil {
				mv.unsure = true
				continue
			}
			values := assigns(inc)
			for k, v := range values {
				if original[k] && (runTime[k] || hasExpression(v)) {
					mv.unsure = true // it matches what GitHub decides at run time
				}
			}
			matched := false
			for _, c := range product {
				if !matches(c, values, original) {
					continue
				}
				matched = true
				for k, v := range values {
					if !original[k] {
						c[k] = v
					}
				}
			}
			if !matched {
				added = append(added, values)
			}
		}
	}
	mv.combinations = append(product, added...)
	return mv
}

// rowKeys returns the keys of the rows in file order, so that the
// combinations, and what is made of them, come out in the same order on
// every parse.
func rowKeys(rows map[string]*actionlint.MatrixRow) []string {
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		pa, pb := rowPos(rows[a]), rowPos(rows[b])
		return cmp.Or(cmp.Compare(pa.Line, pb.Line), cmp.Compare(pa.Col, pb.Col), strings.Compare(a, b))
	})
	return keys
}

func rowPos(r *actionlint.MatrixRow) actionlint.Pos {
	if r != nil && r.Name != nil && r.Name.Pos != nil {
		return *r.Name.Pos
	}
	return actionlint.Pos{}
}

func assigns(c *actionlint.MatrixCombination) combination {
	out := make(combination, len(c.Assigns))
	for k, a := range c.Assigns {
		if a != nil && a.Value != nil {
			out[strings.ToLower(k)] = a.Value
		}
	}
	return out
}

// matches reports whether an include entry can extend c: every value it
// gives for an original key equals c's.
func matches(c, entry combination, original map[string]bool) bool {
	for k, v := range entry {
		if original[k] && (c[k] == nil || !c[k].Equals(v)) {
			return false
		}
	}
	return true
}

// excluded reports whether an exclude entry matches c: every value it gives
// equals c's.
func excluded(c combination, entries []*actionlint.MatrixCombination) bool {
	for _, e := range entries {
		if e == nil || e.Expression != nil {
			continue
		}
		all := true
		for k, a := range e.Assigns {
			v := c[strings.ToLower(k)]
			if a == nil || a.Value == nil || v == nil || !v.Equals(a.Value) {
				all = false
				break
			}
		}
		if all && len(e.Assigns) > 0 {
			return true
		}
	}
	return false
}

// hasExpression reports whether a value holds ${{ anywhere.
func hasExpression(values ...actionlint.RawYAMLValue) bool {
	for _, v := range values {
		switch v := v.(type) {
		case *actionlint.RawYAMLString:
			if strings.Contains(v.Value, "${{") {
				return true
			}
		case *actionlint.RawYAMLArray:
			if hasExpression(v.Elems...) {
				return true
			}
		case *actionlint.RawYAMLObject:
			for _, p := range v.Props {
				if hasExpression(p) {
					return true
				}
			}
		}
	}
	return false
}

// template is a string split at its ${{ }} expressions, each of which reads
// a matrix value: parts alternate between literal text (even indexes) and
// matrix paths (odd indexes).
type template struct {
	literals []string   // len(paths)+1 pieces of text
	paths    [][]string // lower-case property paths under matrix
	text     string     // as written
}

// whole reports whether the template is one expression and nothing else.
func (t template) whole() bool {
	return len(t.paths) == 1 && t.literals[0] == "" && t.literals[1] == ""
}

// parseTemplate splits s. ok is false when an expression in it reads
// anything but a matrix value, or cannot be parsed.
func parseTemplate(s string) (t template, ok bool) {
	t.text = s
	rest := s
	for {
		i := strings.Index(rest, "${{")
		if i < 0 {
			t.literals = append(t.literals, rest)
			return t, true
		}
		t.literals = append(t.literals, rest[:i])
		path, n := matrixPath(rest[i+3:])
		if path == nil {
			return template{}, false
		}
		t.paths = append(t.paths, path)
		rest = rest[i+3+n:]
	}
}

// runTimeTemplate stands for text whose expressions read more than matrix
// values: it renders as written, an expression GitHub evaluates at run
// time.
func runTimeTemplate(s string) template {
	return template{literals: []string{s}, text: s}
}

// readTemplate is parseTemplate, or runTimeTemplate for what it cannot
// read.
func readTemplate(s string) template {
	if t, ok := parseTemplate(s); ok {
		return t
	}
	return runTimeTemplate(s)
}

// renderOr is render, or the template as written when a value cannot be
// rendered: decided at run time.
func (t template) renderOr(c combination) []string {
	if texts, ok := t.render(c); ok {
		return texts
	}
	return []string{t.text}
}

// matrixPath parses the expression at the start of text (just after "${{")
// and returns the property path it reads under matrix (matrix.os,
// matrix['os'], matrix.config.os) with how many bytes the expression and
// its "}}" took; nil for any other expression. parseExpr bounds the
// parser's work and turns its panics into errors.
func matrixPath(text string) (path []string, consumed int) {
	tree, consumed, err := parseExpr(text)
	if err != nil {
		return nil, 0
	}
	var reversed []string
	for node := tree; ; {
		switch n := node.(type) {
		case *actionlint.VariableNode:
			if strings.ToLower(n.Name) != "matrix" || len(reversed) == 0 {
				return nil, 0
			}
			for i, j := 0, len(reversed)-1; i < j; i, j = i+1, j-1 {
				reversed[i], reversed[j] = reversed[j], reversed[i]
			}
			return reversed, consumed
		case *actionlint.ObjectDerefNode:
			reversed = append(reversed, strings.ToLower(n.Property))
			node = n.Receiver
		case *actionlint.IndexAccessNode:
			s, ok := n.Index.(*actionlint.StringNode)
			if !ok {
				return nil, 0
			}
			reversed = append(reversed, strings.ToLower(s.Value))
			node = n.Operand
		default:
			return nil, 0
		}
	}
}

// lookup returns the value at path in c, nil when there is none (GitHub
// evaluates it to null).
func lookup(c combination, path []string) actionlint.RawYAMLValue {
	v := c[path[0]]
	for _, p := range path[1:] {
		o, ok := v.(*actionlint.RawYAMLObject)
		if !ok {
			return nil
		}
		v = o.Props[p]
	}
	return v
}

// render returns every text t can become in combination c: more than one
// when a value's YAML type is ambiguous (3.10 is "3.10" quoted, 3.1 not).
// ok is false when a value is an array or an object, which GitHub would
// not render as written, or when there would be too many texts.
func (t template) render(c combination) (texts []string, ok bool) {
	texts = []string{t.literals[0]}
	for i, path := range t.paths {
		var forms []string
		switch v := lookup(c, path).(type) {
		case nil:
			forms = []string{""}
		case *actionlint.RawYAMLString:
			forms = scalarForms(v.Value)
		default:
			return nil, false
		}
		if len(texts)*len(forms) > maxCandidates {
			return nil, false // each ambiguous value doubles the texts
		}
		next := make([]string, 0, len(texts)*len(forms))
		for _, text := range texts {
			for _, f := range forms {
				next = append(next, text+f+t.literals[i+1])
			}
		}
		texts = next
	}
	return texts, true
}

// scalarForms returns the texts GitHub can make of a YAML scalar as
// actionlint keeps it, which does not say whether it was quoted: as
// written, and the way a number, a boolean or null reads once parsed.
func scalarForms(s string) []string {
	forms := []string{s}
	add := func(f string) {
		if f != s {
			forms = append(forms, f)
		}
	}
	switch s {
	case "~", "null", "Null", "NULL":
		add("")
		return forms
	case "true", "True", "TRUE":
		add("true")
		return forms
	case "false", "False", "FALSE":
		add("false")
		return forms
	}
	if looksNumeric(s) {
		if f, err := strconv.ParseFloat(strings.TrimPrefix(s, "+"), 64); err == nil {
			add(strconv.FormatFloat(f, 'f', -1, 64))
		} else if i, err := strconv.ParseInt(s, 0, 64); err == nil {
			add(strconv.FormatInt(i, 10))
		}
	}
	return forms
}

// looksNumeric reports whether s is a plain YAML number: digits, sign,
// point, exponent, or a 0x/0o integer.
func looksNumeric(s string) bool {
	if s == "" {
		return false
	}
	digits := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits = true
		case c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E' || c == 'x' || c == 'o' ||
			(c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'):
		default:
			return false
		}
	}
	return digits
}
