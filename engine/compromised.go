package engine

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// compromisedAdditionsKey is where a source may also put its additions to
// the compromised list (data.runpolicy.compromised_additions); they are
// united with data.runpolicy.compromised like any other source's.
const compromisedAdditionsKey = "compromised_additions"

// Exception is one entry of settings.compromised_actions.exceptions: the
// only way to take an entry off the compromised list.
type Exception struct {
	Advisory string `json:"advisory"`
	Reason   string `json:"reason"`
	// Actions are the list entries it dropped.
	Actions []string `json:"actions"`
}

// withoutCompromised returns doc without its compromised list, which it
// unites into list instead, so that no source can shrink the list by
// replacing a value: the policies read the union at data.runpolicy.compromised.
func withoutCompromised(doc map[string]any, list map[string]any) map[string]any {
	rp, ok := doc[ReservedRoot].(map[string]any)
	if !ok {
		return doc
	}
	_, has := rp["compromised"]
	_, hasAdd := rp[compromisedAdditionsKey]
	if !has && !hasAdd {
		return doc
	}
	for _, k := range []string{"compromised", compromisedAdditionsKey} {
		if src, ok := rp[k].(map[string]any); ok {
			unite(list, src)
		}
	}
	rest := make(map[string]any, len(rp))
	for k, v := range rp {
		if k != "compromised" && k != compromisedAdditionsKey {
			rest[k] = v
		}
	}
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		out[k] = v
	}
	out[ReservedRoot] = rest
	return out
}

// unite adds src to dst and never takes anything away: objects unite key by
// key, lists gain the items they lack, booleans are ORed (all_versions, a
// commit's true), and any other value that is already set keeps its first
// value (a summary, the commit index's action name). dst never shares
// objects or lists with src.
func unite(dst, src map[string]any) {
	for k, sv := range src {
		dv, ok := dst[k]
		if !ok {
			dst[k] = deepCopy(sv)
			continue
		}
		dst[k] = united(dv, sv)
	}
}

func united(dv, sv any) any {
	switch d := dv.(type) {
	case map[string]any:
		if s, ok := sv.(map[string]any); ok {
			unite(d, s)
		}
		return d
	case []any:
		s, ok := sv.([]any)
		if !ok {
			return d
		}
		for _, item := range s {
			if !slices.ContainsFunc(d, func(x any) bool { return reflect.DeepEqual(x, item) }) {
				d = append(d, deepCopy(item))
			}
		}
		return d
	case bool:
		if s, ok := sv.(bool); ok {
			return d || s
		}
		return d
	}
	return dv
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = deepCopy(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = deepCopy(x)
		}
		return out
	}
	return v
}

// applyExceptions drops from list the entries whose advisories an
// exception in data's settings.compromised_actions.exceptions names, and
// stores the rest at data.runpolicy.compromised. Each exception needs an
// advisory and a reason.
func applyExceptions(data, list map[string]any) ([]Exception, error) {
	raw := getPath(data, ReservedRoot, "settings", "compromised_actions", "exceptions")
	var out []Exception
	if raw != nil {
		items, ok := raw.([]any)
		if !ok {
			return nil, fmt.Errorf("invalid settings: settings.compromised_actions.exceptions: must be a list of {advisory, reason}, got %T", raw)
		}
		for i, item := range items {
			obj, _ := item.(map[string]any)
			adv, _ := obj["advisory"].(string)
			reason, _ := obj["reason"].(string)
			if strings.TrimSpace(adv) == "" || strings.TrimSpace(reason) == "" || len(obj) != 2 {
				return nil, fmt.Errorf("invalid settings: settings.compromised_actions.exceptions[%d]: must be {advisory: GHSA-…, reason: why}, got %v", i, item)
			}
			out = append(out, Exception{Advisory: adv, Reason: reason, Actions: []string{}})
		}
	}
	if len(list) == 0 {
		return out, nil
	}
	actions, _ := list["actions"].(map[string]any)
	dropped := map[string]bool{}
	for i := range out {
		for name, entry := range actions {
			e, _ := entry.(map[string]any)
			advs, _ := e["advisories"].([]any)
			if slices.ContainsFunc(advs, func(a any) bool { s, _ := a.(string); return strings.EqualFold(s, out[i].Advisory) }) {
				out[i].Actions = append(out[i].Actions, name)
				dropped[name] = true
			}
		}
		slices.Sort(out[i].Actions)
	}
	for name := range dropped {
		delete(actions, name)
	}
	if commits, ok := list["commits"].(map[string]any); ok && len(dropped) > 0 {
		for sha, name := range commits {
			if n, ok := name.(string); ok && dropped[n] {
				delete(commits, sha)
			}
		}
	}
	setPath(data, list, ReservedRoot, "compromised")
	return out, nil
}

// getPath is data[path...], or nil.
func getPath(data map[string]any, path ...string) any {
	var cur any = data
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}
