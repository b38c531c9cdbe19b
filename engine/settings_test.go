package engine

import (
	"context"
	"slices"
	"testing"
)

func TestSettingsForRepository(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, nil, WithData(map[string]any{"runpolicy": map[string]any{"settings": map[string]any{
		"harden_runner": map[string]any{"mode": "enforce"},
		"repositories": map[string]any{
			"acme/*":          map[string]any{"allowed_actions": map[string]any{"mode": "enforce", "allow": []any{"actions/*"}}},
			"acme/legacy-*":   map[string]any{"harden_runner": map[string]any{"mode": "off"}},
			"acme/legacy-api": map[string]any{"allowed_actions": map[string]any{"allow": []any{"legacy/*"}}},
		},
	}}}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		repo                   string
		harden, allowed, allow string
		patterns               []string
	}{
		{"other/app", "enforce", "dry_run", "", nil},
		{"acme/web", "enforce", "enforce", "[actions/*]", []string{"acme/*"}},
		{"ACME/Legacy-API", "off", "enforce", "[legacy/*]", []string{"acme/*", "acme/legacy-*", "acme/legacy-api"}},
	} {
		s, err := e.Settings(ctx, tc.repo)
		if err != nil {
			t.Fatalf("%s: %v", tc.repo, err)
		}
		h, a := s.Policies["harden_runner"], s.Policies["allowed_actions"]
		if h["mode"] != tc.harden || a["mode"] != tc.allowed || !slices.Equal(s.Patterns, tc.patterns) {
			t.Errorf("%s: harden_runner %v, allowed_actions %v, patterns %v; want modes %s, %s and %v",
				tc.repo, h["mode"], a["mode"], s.Patterns, tc.harden, tc.allowed, tc.patterns)
		}
		if tc.allow != "" && fmtList(a["allow"]) != tc.allow {
			t.Errorf("%s: allowed_actions.allow = %v, want %s", tc.repo, a["allow"], tc.allow)
		}
		if _, ok := s.Policies["compromised_actions"]; !ok {
			t.Errorf("%s: compromised_actions missing from %v", tc.repo, s.Policies)
		}
	}
	for _, bad := range []string{"", "acme", "acme/", "/x", "a/b/c"} {
		if _, err := e.Settings(ctx, bad); err == nil {
			t.Errorf("Settings(%q) accepted", bad)
		}
	}
}

func fmtList(v any) string {
	l, _ := v.([]any)
	out := "["
	for i, x := range l {
		if i > 0 {
			out += " "
		}
		out += x.(string)
	}
	return out + "]"
}
