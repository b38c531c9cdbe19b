package input

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/runpolicy/runpolicy/internal/oneline"
)

// YAML helpers: decoding a workflow into a node tree within the limits of
// limits.go, and reading that tree. actionlint decodes the file itself;
// runpolicy decodes it only where actionlint's tree cannot be trusted (see
// parse) or lacks something (shapes.go).

// decodeYAML decodes src into a node tree and checks that the tree, with its
// aliases expanded, stays within MaxYAMLNodes and MaxYAMLDepth. It returns
// the root mapping of the document.
func decodeYAML(src []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := guard(func() error { return yaml.Unmarshal(src, &doc) }); err != nil {
		return nil, fmt.Errorf("not YAML: %s", oneline.Fold(strings.TrimPrefix(err.Error(), "yaml: ")))
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

// unalias returns the node an alias points to; n itself otherwise, nil
// included.
func unalias(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}
