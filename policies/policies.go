// Package policies holds runpolicy's built-in Rego policies, their default
// settings and the compromised-action list, embedded into the binary as the
// built-in bundle.
package policies

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/util"
)

// files is the policy tree: Rego modules, their tests and data files.
//
//go:embed all:*
var files embed.FS

// FS returns the built-in policy tree, tests included, as stock `opa test`
// sees the policies/ folder.
func FS() fs.FS { return files }

// Bundle reads the built-in bundle: every Rego module except tests, and the
// data files. Its revision is a digest of the content, so two binaries with
// the same policies report the same revision.
func Bundle() (*bundle.Bundle, error) {
	loader, err := bundle.NewFSLoader(files)
	if err != nil {
		return nil, fmt.Errorf("built-in bundle: %w", err)
	}
	loader = loader.WithFilter(func(abspath string, info fs.FileInfo, _ int) bool {
		if info.IsDir() {
			return false
		}
		return !isBundleFile(abspath)
	})
	b, err := bundle.NewCustomReader(loader).WithRegoVersion(ast.RegoV1).WithProcessAnnotations(true).Read()
	if err != nil {
		return nil, fmt.Errorf("built-in bundle: %w", err)
	}
	b.Manifest.Revision = revision(b)
	return &b, nil
}

// isBundleFile keeps policy modules and data documents, and drops tests,
// schemas, docs and Go sources.
func isBundleFile(p string) bool {
	base := path.Base(p)
	switch {
	case strings.HasSuffix(base, "_test.rego"):
		return false
	case strings.HasSuffix(base, ".rego"):
		return true
	case base == "data.json" || base == "data.yaml":
		return true
	}
	return false
}

func revision(b bundle.Bundle) string {
	h := sha256.New()
	mods := make([]bundle.ModuleFile, len(b.Modules))
	copy(mods, b.Modules)
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	for _, m := range mods {
		h.Write([]byte(m.Path))
		h.Write(m.Raw)
	}
	fmt.Fprint(h, b.Data)
	return "builtin-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// SchemaPath is where the input document's JSON Schema lives in the tree.
// Policies bind it with `# METADATA schemas: - input: schema.input`.
const SchemaPath = "schemas/input.json"

// Schemas returns the schema set the policies are type-checked against:
// the input document's JSON Schema as schema.input.
func Schemas() (*ast.SchemaSet, error) {
	raw, err := files.ReadFile(SchemaPath)
	if err != nil {
		return nil, fmt.Errorf("input schema: %w", err)
	}
	var schema any
	if err := util.UnmarshalJSON(raw, &schema); err != nil {
		return nil, fmt.Errorf("input schema %s: %w", SchemaPath, err)
	}
	ss := ast.NewSchemaSet()
	ss.Put(ast.SchemaRootRef.Append(ast.StringTerm("input")), schema)
	return ss, nil
}
