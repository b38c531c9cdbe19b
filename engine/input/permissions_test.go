package input

import (
	"maps"
	"strings"
	"testing"
)

// allScopes returns every documented scope at level, with the overrides.
func allScopes(level string, overrides ...string) map[string]string {
	m := map[string]string{}
	for _, s := range PermissionScopes {
		m[s] = level
	}
	for i := 0; i+1 < len(overrides); i += 2 {
		m[overrides[i]] = overrides[i+1]
	}
	return m
}

// TestPermissions checks a job's effective permissions against GitHub's
// rules: the job's permissions: replaces the workflow's, a mapping sets
// every scope it does not name to none, read-all and write-all expand, and
// {} differs from absent.
func TestPermissions(t *testing.T) {
	tests := []struct {
		name, workflow, job string // permissions: values as YAML, "" for absent
		source              string
		scopes              map[string]string // nil: the default applies
		all                 string
		line                int  // of the permissions: in force, 0 for none
		unmodeled           bool // the shape is reported
	}{
		{name: "neither", source: PermissionsDefault},
		{name: "workflow only", workflow: "{contents: read}", source: PermissionsWorkflow, scopes: allScopes("none", "contents", "read"), line: 2},
		{name: "job replaces workflow", workflow: "{contents: write, issues: write}", job: "{pull-requests: write}",
			source: PermissionsJob, scopes: allScopes("none", "pull-requests", "write"), line: 6},
		{name: "empty job mapping drops the workflow's", workflow: "write-all", job: "{}", source: PermissionsJob, scopes: allScopes("none"), line: 6},
		{name: "empty workflow mapping", workflow: "{}", source: PermissionsWorkflow, scopes: allScopes("none"), line: 2},
		{name: "read-all", workflow: "read-all", source: PermissionsWorkflow, scopes: allScopes("read"), all: "read-all", line: 2},
		{name: "write-all on the job", job: "write-all", source: PermissionsJob, scopes: allScopes("write"), all: "write-all", line: 6},
		{name: "job read-all over workflow mapping", workflow: "{contents: write}", job: "read-all", source: PermissionsJob, scopes: allScopes("read"), all: "read-all", line: 6},
		{name: "every level", job: "{actions: read, contents: write, id-token: none}", source: PermissionsJob,
			scopes: allScopes("none", "actions", "read", "contents", "write"), line: 6},
		{name: "unknown all value reads as write-all", job: "write", source: PermissionsJob, scopes: allScopes("write"), all: "write-all", line: 6, unmodeled: true},
		{name: "unknown level reads as write", job: "{contents: admin}", source: PermissionsJob, scopes: allScopes("none", "contents", "write"), line: 6, unmodeled: true},
		{name: "expression level reads as write", job: "{contents: '${{ inputs.level }}'}", source: PermissionsJob, scopes: allScopes("none", "contents", "write"), line: 6, unmodeled: true},
		{name: "unknown scope kept in lower case", job: "{Contents: write, widgets: read}", source: PermissionsJob,
			scopes: allScopes("none", "contents", "write", "widgets", "read"), line: 6, unmodeled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "on: push\n"
			if tt.workflow != "" {
				src += "permissions: " + tt.workflow + "\n"
			} else {
				src += "# no permissions\n"
			}
			src += "jobs:\n  build:\n    runs-on: x\n"
			if tt.job != "" {
				src += "    permissions: " + tt.job + "\n"
			}
			src += "    steps:\n      - run: make\n"
			f := mustParse(t, src)
			p := f.Jobs["build"].Permissions
			if p.Source != tt.source {
				t.Errorf("source = %q, want %q", p.Source, tt.source)
			}
			if !maps.Equal(p.Scopes, tt.scopes) || (p.Scopes == nil) != (tt.scopes == nil) {
				t.Errorf("scopes = %v, want %v", p.Scopes, tt.scopes)
			}
			if got := deref(p.All); got != tt.all {
				t.Errorf("all = %q, want %q", got, tt.all)
			}
			if line := 0; p.Line != nil {
				line = *p.Line
				if line != tt.line {
					t.Errorf("line = %d, want %d", line, tt.line)
				}
			} else if tt.line != 0 {
				t.Errorf("line = null, want %d", tt.line)
			}
			if got := len(f.Unmodeled) > 0; got != tt.unmodeled {
				t.Errorf("unmodeled = %+v, want reported: %v", f.Unmodeled, tt.unmodeled)
			}
			for _, u := range f.Unmodeled {
				if u.Job != "build" || u.Line != 6 || !strings.Contains(u.Message, "permissions") {
					t.Errorf("unmodeled %+v: want job build, line 6, naming permissions", u)
				}
			}
		})
	}
}

// TestWorkflowPermissions checks the workflow's permissions as written:
// absent is null, {} names no scope, read-all names none either.
func TestWorkflowPermissions(t *testing.T) {
	tests := []struct {
		yaml   string
		absent bool
		scopes map[string]string
		all    string
	}{
		{yaml: "", absent: true},
		{yaml: "permissions: {}", scopes: map[string]string{}},
		{yaml: "permissions: read-all", scopes: map[string]string{}, all: "read-all"},
		{yaml: "permissions:\n  contents: read\n  packages: write", scopes: map[string]string{"contents": "read", "packages": "write"}},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			f := mustParse(t, "on: push\n"+tt.yaml+"\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: make\n")
			p := f.Permissions
			if (p == nil) != tt.absent {
				t.Fatalf("permissions = %+v, want absent: %v", p, tt.absent)
			}
			if p == nil {
				return
			}
			if !maps.Equal(p.Scopes, tt.scopes) || p.Scopes == nil || deref(p.All) != tt.all || p.Line != 2 {
				t.Errorf("permissions = %v %q line %d, want %v %q line 2", p.Scopes, deref(p.All), p.Line, tt.scopes, tt.all)
			}
		})
	}
}
