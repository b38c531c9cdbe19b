package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
)

// Bundle is one policy source loaded into the engine.
type Bundle struct {
	// Name identifies the source in errors, status and decision logs
	// ("builtin", a directory, a git URL, …).
	Name string
	// Bundle is OPA's bundle: modules, data and a manifest with revision and roots.
	Bundle *bundle.Bundle
	// Where finds the data file and line that set a data path, for errors
	// ("runpolicy/data.yaml:3"); nil when the reader kept no positions.
	Where Locator
}

// dataDoc is a data document merged over the bundles: a --data file.
type dataDoc struct {
	data map[string]any
	// name names it in errors when where finds no line: "data document 1",
	// or the file.
	name  string
	where Locator
}

// source names a data source in errors: who it is, and where in it path is
// set when that is known. A bundle's locations are inside the bundle, so
// its name stays; a data file's location names the file.
type source struct {
	who    string
	prefix bool // keep who before a location
	where  Locator
}

func (s source) at(path ...string) string {
	loc := ""
	if s.where != nil {
		loc = s.where(path)
	}
	switch {
	case loc == "":
		return s.who
	case s.prefix:
		return s.who + ": " + loc
	default:
		return loc
	}
}

// composition is every bundle's modules and data merged into what one
// compiler and one store are built from.
type composition struct {
	modules   map[string]*ast.Module
	data      map[string]any
	revisions map[string]string
	// exceptions are the compromised-list exceptions in force, with the
	// entries each dropped.
	exceptions []Exception
	// sources are the bundles and data documents that set data, in merge
	// order, for locating errors about it.
	sources []source
	// checked are the sources whose every top-level key must be read by
	// some module (see checkTopLevel), with their data.
	checked []checkedData
}

type checkedData struct {
	src  source
	data map[string]any
}

// locate is where the source that wins for path sets it: the last one in
// merge order that does.
func (c *composition) locate(path []string) string {
	for i := len(c.sources) - 1; i >= 0; i-- {
		s := c.sources[i]
		if s.where == nil {
			continue
		}
		if loc := s.where(path); loc != "" {
			return s.at(path...)
		}
	}
	return ""
}

// compose merges bundles in order. Modules must not overlap: two bundles
// that own the same root is an error, as in OPA. Data is deep-merged, later
// bundles and then the extra documents winning, which is how user settings
// override the built-in defaults; the compromised list is the exception:
// every source's entries are united, so none can shrink another's (see
// compromised.go). The runpolicy namespace belongs to the built-in bundle
// (see reserved.go).
func compose(bundles []Bundle, extra []dataDoc) (*composition, error) {
	c := &composition{
		modules:   map[string]*ast.Module{},
		data:      map[string]any{},
		revisions: map[string]string{},
	}
	nsOwner := namespaceOwner(bundles)
	var owned map[string]bool
	for _, b := range bundles {
		if b.Name == nsOwner && b.Bundle != nil {
			var mods []*ast.Module
			for _, mf := range b.Bundle.Modules {
				if m := parsedModule(mf.Path, mf.Raw, mf.Parsed); m != nil {
					mods = append(mods, m)
				}
			}
			owned = ownedPolicies(mods)
		}
	}
	list := map[string]any{}
	owner := map[string]string{} // root → bundle name
	for _, b := range bundles {
		if b.Bundle == nil {
			return nil, fmt.Errorf("bundle %s: empty", b.Name)
		}
		if _, dup := c.revisions[b.Name]; dup {
			return nil, fmt.Errorf("bundle %s: loaded twice", b.Name)
		}
		c.revisions[b.Name] = b.Bundle.Manifest.Revision
		for _, mf := range b.Bundle.Modules {
			mod := mf.Parsed
			if mod == nil {
				var err error
				mod, err = ast.ParseModuleWithOpts(mf.Path, string(mf.Raw), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
				if err != nil {
					return nil, fmt.Errorf("bundle %s: %w", b.Name, err)
				}
			}
			if internal(mod.Package.Path) {
				return nil, fmt.Errorf("bundle %s: %s: package %s is reserved for what runpolicy derives at load", b.Name, mf.Path, strings.TrimPrefix(mod.Package.Path.String(), "data."))
			}
			if nsOwner != "" && b.Name != nsOwner {
				if err := checkModule(b.Name, mf.Path, mod, nsOwner, owned); err != nil {
					return nil, err
				}
			}
			c.modules[b.Name+":"+mf.Path] = mod
		}
		for _, root := range roots(b.Bundle) {
			for r, other := range owner {
				if other != b.Name && overlaps(r, root) {
					return nil, fmt.Errorf("bundle %s: root %q overlaps root %q of bundle %s", b.Name, root, r, other)
				}
			}
			owner[root] = b.Name
		}
		src := source{who: "bundle " + b.Name, prefix: true, where: b.Where}
		if err := checkInternal(src, b.Bundle.Data); err != nil {
			return nil, err
		}
		if nsOwner != "" && b.Name != nsOwner {
			if err := checkData(src, b.Bundle.Data); err != nil {
				return nil, err
			}
			c.checked = append(c.checked, checkedData{src, b.Bundle.Data})
		}
		c.sources = append(c.sources, src)
		merge(c.data, withoutCompromised(b.Bundle.Data, list))
	}
	for i, d := range extra {
		src := source{who: d.name, where: d.where}
		if src.who == "" {
			src.who = fmt.Sprintf("data document %d", i+1)
		}
		if err := checkInternal(src, d.data); err != nil {
			return nil, err
		}
		if err := checkData(src, d.data); err != nil {
			return nil, err
		}
		c.checked = append(c.checked, checkedData{src, d.data})
		c.sources = append(c.sources, src)
		merge(c.data, withoutCompromised(d.data, list))
	}
	var err error
	if c.exceptions, err = applyExceptions(c.data, list); err != nil {
		return nil, err
	}
	return c, nil
}

// roots are the manifest's roots, or, when the manifest claims everything
// (no roots, or ""), the packages the bundle's modules define. Data-only
// bundles own nothing: their data is merged.
func roots(b *bundle.Bundle) []string {
	var out []string
	if b.Manifest.Roots != nil {
		for _, r := range *b.Manifest.Roots {
			if r != "" {
				out = append(out, strings.Trim(r, "/"))
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	seen := map[string]bool{}
	for _, mf := range b.Modules {
		var pkg string
		if m := parsedModule(mf.Path, mf.Raw, mf.Parsed); m != nil {
			pkg = packagePath(m.Package.Path)
		}
		if pkg != "" && !seen[pkg] {
			seen[pkg] = true
			out = append(out, pkg)
		}
	}
	sort.Strings(out)
	return out
}

func packagePath(ref ast.Ref) string {
	parts := make([]string, 0, len(ref))
	for _, t := range ref[1:] { // drop the leading "data"
		s, ok := t.Value.(ast.String)
		if !ok {
			break
		}
		parts = append(parts, string(s))
	}
	return strings.Join(parts, "/")
}

// overlaps reports whether one root is a path prefix of the other.
func overlaps(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// merge deep-merges src into dst: objects recursively, anything else replaced.
func merge(dst, src map[string]any) {
	for k, v := range src {
		sv, sok := v.(map[string]any)
		dv, dok := dst[k].(map[string]any)
		if sok && dok {
			merge(dv, sv)
			continue
		}
		if sok {
			cp := map[string]any{}
			merge(cp, sv)
			dst[k] = cp
			continue
		}
		dst[k] = v
	}
}
