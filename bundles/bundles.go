// Package bundles loads runpolicy's policy bundles from where teams keep
// them: a directory, a .tar.gz OPA bundle (optionally signed), a git
// repository, or an OPA bundle service over HTTP.
//
// Open reads one source once, for the command line. A Manager keeps several
// sources loaded in a running server: it polls each on its own interval,
// checks every new revision (Rego compile, settings validation, optionally
// the bundle's own tests) and swaps the whole set into the engine
// atomically. A revision that fails a check is never activated; the last
// good set stays in force.
package bundles

import (
	"context"
	"time"

	"github.com/runpolicy/runpolicy/engine"
)

// Source types accepted in SourceConfig.Type.
const (
	TypeDir     = "dir"
	TypeTarball = "tarball"
	TypeGit     = "git"
	TypeHTTP    = "http"
)

// SourceConfig is one entry of the server config's `bundles:` list.
type SourceConfig struct {
	// Name identifies the source in status, metrics, errors and decision
	// logs. It must be unique and must not be "builtin".
	Name string `yaml:"name" json:"name,omitempty"`
	// Type is dir, tarball, git or http. Empty means: guess from URL.
	Type string `yaml:"type" json:"type,omitempty"`
	// URL is a directory or .tar.gz path, a git URL (https://, ssh://,
	// scp-style user@host:org/repo.git, file:// or a local path), or the
	// http(s) URL of a bundle served by an OPA bundle service.
	URL string `yaml:"url" json:"url,omitempty"`
	// Ref is the git branch, tag or full commit SHA; empty means the
	// remote's default branch (HEAD).
	Ref string `yaml:"ref" json:"ref,omitempty"`
	// Subdir is the bundle's folder inside the git repository.
	Subdir string `yaml:"subdir" json:"subdir,omitempty"`
	// Interval is how often the source is checked for a new revision
	// (YAML "30s"); zero means DefaultInterval.
	Interval time.Duration `yaml:"interval" json:"interval,omitempty"`
	// Token authenticates https git remotes (as x-access-token) and bundle
	// services (as a bearer token).
	Token string `yaml:"token" json:"token,omitempty"`
	// TokenFromApp asks the manager's token source (a GitHub App
	// installation token) for a token for Repository on every fetch.
	TokenFromApp bool `yaml:"token_from_app" json:"token_from_app,omitempty"`
	// SSHKeyFile is the private key for ssh:// and scp-style git remotes.
	SSHKeyFile string `yaml:"ssh_key_file" json:"ssh_key_file,omitempty"`
	// KnownHostsFile verifies the ssh server's host key; empty means the
	// user's default known_hosts files.
	KnownHostsFile string `yaml:"known_hosts_file" json:"known_hosts_file,omitempty"`
	// PublicKeyFile is the PEM public key (or certificate) that signed
	// bundles are verified with. When set, a bundle with a missing or bad
	// .signatures.json is refused.
	PublicKeyFile string `yaml:"public_key_file" json:"public_key_file,omitempty"`
	// RunTests runs the bundle's own *_test.rego files before a revision
	// is activated; a failing test refuses the revision.
	RunTests bool `yaml:"run_tests" json:"run_tests,omitempty"`
	// Repository is the owner/repo whose push webhook triggers an
	// immediate refresh of this source.
	Repository string `yaml:"repository" json:"repository,omitempty"`
	// KeyAlgorithm is the signing algorithm (RS256, ES256, …); empty means
	// the one that matches the public key's type.
	KeyAlgorithm string `yaml:"key_algorithm" json:"key_algorithm,omitempty"`
	// RedirectHosts are the hosts (host or host:port) an http source may
	// be redirected to besides its own, such as an object store that
	// serves the bundle. Redirects to other hosts are refused, and so are
	// redirects to loopback or link-local addresses, whatever the list says.
	RedirectHosts []string `yaml:"redirect_hosts" json:"redirect_hosts,omitempty"`
}

// DefaultInterval is how often a source is checked when its Interval is zero.
const DefaultInterval = time.Minute

// Open reads one bundle from spec, for the command line's --policy: a
// directory, a .tar.gz bundle, an http(s) bundle URL, or a conftest-style
// git source such as git::https://host/org/repo.git//subdir?ref=main.
func Open(ctx context.Context, spec string) (engine.Bundle, error) {
	cfg, err := ParseSpec(spec)
	if err != nil {
		return engine.Bundle{}, err
	}
	return Fetch(ctx, cfg)
}
