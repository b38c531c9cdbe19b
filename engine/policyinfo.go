package engine

import (
	"fmt"
)

// PolicyInfo is what a policy's package METADATA says about it, for
// reports that describe a rule (SARIF rule help, annotations).
type PolicyInfo struct {
	Name        string
	Title       string
	Description string
	// URLs are the related_resources refs, first the policy's main page.
	URLs []string
	// Severity is custom.severity: critical, high, medium, low or a CVSS
	// score from 0.0 to 10.0; empty when the policy does not say.
	Severity string
}

// Policies describes every loaded policy package under runpolicy.policies
// from its package METADATA (empty but for the name without one), by name.
func (e *Engine) Policies() map[string]PolicyInfo {
	out := map[string]PolicyInfo{}
	rev := e.cur.Load()
	if rev == nil {
		return out
	}
	// Every policy package is listed, one without METADATA too.
	for _, n := range packages(rev.compiler) {
		name := n.(string)
		out[name] = PolicyInfo{Name: name}
	}
	for _, ref := range rev.compiler.GetAnnotationSet().Flatten() {
		a := ref.Annotations
		if a == nil || a.Scope != "package" {
			continue
		}
		name, top, ok := policyName(ref.Path)
		if !ok || !top {
			continue
		}
		p := PolicyInfo{Name: name, Title: a.Title, Description: a.Description}
		for _, r := range a.RelatedResources {
			if r != nil && r.Ref.String() != "" {
				p.URLs = append(p.URLs, r.Ref.String())
			}
		}
		if s, ok := a.Custom["severity"]; ok && s != nil {
			p.Severity = fmt.Sprint(s)
		}
		out[p.Name] = p
	}
	return out
}
