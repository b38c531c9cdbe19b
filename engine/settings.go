package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/rego"
)

// RepositorySettings are one repository's effective settings, as the
// policies read them for its runs.
type RepositorySettings struct {
	// Policies maps each loaded policy to its settings after the
	// repository overrides, with "mode" always set (enforce, dry_run or off).
	Policies map[string]map[string]any
	// Patterns are the settings.repositories patterns that matched, least
	// specific first (the last wins).
	Patterns []string
}

// settingsQuery asks the policies' own helpers (lib.settings and the
// aggregator's modes), so the page shows what a decision would use.
const settingsQuery = `policies := {name: s |
	some name in data.runpolicy.main.policy_names
	s := object.union(data.runpolicy.lib.settings(name), {"mode": object.get(data.runpolicy.main.modes, name, "off")})
}
patterns := data.runpolicy.lib.repository_patterns`

// Settings returns the effective settings for a repository (owner/name).
func (e *Engine) Settings(ctx context.Context, repository string) (*RepositorySettings, error) {
	owner, name, ok := strings.Cut(repository, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("settings for %q: want owner/name", repository)
	}
	rev := e.cur.Load()
	if rev == nil {
		return nil, errors.New("no policy bundle is active yet")
	}
	in := map[string]any{"repository": map[string]any{"full_name": repository, "owner": owner, "name": name}}
	rs, err := rego.New(rego.Query(settingsQuery), rego.Compiler(rev.compiler), rego.Store(rev.store), rego.Input(in)).Eval(ctx)
	if err != nil {
		return nil, fmt.Errorf("settings for %s: %w", repository, err)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("settings for %s: undefined (is the runpolicy.main aggregator loaded?)", repository)
	}
	out := &RepositorySettings{Policies: map[string]map[string]any{}}
	policies, _ := rs[0].Bindings["policies"].(map[string]any)
	for name, v := range policies {
		s, _ := v.(map[string]any)
		out.Policies[name] = s
	}
	patterns, _ := rs[0].Bindings["patterns"].([]any)
	for _, p := range patterns {
		out.Patterns = append(out.Patterns, fmt.Sprint(p))
	}
	return out, nil
}
