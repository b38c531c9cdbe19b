package engine

import (
	"slices"
	"strings"
	"testing"
)

// TestSettingPath reads the path a settings error starts with, the way
// runpolicy.config writes it, so the error can name its file and line.
func TestSettingPath(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want []string
	}{
		{"settings.allowed_actions.alow: unknown setting", []string{"runpolicy", "settings", "allowed_actions", "alow"}},
		{`settings.repositories["acme/*"].harden_runner.mode: must be`, []string{"runpolicy", "settings", "repositories", "acme/*", "harden_runner", "mode"}},
		{`compromised.actions["a/b"].summary: must be a string`, []string{"runpolicy", "compromised", "actions", "a/b", "summary"}},
		{"settings: must be an object", []string{"runpolicy", "settings"}},
		{"no path here", nil},
		{`settings["unterminated: x`, nil},
	} {
		if got := settingPath(tc.msg); !slices.Equal(got, tc.want) {
			t.Errorf("settingPath(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}

// TestLocate finds the last file that sets a path, under its prefix.
func TestLocate(t *testing.T) {
	where := Locate(
		DataFile{Name: "data.yaml", Src: []byte("runpolicy:\n  settings:\n    a: {mode: off}\n")},
		DataFile{Name: "runpolicy/settings/data.json", Prefix: []string{"runpolicy", "settings"}, Src: []byte("{\n  \"b\": {\n    \"mode\": \"x\"\n  }\n}")},
		DataFile{Name: "broken.yaml", Src: []byte("a: [")},
	)
	for path, want := range map[string]string{
		"runpolicy settings a mode": "data.yaml:3",
		"runpolicy settings b mode": "runpolicy/settings/data.json:3",
		"runpolicy settings":        "runpolicy/settings/data.json:1", // the last file merged there
		"runpolicy":                 "data.yaml:1",
		"runpolicy settings c":      "",
		"other":                     "",
	} {
		if got := where(strings.Fields(path)); got != want {
			t.Errorf("Locate(%s) = %q, want %q", path, got, want)
		}
	}
}
