package input

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on a workflow file. Workflow files come from whoever can push a
// branch, so a hostile file must fail fast with bounded memory instead of
// reaching the YAML decoder or actionlint's tree walk.
const (
	// MaxWorkflowSize is the largest workflow file Parse accepts, in bytes.
	// Real workflows are a few kilobytes; the largest public ones stay far
	// below 1 MiB.
	MaxWorkflowSize = 4 << 20

	// MaxYAMLStructure caps the structural characters (, [ { - : ? and line
	// breaks) of a file. It is a cheap upper bound on the number of YAML
	// nodes, checked before decoding, because decoding costs about 250 bytes
	// of memory per node.
	MaxYAMLStructure = 200_000

	// MaxYAMLNodes caps the nodes of the tree with every alias expanded. It
	// stops "billion laughs" alias bombs, which are small on disk but expand
	// exponentially when actionlint walks the tree.
	MaxYAMLNodes = 500_000

	// MaxYAMLDepth caps the nesting depth of the tree (aliases expanded).
	// Real workflows nest about ten levels.
	MaxYAMLDepth = 100

	// MaxScriptSize is the most of one run: script that Script.Text
	// holds, in bytes; a longer script is cut (Script.Truncated). Its
	// expressions are all recorded all the same.
	MaxScriptSize = 64 << 10

	// MaxScriptBytes caps the script text of all steps together, each cut
	// to MaxScriptSize, with aliases expanded: a script anchored once and
	// aliased by thousands of steps would be judged thousands of times.
	MaxScriptBytes = 16 << 20

	// MaxExpressionSize caps one ${{ }} expression, in bytes: a longer one
	// is a parse error. Real expressions stay under 1 KiB. actionlint's
	// expression parser recurses once per nesting level, and without this
	// bound a file of "(((…" overflows the stack, which no recover stops.
	MaxExpressionSize = 16 << 10

	// MaxExpressions and MaxExpressionBytes cap the ${{ }} expressions of
	// a workflow and their text, counted with aliases expanded. The
	// largest real workflows hold a few hundred.
	MaxExpressions     = 20_000
	MaxExpressionBytes = 16 << 20
)

// checkBytes rejects input that is not a text file Parse is willing to decode.
func checkBytes(src []byte) error {
	if len(src) > MaxWorkflowSize {
		return fmt.Errorf("file is %d bytes, over the limit of %d", len(src), MaxWorkflowSize)
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return errors.New("empty file")
	}
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return fmt.Errorf("binary data: NUL byte at offset %d", i)
	}
	if !utf8.Valid(src) {
		return errors.New("binary data: not valid UTF-8")
	}
	structure := 0
	for _, c := range []byte(",[{-:?\n") {
		structure += bytes.Count(src, []byte{c})
	}
	if structure > MaxYAMLStructure {
		return fmt.Errorf("too much YAML structure: %d structural characters, over the limit of %d", structure, MaxYAMLStructure)
	}
	return nil
}

// simpleYAML reports whether a byte scan proves src safe to hand to
// actionlint without decoding and measuring it first: it has no YAML alias,
// so its tree cannot expand, and an upper bound on its nesting depth is
// within MaxYAMLDepth. Without aliases the tree also stays under
// MaxYAMLNodes: every node but the root needs one of the structural
// characters checkBytes counted, and a key and its value share one.
//
// The scan is conservative: it may call a safe file unsafe, which then costs
// one more decode, but never lets an alias through. It does not tokenize
// YAML; it follows lines, indentation, block scalars, quotes and flow
// brackets with the few rules that decide where a node can start.
func simpleYAML(src []byte) bool {
	if otherLineBreak(src) {
		return false // lines this scan would not see
	}
	s := yamlScan{stack: []frame{{indent: -1, depth: 1}}} // the document is depth 1
	for len(src) > 0 {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i], src[i+1:]
		} else {
			src = nil
		}
		if !s.line(line) {
			return false
		}
	}
	return true
}

// otherLineBreak reports whether src breaks lines with anything but \n and
// \r\n: the YAML decoder also takes a lone CR, NEL, LS and PS.
func otherLineBreak(src []byte) bool {
	if bytes.Contains(src, []byte("\u0085")) || bytes.Contains(src, []byte("\u2028")) || bytes.Contains(src, []byte("\u2029")) {
		return true
	}
	for rest := src; ; {
		i := bytes.IndexByte(rest, '\r')
		if i < 0 {
			return false
		}
		if i+1 == len(rest) || rest[i+1] != '\n' {
			return true
		}
		rest = rest[i+2:]
	}
}

// frame is an upper bound on the depth of the nodes of a line, kept while
// more indented lines follow.
type frame struct{ indent, depth int }

// yamlScan is the state simpleYAML carries from line to line.
type yamlScan struct {
	stack []frame
	flow  int // open [ and {, never fewer than the decoder has open
	// A block scalar (| or >) takes the lines indented at least
	// blockIndent; it must be more indented than blockParent. blockIndent
	// is 0 until its first line of text sets it.
	block                    bool
	blockParent, blockIndent int
	blankIndent              int // the most spaces of its leading blank lines
}

// line reads one line and reports false when it may hold an alias, nests
// too deep, or holds something the scan cannot follow.
func (s *yamlScan) line(line []byte) bool {
	indent := 0
	for indent < len(line) && line[indent] == ' ' {
		indent++
	}
	rest := line[indent:]
	for len(rest) > 0 && (rest[len(rest)-1] == ' ' || rest[len(rest)-1] == '\t' || rest[len(rest)-1] == '\r') {
		rest = rest[:len(rest)-1]
	}
	if s.block {
		if len(rest) == 0 {
			s.blankIndent = max(s.blankIndent, indent)
			return true
		}
		if s.blockIndent == 0 {
			s.blockIndent = max(indent, s.blankIndent, s.blockParent+1)
		}
		if indent >= s.blockIndent {
			return true // text of the scalar
		}
		s.block = false
	}
	if len(rest) == 0 || rest[0] == '#' {
		return true // blank or comment: no node starts here
	}
	for len(s.stack) > 1 && s.stack[len(s.stack)-1].indent >= indent {
		s.stack = s.stack[:len(s.stack)-1]
	}
	ls := lineScan{indent: indent, flow: s.flow, deepest: s.flow, parent: indent - 1}
	if !ls.scan(rest) {
		return false
	}
	s.flow = ls.flow
	// The nodes of a line sit at most two levels below those of the
	// enclosing line (a mapping, or an indentless sequence, and an entry),
	// plus one per indicator and open flow collection on the line.
	depth := s.stack[len(s.stack)-1].depth + 2 + ls.indicators + ls.deepest
	if depth > MaxYAMLDepth {
		return false
	}
	s.stack = append(s.stack, frame{indent, depth})
	if ls.header != 0 {
		s.block, s.blockParent, s.blockIndent, s.blankIndent = true, ls.parent, 0, 0
		if ls.header > 0 { // an explicit indentation indicator
			s.blockIndent = ls.parent + ls.header
		}
	}
	return true
}

// lineScan reads the text of one line (after its indentation).
type lineScan struct {
	indent     int
	flow       int // open flow collections
	deepest    int // the most flow collections open at once on the line
	indicators int // "- ", "? " and ":" indicators, each may open a nested node
	// header is set when the line ends with a block scalar header: -1, or
	// its indentation indicator. parent is then the indentation of the
	// collection the scalar belongs to, or more (which only ends the scalar
	// early, so that more lines are scanned).
	header, parent int
}

// scan reports false when the line may hold an alias or a quoted scalar
// that goes on to the next line, which the scan does not follow.
func (s *lineScan) scan(line []byte) bool {
	start := true   // a node may start here
	quoted := false // the last token was a quoted scalar or a closing bracket
	for i := 0; i < len(line); i++ {
		if !start && s.flow == 0 {
			// Inside a scalar in block context, only ": " (a key ends)
			// and " #" (a comment starts) can matter: jump to them.
			j := indexColonOrHash(line[i:])
			if j < 0 {
				return true
			}
			i += j
		}
		c := line[i]
		blankAfter := i+1 == len(line) || line[i+1] == ' ' || line[i+1] == '\t'
		switch {
		case c == ' ' || c == '\t':
			continue
		case c == 0xEF && bytes.HasPrefix(line[i:], []byte("\uFEFF")):
			i += 2 // a byte order mark reads as a blank
			continue
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return true // a comment runs to the end of the line
		case c == '*' && start:
			if i+1 < len(line) && anchorByte(line[i+1]) {
				return false // an alias
			}
		case i == 0 && s.indent == 0 && (bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("..."))) &&
			(len(line) == 3 || line[3] == ' ' || line[3] == '\t'):
			i += 2 // a document marker; a node may follow
			continue
		case (c == '&' || c == '!') && start:
			// An anchor or a tag: the node itself follows.
			s.parent = s.indent + i
			for i+1 < len(line) && anchorByte(line[i+1]) {
				i++
			}
			continue
		case (c == '\'' || c == '"') && start:
			s.parent = s.indent + i
			end := quoteEnd(line, i)
			if end < 0 {
				return false // a quoted scalar over several lines
			}
			i, start, quoted = end, false, true
			continue
		case (c == '|' || c == '>') && start && s.flow == 0:
			if h, ok := blockHeader(line[i+1:]); ok {
				s.header = h
				return true
			}
		case c == '[' || c == '{':
			s.flow++
			s.deepest = max(s.deepest, s.flow)
			start, quoted = true, false
			continue
		case c == ']' || c == '}':
			s.flow = max(s.flow-1, 0)
			start, quoted = false, true
			continue
		case c == ',' && s.flow > 0:
			start, quoted = true, false
			continue
		case (c == '-' || c == '?') && start && blankAfter:
			s.indicators++
			s.parent = s.indent + i // a block sequence or explicit key at this column
			continue
		case c == ':' && (blankAfter || strings.IndexByte(",[]{}", line[i+1]) >= 0 || (s.flow > 0 && quoted)):
			s.indicators++
			start, quoted = true, false
			continue
		}
		if start {
			// The first byte of a plain scalar. The node that starts last
			// before a block scalar header is the key (or the entry) whose
			// collection the scalar belongs to.
			s.parent = s.indent + i
		}
		start, quoted = false, false
	}
	return true
}

// indexColonOrHash returns the index of the first ':' or '#' in b, or -1.
func indexColonOrHash(b []byte) int {
	i, j := bytes.IndexByte(b, ':'), bytes.IndexByte(b, '#')
	if i < 0 || (j >= 0 && j < i) {
		return j
	}
	return i
}

// blockHeader reads what follows | or >: indentation and chomping
// indicators, then nothing but a comment. It returns the indentation
// indicator, -1 without one.
func blockHeader(rest []byte) (indicator int, ok bool) {
	indicator = -1
	for i, c := range rest {
		switch {
		case c == '+' || c == '-':
		case c >= '1' && c <= '9' && indicator < 0:
			indicator = int(c - '0')
		case c == ' ' || c == '\t':
			rest = bytes.TrimLeft(rest[i:], " \t")
			return indicator, len(rest) == 0 || rest[0] == '#'
		default:
			return 0, false
		}
	}
	return indicator, true
}

// anchorByte reports whether c can be part of an anchor or alias name.
func anchorByte(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', '[', ']', '{', '}':
		return false
	}
	return true
}

// quoteEnd returns the index of the quote that closes the quoted scalar
// opening at line[start], or -1 when it does not close on this line.
func quoteEnd(line []byte, start int) int {
	q := line[start]
	for i := start + 1; i < len(line); i++ {
		switch {
		case line[i] == q && q == '\'' && i+1 < len(line) && line[i+1] == '\'':
			i++ // '' is a quote inside single quotes
		case line[i] == q:
			return i
		case q == '"' && line[i] == '\\':
			i++
		}
	}
	return -1
}
