package policies

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
)

var update = flag.Bool("update", false, "rewrite data.yaml and the README settings tables from the policies' METADATA")

// builtinSettings reads the settings every built-in policy declares in its
// package METADATA, by policy.
func builtinSettings(t *testing.T) map[string][]Setting {
	t.Helper()
	b, err := Bundle()
	if err != nil {
		t.Fatal(err)
	}
	prefix := ast.MustParseRef("data.runpolicy.policies")
	out := map[string][]Setting{}
	for _, m := range b.Modules {
		path := m.Parsed.Package.Path
		if len(path) != len(prefix)+1 || !path.HasPrefix(prefix) {
			continue
		}
		name := strings.Trim(path[len(prefix)].String(), `"`)
		for _, a := range m.Parsed.Annotations {
			if a.Scope != "package" {
				continue
			}
			list, err := Declared(a)
			if err != nil {
				t.Fatalf("%s: %v", m.Path, err)
			}
			out[name] = append(out[name], list...)
		}
	}
	return out
}

// TestSettingsAreDeclaredOnce: every setting of a built-in policy is
// declared in its METADATA with a type and a default, and data.yaml (the
// defaults at data.runpolicy.settings) and the README tables are what the
// declarations say. `go test ./policies -update` rewrites both.
func TestSettingsAreDeclaredOnce(t *testing.T) {
	declared := builtinSettings(t)
	names := make([]string, 0, len(declared))
	for name, list := range declared {
		names = append(names, name)
		if len(list) == 0 || list[0].Name != "mode" {
			t.Errorf("%s: declares no mode first", name)
		}
		for _, s := range list {
			if !s.HasDefault {
				t.Errorf("%s.%s: no default", name, s.Name)
			}
			if s.Name != "mode" && s.Description == "" {
				t.Errorf("%s.%s: no description", name, s.Name)
			}
		}
	}
	sort.Strings(names)
	if len(names) < 8 {
		t.Fatalf("declared settings of %v, want every built-in policy's", names)
	}
	data := dataYAML(names, declared)
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := withTables(string(readme), declared)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("data.yaml", []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("README.md", []byte(tables), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got, err := os.ReadFile("data.yaml"); err != nil || string(got) != data {
		t.Errorf("data.yaml differs from the policies' METADATA (%v): run go test ./policies -update", err)
	}
	if tables != string(readme) {
		t.Errorf("README.md settings tables differ from the policies' METADATA: run go test ./policies -update")
	}
	// The bundle reads data.yaml as the defaults.
	b, err := Bundle()
	if err != nil {
		t.Fatal(err)
	}
	settings := b.Data["runpolicy"].(map[string]any)["settings"].(map[string]any)
	for _, name := range names {
		got, _ := settings[name].(map[string]any)
		if len(got) != len(declared[name]) {
			t.Errorf("data.runpolicy.settings.%s = %v, want the %d declared settings", name, got, len(declared[name]))
		}
		for _, s := range declared[name] {
			if fmt.Sprint(got[s.Name]) != fmt.Sprint(s.Default) {
				t.Errorf("data.runpolicy.settings.%s.%s = %v, want the declared default %v", name, s.Name, got[s.Name], s.Default)
			}
		}
	}
}

// dataYAML writes the defaults as data.yaml: every value in JSON, which is
// YAML too.
func dataYAML(names []string, declared map[string][]Setting) string {
	var b strings.Builder
	b.WriteString("# Default settings of the built-in policies, at data.runpolicy.settings.\n")
	b.WriteString("# Generated from each policy's METADATA custom.settings by\n")
	b.WriteString("# `go test ./policies -update`: edit the METADATA, not this file.\n")
	b.WriteString("# Settings files and bundles deep-merge over these.\n")
	b.WriteString("runpolicy:\n  settings:\n")
	for _, name := range names {
		fmt.Fprintf(&b, "    %s:\n", name)
		for _, s := range declared[name] {
			fmt.Fprintf(&b, "      %s: %s\n", s.Name, jsonText(s.Default))
		}
	}
	b.WriteString("    repositories: {}\n")
	return b.String()
}

func jsonText(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if list, ok := v.([]any); ok && len(list) > 0 {
		parts := make([]string, len(list))
		for i, item := range list {
			parts[i] = jsonText(item)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return string(raw)
}

var tableMarker = regexp.MustCompile(`(?s)<!-- settings: ([a-z_]+) -->\n.*?<!-- end settings -->`)

// withTables replaces each README table between "<!-- settings: NAME -->"
// and "<!-- end settings -->" with the settings NAME declares.
func withTables(readme string, declared map[string][]Setting) (string, error) {
	seen := map[string]bool{}
	out := tableMarker.ReplaceAllStringFunc(readme, func(block string) string {
		name := tableMarker.FindStringSubmatch(block)[1]
		seen[name] = true
		var b strings.Builder
		fmt.Fprintf(&b, "<!-- settings: %s -->\n", name)
		b.WriteString("| setting | default | meaning |\n|---|---|---|\n")
		for _, s := range declared[name] {
			meaning := strings.Join(strings.Fields(s.Description), " ")
			if meaning != "" {
				meaning += " "
			}
			fmt.Fprintf(&b, "| `%s` | `%s` | %s|\n", s.Name, cell(s.Default), meaning)
		}
		b.WriteString("<!-- end settings -->")
		return b.String()
	})
	for name := range declared {
		if !seen[name] {
			return "", fmt.Errorf("README.md has no <!-- settings: %s --> table", name)
		}
	}
	return out, nil
}

// cell shows a default as the README does: strings bare, lists in JSON.
func cell(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return jsonText(v)
}

// TestDeclared: a declaration runpolicy cannot read is an error, and a
// setting without a type takes it from its name and default. (Defaults are
// checked by runpolicy.config at load, as every setting is.)
func TestDeclared(t *testing.T) {
	tests := []struct {
		name, custom string
		want         string // the settings as name:type, or the error
	}{
		{"typed", `{"settings": [{"name": "mode", "default": "dry_run"}, {"name": "labels", "type": "strings", "default": []}]}`, "mode:mode labels:strings"},
		{"inferred", `{"settings": [{"name": "strict", "default": false}, {"name": "owners", "default": []}]}`, "strict:boolean owners:any"},
		{"none", `{"severity": "high"}`, ""},
		{"unknown type", `{"settings": [{"name": "x", "type": "strnigs", "default": []}]}`, "setting x: type must be boolean, strings or any, got strnigs"},
		{"mode is a mode", `{"settings": [{"name": "mode", "type": "strings"}]}`, "setting mode: type must be mode, got strings"},
		{"no name", `{"settings": [{"default": 1}]}`, "custom.settings[0]: name: must be a string, got <nil>"},
		{"not a list", `{"settings": {"x": 1}}`, "custom.settings: must be a list of {name, type, default, description}, got map[string]interface {}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var custom map[string]any
			if err := util.UnmarshalJSON([]byte(tt.custom), &custom); err != nil {
				t.Fatal(err)
			}
			list, err := Declared(&ast.Annotations{Custom: custom})
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				parts := []string{}
				for _, s := range list {
					parts = append(parts, s.Name+":"+s.Type)
				}
				got = strings.Join(parts, " ")
			}
			if got != tt.want {
				t.Errorf("Declared = %q, want %q", got, tt.want)
			}
		})
	}
}
