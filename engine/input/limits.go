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
