package engine

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Locator says where a data file sets a path of data, as "file:line", or
// "" when it does not set it. OPA merges data files into one document and
// keeps no positions, so errors about data find their file through this.
type Locator func(path []string) string

// DataFile is one data file's text, for Locate.
type DataFile struct {
	// Name is what errors call the file (a path).
	Name string
	// Prefix is the data path the file's document sits at: a bundle's
	// a/b/data.yaml holds data.a.b.
	Prefix []string
	// Src is the file's JSON or YAML text.
	Src []byte
}

// Locate is a Locator over files, the last one that sets a path winning,
// as it does when the files are merged. A file that does not parse as YAML
// (JSON is YAML) locates nothing; its reader reports it.
func Locate(files ...DataFile) Locator {
	type parsed struct {
		f    DataFile
		root *yaml.Node
	}
	var docs []parsed
	for _, f := range files {
		var n yaml.Node
		if err := yaml.Unmarshal(f.Src, &n); err != nil || len(n.Content) == 0 {
			continue
		}
		docs = append(docs, parsed{f, n.Content[0]})
	}
	return func(path []string) string {
		for i := len(docs) - 1; i >= 0; i-- {
			d := docs[i]
			if len(path) < len(d.f.Prefix) {
				continue
			}
			match := true
			for j, p := range d.f.Prefix {
				if path[j] != p {
					match = false
					break
				}
			}
			if !match {
				continue
			}
			if line := lineOf(d.root, path[len(d.f.Prefix):]); line > 0 {
				return fmt.Sprintf("%s:%d", d.f.Name, line)
			}
		}
		return ""
	}
}

// lineOf is the line of the key that sets path under n, 0 when n does not
// set it (the document's own line for the empty path).
func lineOf(n *yaml.Node, path []string) int {
	line := n.Line
	for _, key := range path {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		if n.Kind != yaml.MappingNode {
			return 0
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next, line = n.Content[i+1], n.Content[i].Line
			}
		}
		if next == nil {
			return 0
		}
		n = next
	}
	return line
}

// settingPath reads the data path a settings error starts with, as
// runpolicy.config writes them: `settings.repositories["acme/*"].x.mode: …`
// is [runpolicy settings repositories acme/* x mode]. nil when the message
// does not start with one.
func settingPath(msg string) []string {
	head, _, ok := strings.Cut(msg, ": ")
	if !ok {
		return nil
	}
	path := []string{ReservedRoot}
	for head != "" {
		switch {
		case strings.HasPrefix(head, "["):
			q, err := strconv.QuotedPrefix(head[1:])
			if err != nil || !strings.HasPrefix(head[1+len(q):], "]") {
				return nil
			}
			s, err := strconv.Unquote(q)
			if err != nil {
				return nil
			}
			path = append(path, s)
			head = head[len(q)+2:]
		case strings.HasPrefix(head, "."):
			head = head[1:]
		default:
			i := strings.IndexAny(head, ".[")
			if i < 0 {
				i = len(head)
			}
			if i == 0 || strings.ContainsAny(head[:i], " \"]") {
				return nil
			}
			path = append(path, head[:i])
			head = head[i:]
		}
	}
	return path
}
