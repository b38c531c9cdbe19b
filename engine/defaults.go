package engine

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/runpolicy/runpolicy/policies"
)

// declaration is one setting a policy's package METADATA declares under
// custom.settings: its type as runpolicy.config checks it, its default and
// where the METADATA is.
type declaration struct {
	kind     string
	def      any
	hasDef   bool
	location string
}

// declarations reads custom.settings from the package METADATA of every
// policy directly under runpolicy.policies (see policies.Declared): policy
// → setting → declaration. A declaration runpolicy cannot read fails the
// load, naming the METADATA's file and line; its default is checked by
// runpolicy.config like any other setting, at the same place.
func declarations(modules map[string]*ast.Module) (map[string]map[string]declaration, error) {
	out := map[string]map[string]declaration{}
	for _, m := range modules {
		name, top, ok := policyName(m.Package.Path)
		if !ok || !top {
			continue
		}
		for _, a := range m.Annotations {
			if a.Scope != "package" && a.Scope != "subpackages" {
				continue
			}
			location := ""
			if a.Location != nil {
				location = fmt.Sprintf("%s:%d", a.Location.File, a.Location.Row)
			}
			list, err := policies.Declared(a)
			if err != nil {
				return nil, fmt.Errorf("%s: policy %s, %w", location, name, err)
			}
			if list == nil {
				continue
			}
			decl := out[name]
			if decl == nil {
				decl = map[string]declaration{}
				out[name] = decl
			}
			for _, s := range list {
				decl[s.Name] = declaration{kind: s.Type, def: s.Default, hasDef: s.HasDefault, location: location}
			}
		}
	}
	return out, nil
}

// declaredKinds maps each policy to its settings' types, for
// data.internal.runpolicy.declared: runpolicy.config refuses any other
// setting of such a policy; a policy that declares none takes any.
func declaredKinds(decls map[string]map[string]declaration) map[string]any {
	out := make(map[string]any, len(decls))
	for policy, settings := range decls {
		kinds := make(map[string]any, len(settings))
		for key, d := range settings {
			kinds[key] = d.kind
		}
		out[policy] = kinds
	}
	return out
}

// applyDefaults sets each declared default beneath the settings the
// bundles and data files give, so that METADATA is the one place a
// policy's settings and their defaults are written: a custom policy whose
// mode defaults to dry_run runs in dry_run until someone sets another
// mode. The METADATA is the first source, so an invalid default is
// reported at its file and line, and any other source that sets the value
// wins.
func applyDefaults(c *composition, decls map[string]map[string]declaration) {
	if locate := setDefaults(c.data, decls); locate != nil {
		c.sources = append([]source{{who: "METADATA", where: locate}}, c.sources...)
	}
}

// ApplyDefaults sets the defaults the package METADATA of modules declares
// beneath data.runpolicy.settings, as a load does, for the test runner.
func ApplyDefaults(modules map[string]*ast.Module, data map[string]any) error {
	decls, err := declarations(modules)
	if err != nil {
		return err
	}
	setDefaults(data, decls)
	return nil
}

// setDefaults sets every declared default that data does not set, and
// returns a Locator for them (nil when it set none).
func setDefaults(data map[string]any, decls map[string]map[string]declaration) Locator {
	where := map[string]string{} // "policy/key" → METADATA location
	for policy, settings := range decls {
		for key, d := range settings {
			if !d.hasDef {
				continue
			}
			current, _ := getPath(data, ReservedRoot, "settings", policy).(map[string]any)
			if current == nil {
				if getPath(data, ReservedRoot, "settings", policy) != nil {
					continue // not an object: runpolicy.config reports it
				}
				current = map[string]any{}
				setPath(data, current, ReservedRoot, "settings", policy)
			}
			if _, set := current[key]; set {
				continue
			}
			current[key] = deepCopy(d.def)
			where[policy+"/"+key] = d.location
		}
	}
	if len(where) == 0 {
		return nil
	}
	return func(path []string) string {
		if len(path) < 4 || path[0] != ReservedRoot || path[1] != "settings" {
			return ""
		}
		return where[path[2]+"/"+path[3]]
	}
}
