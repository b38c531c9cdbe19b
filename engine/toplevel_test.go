package engine

import (
	"context"
	"strings"
	"testing"
)

// TestTopLevelDataMustBeRead: data outside runpolicy loads only when a
// module reads it, so a settings file written without `runpolicy:` is
// refused instead of changing nothing.
func TestTopLevelDataMustBeRead(t *testing.T) {
	ctx := context.Background()
	reader := map[string]string{"p.rego": "package runpolicy.policies.team\n\ndeny contains \"x\" if \"evil\" in data.acme.trusted\n"}
	dynamic := map[string]string{"p.rego": "package runpolicy.policies.team\n\ndeny contains \"x\" if {\n\tsome k\n\tdata[k].block\n}\n"}
	for _, tc := range []struct {
		name    string
		modules map[string]string
		data    map[string]any
		want    string // "" loads
	}{
		{"settings at the top", nil, obj("settings", obj()), "data document 1: data.settings: unknown top-level key"},
		{"key nothing reads", reader, obj("acme", obj(), "other", obj()), "data document 1: data.other: unknown top-level key"},
		{"key a module reads", reader, obj("acme", obj("trusted", []any{"x"})), ""},
		{"data indexed by a variable", dynamic, obj("anything", obj()), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bs []Bundle
			if tc.modules != nil {
				bs = append(bs, testBundle("team", "r1", nil, tc.modules))
			}
			_, err := New(ctx, bs, WithData(tc.data))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("error %v, want it to load", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
