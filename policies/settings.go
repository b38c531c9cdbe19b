//go:generate go test -run TestSettingsAreDeclaredOnce -update .

package policies

import (
	"fmt"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Setting is one setting a policy declares in its package METADATA, under
// custom.settings: the one place a setting is written. The engine derives
// the validation from it (data.internal.runpolicy.declared), and the
// built-in policies' default settings (data.yaml) and README tables are
// generated from it (go test ./policies -update).
type Setting struct {
	Name string
	// Type is what runpolicy.config accepts: mode (enforce, dry_run or
	// off), boolean, strings (a list of strings) or any.
	Type        string
	Default     any
	Description string
}

// knownType reports whether a setting may declare type t.
func knownType(t string) bool {
	switch t {
	case "mode", "boolean", "strings", "any":
		return true
	}
	return false
}

// Declared reads the settings an annotation declares in custom.settings,
// in order; nil when it declares none. A setting without a type is a mode
// when it is named mode, a boolean when its default is one, and any
// other value otherwise. An entry that is not {name, type, default,
// description}, a type runpolicy does not know and a default of another
// type are errors.
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
		s, err := setting(entry)
		if err != nil {
			return nil, fmt.Errorf("custom.settings[%d]: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func setting(entry map[string]any) (Setting, error) {
	for k := range entry {
		if !slices.Contains([]string{"name", "type", "default", "description"}, k) {
			return Setting{}, fmt.Errorf("unknown key %q (want name, type, default, description)", k)
		}
	}
	name, ok := entry["name"].(string)
	if !ok || name == "" {
		return Setting{}, fmt.Errorf("name: must be a string, got %v", entry["name"])
	}
	s := Setting{Name: name, Default: entry["default"]}
	if d, ok := entry["description"]; ok {
		if s.Description, ok = d.(string); !ok {
			return Setting{}, fmt.Errorf("%s: description: must be a string, got %T", name, d)
		}
	}
	switch t, ok := entry["type"]; {
	case ok:
		if s.Type, ok = t.(string); !ok || !knownType(s.Type) {
			return Setting{}, fmt.Errorf("%s: type: must be mode, boolean, strings or any, got %v", name, t)
		}
	case name == "mode":
		s.Type = "mode"
	default:
		s.Type = "any"
		if _, ok := s.Default.(bool); ok {
			s.Type = "boolean"
		}
	}
	if name == "mode" && s.Type != "mode" {
		return Setting{}, fmt.Errorf("mode: type: must be mode, got %s", s.Type)
	}
	if _, ok := entry["default"]; ok && !fits(s.Type, s.Default) {
		return Setting{}, fmt.Errorf("%s: default %v is not a %s", name, s.Default, s.Type)
	}
	return s, nil
}

// fits reports whether v is a value of type t.
func fits(t string, v any) bool {
	switch t {
	case "mode":
		switch v {
		case "enforce", "dry_run", "off", false:
			return true
		}
		return false
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "strings":
		list, ok := v.([]any)
		if !ok {
			return false
		}
		for _, s := range list {
			if _, ok := s.(string); !ok {
				return false
			}
		}
		return true
	}
	return true
}
