package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// ReservedRoot is the namespace the built-in bundle owns. Other bundles may
// add policy packages under runpolicy.policies and the data documented for
// them (settings, additions to the compromised list); anything else there
// could switch the built-in policies off (a runpolicy.prepared module with
// active := {}, a runpolicy.lib function that exempts everything, a rule
// added to a built-in policy's package), so it is refused at load.
const ReservedRoot = "runpolicy"

// userData are the keys of data.runpolicy a bundle or --data file may set:
// settings, additions to the compromised list (united with it, see
// compromised.go) and additions to the list of vulnerable actions, which
// `runpolicy advisories import` writes.
var userData = map[string]bool{"settings": true, "compromised": true, compromisedAdditionsKey: true, "vulnerable_additions": true}

// namespaceOwner is the bundle the reserved namespace belongs to: the
// built-in one, or, without it, the one that holds the aggregator
// (runpolicy.main). "" when no bundle does: then nothing is reserved.
func namespaceOwner(bundles []Bundle) string {
	main := ast.MustParseRef("data.runpolicy.main")
	for _, b := range bundles {
		if b.Name == BuiltinName {
			return b.Name
		}
	}
	for _, b := range bundles {
		if b.Bundle == nil {
			continue
		}
		for _, mf := range b.Bundle.Modules {
			if m := parsedModule(mf.Path, mf.Raw, mf.Parsed); m != nil && m.Package.Path.Equal(main) {
				return b.Name
			}
		}
	}
	return ""
}

// ownedPolicies are the policy names the owner's modules define.
func ownedPolicies(mods []*ast.Module) map[string]bool {
	prefix := ast.MustParseRef("data.runpolicy.policies")
	out := map[string]bool{}
	for _, m := range mods {
		p := m.Package.Path
		if len(p) > len(prefix) && p.HasPrefix(prefix) {
			if s, ok := p[len(prefix)].Value.(ast.String); ok {
				out[string(s)] = true
			}
		}
	}
	return out
}

// checkModule refuses a module of a bundle other than the owner whose
// package lies in the reserved namespace outside runpolicy.policies.<name>,
// or in a policy package the owner defines.
func checkModule(bundle, file string, m *ast.Module, owner string, owned map[string]bool) error {
	p := m.Package.Path
	if len(p) < 2 || !p[1].Equal(ast.StringTerm(ReservedRoot)) {
		return nil
	}
	pkg := strings.TrimPrefix(p.String(), "data.")
	if len(p) < 4 || !p[2].Equal(ast.StringTerm("policies")) {
		return fmt.Errorf("bundle %s: %s: package %s is reserved for runpolicy's own policies: a bundle may add packages runpolicy.policies.<name> only", bundle, file, pkg)
	}
	if s, ok := p[3].Value.(ast.String); !ok || owned[string(s)] {
		return fmt.Errorf("bundle %s: %s: package %s belongs to policy %s of bundle %s: a bundle may add policies of its own, not rules to that one (change its settings instead)", bundle, file, pkg, p[3], owner)
	}
	return nil
}

// checkData refuses data of a bundle other than the owner (or of a --data
// document) in the reserved namespace, except the documented keys. who
// names the source: "bundle team", "data document 1".
func checkData(who string, data map[string]any) error {
	rp, ok := data[ReservedRoot]
	if !ok {
		return nil
	}
	obj, ok := rp.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: data.%s is reserved: a bundle may set data.runpolicy.settings and add to data.runpolicy.compromised only", who, ReservedRoot)
	}
	var bad []string
	for k, v := range obj {
		if !userData[k] {
			bad = append(bad, "data."+ReservedRoot+"."+k)
			continue
		}
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("%s: data.%s.%s must be an object, got %T", who, ReservedRoot, k, v)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	// Bundle data is merged by the time it gets here; the path says which
	// file: runpolicy/<key>/data.json, or a key of a data file above it.
	return fmt.Errorf("%s: %s reserved (from a data file at or above %s): a bundle may set data.runpolicy.settings and add to data.runpolicy.compromised only",
		who, strings.Join(bad, ", ")+map[bool]string{true: " is", false: " are"}[len(bad) == 1], strings.ReplaceAll(strings.TrimPrefix(bad[0], "data."), ".", "/")+"/")
}

// parsedModule is mf's parsed module, parsing it when the reader did not;
// nil when it does not parse (compose reports that).
func parsedModule(path string, raw []byte, parsed *ast.Module) *ast.Module {
	if parsed != nil {
		return parsed
	}
	m, err := ast.ParseModuleWithOpts(path, string(raw), ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil
	}
	return m
}
