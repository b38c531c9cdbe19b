package input

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
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
	for _, b := range src {
		switch b {
		case ',', '[', '{', '-', ':', '?', '\n':
			structure++
		}
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
// MaxYAMLNodes, since every node but the root needs one of the structural
// characters checkBytes counted, a key and its value share one.
//
// The scan is conservative: it may call a safe file unsafe (which then costs
// one more decode), never the reverse for aliases. It does not tokenize
// YAML: it reads each line with the few rules that matter here.
func simpleYAML(src []byte) bool {
	type frame struct{ indent, depth int }
	// stack holds, for the lines enclosing the current one, an upper bound
	// on the depth of their nodes; the document itself is depth 1.
	stack := []frame{{indent: -1, depth: 1}}
	flow := 0 // open [ and { not closed yet, an over-estimate of flow nesting
	for len(src) > 0 {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i], src[i+1:]
		} else {
			src = nil
		}
		indent := 0
		for indent < len(line) && line[indent] == ' ' {
			indent++
		}
		rest := bytes.TrimRight(line[indent:], " \t\r")
		if len(rest) == 0 || rest[0] == '#' {
			continue // blank or comment: no node starts here
		}
		for len(stack) > 1 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		sc := lineScan{flow: flow, deepest: flow}
		if !sc.scan(rest) {
			return false
		}
		flow = sc.flow
		// A line's nodes sit at most two levels below the enclosing line's
		// (a mapping, or an indentless sequence, and its entries), plus one
		// per indicator on the line and the flow collections open on it.
		depth := stack[len(stack)-1].depth + 2 + sc.indicators + sc.deepest
		if depth > MaxYAMLDepth {
			return false
		}
		stack = append(stack, frame{indent, depth})
	}
	return true
}

// lineScan reads one line for simpleYAML.
type lineScan struct {
	flow       int // open flow collections
	deepest    int // the most flow collections open at once on the line
	indicators int // "- ", "? " and ":" indicators that may start a nested node
}

// scan reads line (without indentation) and reports false when it may hold
// an alias or a quoted scalar that does not end on this line (the scan does
// not follow scalars across lines, so it cannot vouch for what follows).
func (s *lineScan) scan(line []byte) bool {
	// prev is the last byte that is not blank, 0 at the start of the line. A
	// node (and so an alias or a quoted scalar) can start only after the
	// start of a line, an indicator or a node property.
	var prev byte
	nodeStart := func() bool {
		switch prev {
		case 0, '-', '?', ':', '[', '{', ',':
			return true
		}
		return false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch c {
		case ' ', '\t':
			continue
		case '\r', 0xC2, 0xE2:
			// A line break other than \n (a lone CR, NEL, LS or PS) would
			// start a line this scan does not see.
			if c == '\r' || bytes.HasPrefix(line[i:], []byte("\u0085")) ||
				bytes.HasPrefix(line[i:], []byte("\u2028")) || bytes.HasPrefix(line[i:], []byte("\u2029")) {
				return false
			}
		case 0xEF:
			if bytes.HasPrefix(line[i:], []byte("\uFEFF")) {
				i += 2 // a byte order mark reads as a blank
				continue
			}
		case '#':
			if i == 0 || line[i-1] == ' ' || line[i-1] == '\t' {
				return true // a comment runs to the end of the line
			}
		case '*':
			if nodeStart() && i+1 < len(line) && anchorByte(line[i+1]) {
				return false // an alias
			}
		case '&', '!':
			if nodeStart() {
				// An anchor or a tag: the node itself follows.
				for i+1 < len(line) && anchorByte(line[i+1]) {
					i++
				}
				continue
			}
		case '\'', '"':
			if nodeStart() {
				end := quoteEnd(line, i)
				if end < 0 {
					return false // a quoted scalar over several lines
				}
				i = end
			}
		case '[', '{':
			s.flow++
			s.deepest = max(s.deepest, s.flow)
		case ']', '}':
			s.flow = max(s.flow-1, 0)
		case '-', '?':
			if prev == 0 || prev == '-' || prev == '?' {
				if i+1 == len(line) || line[i+1] == ' ' || line[i+1] == '\t' {
					s.indicators++
				}
			}
		case ':':
			if i+1 == len(line) || strings.IndexByte(" \t,[]{}", line[i+1]) >= 0 {
				s.indicators++
			}
		}
		prev = c
	}
	return true
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

// decodeYAML decodes src into a node tree and checks that the tree, with its
// aliases expanded, stays within MaxYAMLNodes and MaxYAMLDepth. It returns
// the root mapping of the document.
func decodeYAML(src []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := guard(func() error { return yaml.Unmarshal(src, &doc) }); err != nil {
		return nil, fmt.Errorf("not YAML: %s", oneLine(strings.TrimPrefix(err.Error(), "yaml: ")))
	}
	m := measurer{done: map[*yaml.Node]extent{}, active: map[*yaml.Node]bool{}}
	if _, err := m.measure(&doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("not a workflow: the file holds no YAML document")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a workflow: the document is a %s, not a mapping", kindName(root.Kind))
	}
	if mappingValue(root, "jobs") == nil && mappingValue(root, "on") == nil {
		return nil, errors.New("not a workflow: the mapping has neither \"on\" nor \"jobs\"")
	}
	return root, nil
}

// extent is the size and height of a subtree with aliases expanded.
type extent struct{ nodes, depth int }

// measurer computes extents, remembering those of anchored nodes so that a
// subtree referenced by many aliases is walked once.
type measurer struct {
	done   map[*yaml.Node]extent
	active map[*yaml.Node]bool // anchored nodes being walked: an alias to one is a cycle
}

func (m *measurer) measure(n *yaml.Node) (extent, error) {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return extent{1, 1}, nil
		}
		n = n.Alias
	}
	if n.Anchor != "" {
		if e, ok := m.done[n]; ok {
			return e, nil
		}
		if m.active[n] {
			return extent{}, fmt.Errorf("YAML alias to its own ancestor at line %d (anchor %q)", n.Line, n.Anchor)
		}
		m.active[n] = true
		defer delete(m.active, n)
	}
	total := extent{nodes: 1, depth: 1}
	for _, c := range n.Content {
		e, err := m.measure(c)
		if err != nil {
			return extent{}, err
		}
		total.nodes += e.nodes
		if e.depth+1 > total.depth {
			total.depth = e.depth + 1
		}
		if total.nodes > MaxYAMLNodes {
			return extent{}, fmt.Errorf("YAML expands to more than %d nodes (alias bomb?) near line %d", MaxYAMLNodes, n.Line)
		}
		if total.depth > MaxYAMLDepth {
			return extent{}, fmt.Errorf("YAML nested deeper than %d levels near line %d", MaxYAMLDepth, n.Line)
		}
	}
	if n.Anchor != "" {
		m.done[n] = total
	}
	return total, nil
}

// mappingValue returns the value of key in mapping node n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.DocumentNode:
		return "document"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.MappingNode:
		return "mapping"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "node"
}

// guard runs a third-party parser and turns a panic into an error, so that
// a parser bug on hostile input costs one workflow, not the process.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parser panicked: %v", r)
		}
	}()
	return f()
}

// oneLine joins a multi-line message into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
