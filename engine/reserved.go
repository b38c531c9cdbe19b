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

// internalRoot holds what the engine derives at load, at
// data.internal.runpolicy (see PreparedPath): no bundle, the built-in one
// included, and no data file may write there, since a module or data
// document at data.internal.runpolicy.prepared could mark every policy off.
const internalRoot = "internal"

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
	out := map[string]bool{}
	for _, m := range mods {
		if name, _, ok := policyName(m.Package.Path); ok {
			out[name] = true
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

// internal reports whether a package can define rules under
// data.internal.runpolicy: the package internal itself (a rule there may be
// named runpolicy) or one at or under internal.runpolicy.
func internal(p ast.Ref) bool {
	if len(p) < 2 || !p[1].Equal(ast.StringTerm(internalRoot)) {
		return false
	}
	return len(p) == 2 || p[2].Equal(ast.StringTerm(ReservedRoot))
}

// checkInternal refuses data at data.internal.runpolicy, and a
// data.internal that is not an object, which the engine would replace.
func checkInternal(src source, data map[string]any) error {
	v, ok := data[internalRoot]
	if !ok {
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: data.%s must be an object, got %T", src.at(internalRoot), internalRoot, v)
	}
	if _, ok := obj[ReservedRoot]; ok {
		return fmt.Errorf("%s: data.%s.%s is reserved for what runpolicy derives at load", src.at(internalRoot, ReservedRoot), internalRoot, ReservedRoot)
	}
	return nil
}

// checkData refuses data of a bundle other than the owner (or of a --data
// document) in the reserved namespace, except the documented keys.
func checkData(src source, data map[string]any) error {
	rp, ok := data[ReservedRoot]
	if !ok {
		return nil
	}
	obj, ok := rp.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: data.%s is reserved: a bundle may set data.runpolicy.settings and add to data.runpolicy.compromised only", src.at(ReservedRoot), ReservedRoot)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var bad []string
	for _, k := range keys {
		if !userData[k] {
			bad = append(bad, k)
			continue
		}
		if _, ok := obj[k].(map[string]any); !ok {
			return fmt.Errorf("%s: data.%s.%s must be an object, got %T", src.at(ReservedRoot, k), ReservedRoot, k, obj[k])
		}
	}
	if len(bad) == 0 {
		return nil
	}
	// Bundle data is merged by the time it gets here; the locator (when the
	// reader kept one) says which file and line set the first bad key.
	names := make([]string, len(bad))
	for i, k := range bad {
		names[i] = "data." + ReservedRoot + "." + k
	}
	return fmt.Errorf("%s: %s reserved: a bundle or data file may set only %s",
		src.at(ReservedRoot, bad[0]), strings.Join(names, ", ")+map[bool]string{true: " is", false: " are"}[len(bad) == 1], userKeys())
}

// userKeys lists the keys of userData for errors.
func userKeys() string {
	keys := make([]string, 0, len(userData))
	for k := range userData {
		keys = append(keys, "runpolicy."+k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// checkTopLevel refuses a top-level key of a bundle's or data file's data
// that no module reads: a settings file written as `settings:` instead of
// `runpolicy: settings:` would otherwise load, change nothing and look
// configured. A key counts as read when a module's package lies under it
// or a module refers to data under it; a module that indexes data with a
// variable (data[x]) may read anything.
func checkTopLevel(modules map[string]*ast.Module, checked []checkedData) error {
	read := map[string]bool{ReservedRoot: true}
	anyKey := false
	for _, m := range modules {
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if len(r) == 0 || !r[0].Equal(ast.DefaultRootDocument) {
				return false
			}
			if len(r) == 1 {
				anyKey = true
				return false
			}
			if s, ok := r[1].Value.(ast.String); ok {
				read[string(s)] = true
			} else {
				anyKey = true
			}
			return false
		})
	}
	if anyKey {
		return nil
	}
	for _, cd := range checked {
		keys := make([]string, 0, len(cd.data))
		for k := range cd.data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if read[k] {
				continue
			}
			hint := ""
			if k == "settings" || k == "compromised" || k == "compromised_additions" || k == "vulnerable_additions" {
				hint = fmt.Sprintf(" (did you mean runpolicy: %s:?)", k)
			}
			return fmt.Errorf("%s: data.%s: unknown top-level key: no loaded policy reads it; runpolicy's own data goes under runpolicy:%s", cd.src.at(k), k, hint)
		}
	}
	return nil
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
