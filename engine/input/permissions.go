package input

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"
)

// PermissionScopes are the scopes of the GITHUB_TOKEN that GitHub
// documents (and actionlint knows), sorted: those a job's effective
// permissions list.
var PermissionScopes = []string{
	"actions", "artifact-metadata", "attestations", "checks", "contents", "deployments", "discussions",
	"id-token", "issues", "models", "packages", "pages", "pull-requests", "repository-projects",
	"security-events", "statuses",
}

// permissions reads a permissions: key as written, nil when absent. A
// scope or value GitHub does not document is reported as unmodeled and
// read as the most it could grant: GitHub refuses such a workflow, and
// runpolicy never reads a token as weaker than it may be.
func (n *normalizer) permissions(p *actionlint.Permissions, job string) *Permissions {
	if p == nil || p.Pos == nil {
		return nil
	}
	out := &Permissions{Scopes: map[string]string{}, Line: p.Pos.Line}
	if p.All != nil {
		all := p.All.Value
		switch all {
		case PermissionReadAll, PermissionWriteAll:
		default:
			if all != "" { // actionlint already reports an empty value
				n.unmodel(job, nil, p.Pos.Line, "permissions: %q is neither read-all, write-all nor a mapping of scopes: runpolicy reads it as write-all", brief(all))
			}
			all = PermissionWriteAll
		}
		out.All = &all
		return out
	}
	for _, s := range p.Scopes {
		if s == nil || s.Name == nil {
			continue
		}
		name := s.Name.Value
		if !slices.Contains(PermissionScopes, name) {
			n.unmodel(job, nil, s.Name.Pos.Line, "permissions: scope %q is not one GitHub documents (%s)", brief(name), strings.Join(PermissionScopes, ", "))
			// GitHub spells scopes in lower case; Contents reads as contents.
			name = strings.ToLower(name)
		}
		level := ""
		if s.Value != nil {
			level = s.Value.Value
		}
		switch level {
		case PermissionRead, PermissionWrite, PermissionNone:
		default:
			n.unmodel(job, nil, s.Name.Pos.Line, "permissions: %s: %q is not read, write or none: runpolicy reads it as write", brief(s.Name.Value), brief(level))
			level = PermissionWrite
		}
		if prev, ok := out.Scopes[name]; !ok || grants(level) > grants(prev) {
			out.Scopes[name] = level // Contents: write beside contents: read
		}
	}
	return out
}

// grants orders the levels: none, read, write.
func grants(level string) int {
	return slices.Index([]string{PermissionNone, PermissionRead, PermissionWrite}, level)
}

// effectivePermissions are a job's token permissions as GitHub computes
// them from the file (see JobPermissions): own is the job's permissions:,
// workflow the workflow's, either nil when absent.
func effectivePermissions(own, workflow *Permissions) JobPermissions {
	source, p := PermissionsJob, own
	if p == nil {
		source, p = PermissionsWorkflow, workflow
	}
	if p == nil {
		return JobPermissions{Source: PermissionsDefault}
	}
	line := p.Line
	out := JobPermissions{Source: source, All: p.All, Line: &line, Scopes: make(map[string]string, len(PermissionScopes))}
	level := PermissionNone // a mapping grants nothing it does not name
	if p.All != nil {
		level = strings.TrimSuffix(*p.All, "-all")
	}
	for _, s := range PermissionScopes {
		out.Scopes[s] = level
	}
	for s, l := range p.Scopes {
		out.Scopes[s] = l
	}
	return out
}

// jobPermissions returns a job's effective permissions given its own
// permissions: key. The jobs without one share one value of the workflow's,
// map included.
func (n *normalizer) jobPermissions(p *actionlint.Permissions, job string) JobPermissions {
	if own := n.permissions(p, job); own != nil {
		return effectivePermissions(own, nil)
	}
	if n.inherited == nil {
		e := effectivePermissions(nil, n.facts.Permissions)
		n.inherited = &e
	}
	return *n.inherited
}

// unmodel records a shape runpolicy cannot model that actionlint's tree
// shows (shapes.go records those only the YAML shows).
func (n *normalizer) unmodel(job string, step *int, line int, format string, args ...any) {
	var s *int
	if step != nil {
		i := *step
		s = &i
	}
	n.unmodeledShapes = append(n.unmodeledShapes, Unmodeled{Job: job, Step: s, Line: line, Message: fmt.Sprintf(format, args...)})
}
