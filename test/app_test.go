package test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/runpolicy/runpolicy/test/harness"
)

// The App manifest asks for exactly what the server uses.
func TestAppManifest(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(harness.Root(), "app.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Name           string            `yaml:"name"`
		Public         bool              `yaml:"public"`
		Permissions    map[string]string `yaml:"default_permissions"`
		CallbackURLs   []string          `yaml:"callback_urls"`
		Events         []string          `yaml:"default_events"`
		HookAttributes struct {
			URL    string `yaml:"url"`
			Active bool   `yaml:"active"`
		} `yaml:"hook_attributes"`
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	wantPerms := map[string]string{"actions": "write", "contents": "read", "checks": "write", "pull_requests": "write", "metadata": "read",
		"members": "read"} // the console reads org and team memberships with the user's token
	if !reflect.DeepEqual(m.Permissions, wantPerms) {
		t.Errorf("permissions = %v, want %v", m.Permissions, wantPerms)
	}
	if want := []string{"workflow_run", "workflow_job", "push", "check_run"}; !reflect.DeepEqual(m.Events, want) {
		t.Errorf("events = %v, want %v", m.Events, want)
	}
	if len(m.CallbackURLs) != 1 || !strings.HasSuffix(m.CallbackURLs[0], "/auth/callback") {
		t.Errorf("callback_urls = %v, want the console's /auth/callback", m.CallbackURLs)
	}
	if m.Name == "" || m.Public || !m.HookAttributes.Active || filepath.Base(m.HookAttributes.URL) != "webhook" {
		t.Errorf("manifest = %+v", m)
	}
}
