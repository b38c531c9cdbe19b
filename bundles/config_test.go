package bundles

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

func TestParseSpec(t *testing.T) {
	dir := t.TempDir()
	tarball := filepath.Join(dir, "org.tar.gz")
	if err := os.WriteFile(tarball, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec                  string
		typ, url, subdir, ref string
		name                  string // default: the spec
		wantErr               string
	}{
		{spec: "git::https://github.com/acme/policies.git//policies?ref=main", typ: TypeGit, url: "https://github.com/acme/policies.git", subdir: "policies", ref: "main"},
		{spec: "git::https://github.com/acme/policies.git", typ: TypeGit, url: "https://github.com/acme/policies.git"},
		{spec: "git::file:///srv/git/policies.git//policies?ref=v1", typ: TypeGit, url: "file:///srv/git/policies.git", subdir: "policies", ref: "v1"},
		{spec: "git::git@github.com:acme/policies.git//rego/org?ref=0123456789abcdef0123456789abcdef01234567", typ: TypeGit, url: "git@github.com:acme/policies.git", subdir: "rego/org", ref: "0123456789abcdef0123456789abcdef01234567"},
		{spec: "git::ssh://git@github.com/acme/policies.git//a/b/", typ: TypeGit, url: "ssh://git@github.com/acme/policies.git", subdir: "a/b"},
		{spec: "git::/srv/git/policies//org", typ: TypeGit, url: "/srv/git/policies", subdir: "org"},
		{spec: "https://bundles.example.com/org.tar.gz", typ: TypeHTTP, url: "https://bundles.example.com/org.tar.gz"},
		{spec: "git::https://bot:ghp_secret@github.com/acme/p.git?ref=main", typ: TypeGit, url: "https://bot:ghp_secret@github.com/acme/p.git", ref: "main", name: "git::https://bot@github.com/acme/p.git"},
		{spec: "https://u:secret@bundles.example.com/org.tar.gz", typ: TypeHTTP, url: "https://u:secret@bundles.example.com/org.tar.gz", name: "https://u@bundles.example.com/org.tar.gz"},
		{spec: dir, typ: TypeDir, url: dir},
		{spec: tarball, typ: TypeTarball, url: tarball},
		{spec: "git::https://github.com/acme/p.git?depth=1", wantErr: `unknown parameter "depth"`},
		{spec: "git::", wantErr: "no repository URL"},
		{spec: "git::https://github.com/acme/p.git//../etc", wantErr: "inside the repository"},
		{spec: filepath.Join(dir, "missing"), wantErr: "no such file"},
		{spec: "", wantErr: "empty"},
	}
	for _, tc := range tests {
		if tc.name == "" {
			tc.name = tc.spec
		}
		cfg, err := ParseSpec(tc.spec)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.spec, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.spec, err)
			continue
		}
		if cfg.Type != tc.typ || cfg.URL != tc.url || cfg.Subdir != tc.subdir || cfg.Ref != tc.ref || cfg.Name != tc.name {
			t.Errorf("%q: got type %q url %q subdir %q ref %q name %q", tc.spec, cfg.Type, cfg.URL, cfg.Subdir, cfg.Ref, cfg.Name)
		}
	}
}

const serverConfig = `
- name: org
  type: git
  url: https://github.com/acme/policies.git
  ref: main
  subdir: policies
  interval: 30s
  token_from_app: true
  repository: acme/policies
  run_tests: true
- name: signed
  url: https://bundles.example.com/org.tar.gz
  public_key_file: /etc/runpolicy/bundle.pem
`

// TestSourceConfigDecode reads the server config's bundles list with both
// YAML libraries a config loader may use.
func TestSourceConfigDecode(t *testing.T) {
	check := func(name string, got []SourceConfig) {
		t.Helper()
		if len(got) != 2 {
			t.Fatalf("%s: %d sources, want 2", name, len(got))
		}
		want := SourceConfig{Name: "org", Type: TypeGit, URL: "https://github.com/acme/policies.git", Ref: "main", Subdir: "policies",
			Interval: 30 * time.Second, TokenFromApp: true, Repository: "acme/policies", RunTests: true}
		if !reflect.DeepEqual(got[0], want) {
			t.Errorf("%s: got %+v, want %+v", name, got[0], want)
		}
		if got[1].PublicKeyFile != "/etc/runpolicy/bundle.pem" || got[1].Interval != 0 {
			t.Errorf("%s: second source %+v", name, got[1])
		}
	}
	var viaJSON []SourceConfig
	if err := yaml.Unmarshal([]byte(serverConfig), &viaJSON); err != nil {
		t.Fatal(err)
	}
	check("sigs.k8s.io/yaml", viaJSON)
	var viaYAML []SourceConfig
	if err := yamlv3.Unmarshal([]byte(serverConfig), &viaYAML); err != nil {
		t.Fatal(err)
	}
	check("yaml.v3", viaYAML)

	for _, bad := range []struct{ doc, want string }{
		{"- name: org\n  intervall: 30s\n", `unknown field "intervall"`},
		{"- name: org\n  interval: soon\n", "interval"},
		{"- name: org\n  interval: [1]\n", "interval"},
	} {
		var out []SourceConfig
		if err := yaml.Unmarshal([]byte(bad.doc), &out); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: error %v, want %q", bad.doc, err, bad.want)
		}
	}
}

// TestNewManagerRefusesBadConfig checks that configuration mistakes fail
// NewManager with one line naming the source.
func TestNewManagerRefusesBadConfig(t *testing.T) {
	base := baseSource(t)
	eng := newEngine(t, base)
	dir := t.TempDir()
	tests := []struct {
		name    string
		sources []SourceConfig
		opts    []ManagerOption
		want    string
	}{
		{"no name", []SourceConfig{{URL: dir}}, nil, "name is required"},
		{"reserved name", []SourceConfig{{Name: "builtin", URL: dir}}, nil, "reserved"},
		{"twice", []SourceConfig{{Name: "a", URL: dir}, {Name: "a", URL: dir}}, nil, "bundle source a: name used twice"},
		{"no url", []SourceConfig{{Name: "a"}}, nil, "bundle source a: url is required"},
		{"bad type", []SourceConfig{{Name: "a", URL: dir, Type: "s3"}}, nil, `unknown type "s3"`},
		{"ref on dir", []SourceConfig{{Name: "a", URL: dir, Ref: "main"}}, nil, "git sources only"},
		{"negative interval", []SourceConfig{{Name: "a", URL: dir, Interval: -time.Second}}, nil, "negative"},
		{"http without scheme", []SourceConfig{{Name: "a", URL: "bundles.example.com/x", Type: TypeHTTP}}, nil, "must start with http"},
		{"app token without app", []SourceConfig{{Name: "a", URL: "https://github.com/acme/p.git", TokenFromApp: true}}, nil, "needs the server's GitHub App"},
		{"app token without repository", []SourceConfig{{Name: "a", URL: "https://example.com/p.git", TokenFromApp: true}}, nil, "needs repository"},
		{"bad repository", []SourceConfig{{Name: "a", URL: dir, Repository: "acme"}}, nil, "not owner/name"},
		{"missing key", []SourceConfig{{Name: "a", URL: dir, PublicKeyFile: filepath.Join(dir, "nope.pem")}}, nil, "nope.pem"},
		{"missing ssh key", []SourceConfig{{Name: "a", URL: "git@github.com:acme/p.git", SSHKeyFile: filepath.Join(dir, "id")}}, nil, "ssh key"},
		{"builtin mismatch", nil, []ManagerOption{WithBuiltin(true)}, "built-in bundle"},
	}
	for _, tc := range tests {
		opts := append([]ManagerOption{WithBuiltin(false)}, tc.opts...)
		_, err := NewManager(eng, tc.sources, opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestGuessTypeAndRedact(t *testing.T) {
	for loc, want := range map[string]string{
		"https://github.com/acme/policies.git": TypeGit,
		"https://bundles.example.com/org":      TypeHTTP,
		"ssh://git@github.com/acme/p.git":      TypeGit,
		"git@github.com:acme/policies.git":     TypeGit,
		"file:///srv/git/p.git":                TypeGit,
		"/etc/runpolicy/org.tar.gz":            TypeTarball,
		"/etc/runpolicy/policies":              TypeDir,
	} {
		if got := guessType(loc); got != want {
			t.Errorf("guessType(%q) = %q, want %q", loc, got, want)
		}
	}
	if got := redact("https://user:ghp_secret@github.com/acme/p.git"); strings.Contains(got, "ghp_secret") {
		t.Errorf("redact kept the password: %s", got)
	}
	if got := repoFromURL("git@github.com:acme/policies.git"); got != "acme/policies" {
		t.Errorf("repoFromURL = %q", got)
	}
}

// TestFetchHonoursContext checks that a cancelled check stops.
func TestFetchHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	srv := newBundleService(t)
	srv.publish(t, "r1", "one")
	if _, err := Fetch(ctx, SourceConfig{Name: "org", URL: srv.URL + "/bundles/org.tar.gz"}); err == nil {
		t.Error("a cancelled fetch succeeded")
	}
}
