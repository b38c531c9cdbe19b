//go:generate go test -run TestSettingsAreDeclaredOnce -update .

package policies

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Setting is one setting a policy declares in its package METADATA, under
// custom.settings: the one place a setting is written. The engine sets
// its default beneath the loaded settings and derives the validation from
// it (data.internal.runpolicy.declared); the built-in policies' data.yaml
// and README tables are generated from it (go test ./policies -update).
type Setting struct {
	Name string
	// Type is what runpolicy.config checks: mode (enforce, dry_run or
	// off), boolean, strings (a list of strings) or any.
	Type        string
	Default     any
	HasDefault  bool
	Description string
}

// Declared reads the settings an annotation declares in custom.settings,
// in order; nil when it declares none. A setting without a type is a mode
// when it is named mode, a boolean when its default is one, and any
// other value otherwise. An entry without a name, and a type runpolicy
// does not know, are errors; runpolicy.config checks the defaults, as it
// checks every setting.
func Declared(a *ast.Annotations) ([]Setting, error) {
	raw, ok := a.Custom["settings"]
	if !ok {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("custom.settings: must be a list of {name, type, default, description}, got %T", raw)
	}
	out := make([]Setting, 0, len(list))
	for i, item := range list {
		entry, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("custom.settings[%d]: must be {name, type, default, description}, got %T", i, item)
		}
		name, ok := entry["name"].(string)
		if !ok || name == "" {
			return nil, fmt.Errorf("custom.settings[%d]: name: must be a string, got %v", i, entry["name"])
		}
		s := Setting{Name: name, Type: "any"}
		s.Default, s.HasDefault = entry["default"]
		s.Description, _ = entry["description"].(string)
		switch t, ok := entry["type"]; {
		case name == "mode":
			if ok && t != "mode" {
				return nil, fmt.Errorf("setting mode: type must be mode, got %v", t)
			}
			s.Type = "mode"
		case ok:
			if s.Type, _ = t.(string); !knownType(s.Type) {
				return nil, fmt.Errorf("setting %s: type must be boolean, strings or any, got %v", name, t)
			}
		default:
			if _, ok := s.Default.(bool); ok {
				s.Type = "boolean"
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// knownType reports whether a setting other than mode may declare type t.
func knownType(t string) bool {
	switch t {
	case "boolean", "strings", "any":
		return true
	}
	return false
}
