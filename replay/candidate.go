package replay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/runpolicy/runpolicy/bundles"
	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/internal/oneline"
)

// Policies are the policies decisions are made with: the built-in bundle
// and the configured sources. A candidate is the same set with one change.
type Policies struct {
	// Sources are the configured bundle sources (the server's bundles:).
	Sources []bundles.SourceConfig
	// AllowBuiltins are the network built-ins policies may call.
	AllowBuiltins []string
	// Tokens gives token_from_app sources their token (the App's); nil
	// when there is no App.
	Tokens bundles.TokenSource
	// OnlyConfigured refuses candidates other than a configured source at
	// another ref and uploaded bundles: a server takes no local path or
	// URL from a request.
	OnlyConfigured bool
}

// Candidate builds the candidate engine that spec describes:
//
//   - NAME@REF: the configured git source NAME at the branch, tag or
//     commit REF, the other sources as configured;
//   - NAME=SPEC: the configured source NAME replaced by the bundle at SPEC;
//   - SPEC: the bundle at SPEC beside the configured sources.
//
// SPEC is what `eval --policy` takes: a directory, a .tar.gz bundle, an
// http(s) bundle URL, or git::URL[//subdir][?ref=REF]. The built-in bundle
// is always in; every source is fetched now, at its configured ref.
func (p Policies) Candidate(ctx context.Context, spec string) (*engine.Engine, error) {
	if spec == "" {
		return nil, errors.New("replay: no candidate policy given")
	}
	sources, extra, err := p.resolve(spec)
	if err != nil {
		return nil, err
	}
	return p.build(ctx, sources, extra)
}

// CandidateBundle builds the candidate engine of an uploaded .tar.gz
// bundle: it replaces the configured source named replace, or goes beside
// them when replace is empty.
func (p Policies) CandidateBundle(ctx context.Context, tarball []byte, replace string) (*engine.Engine, error) {
	if len(tarball) == 0 {
		return nil, errors.New("replay: the uploaded bundle is empty")
	}
	if len(tarball) > bundles.MaxBundleBytes {
		return nil, fmt.Errorf("replay: the uploaded bundle is over %d bytes", bundles.MaxBundleBytes)
	}
	dir, err := os.MkdirTemp("", "runpolicy-replay-")
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bundle.tar.gz")
	if err := os.WriteFile(path, tarball, 0o600); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	name := "uploaded"
	if replace != "" {
		name = replace
	}
	cfg := bundles.SourceConfig{Name: name, Type: bundles.TypeTarball, URL: path}
	sources := p.Sources
	if replace != "" {
		if sources, err = p.without(replace); err != nil {
			return nil, err
		}
	}
	return p.build(ctx, sources, &cfg)
}

// resolve splits spec into the configured sources to fetch and the extra
// bundle, if any.
func (p Policies) resolve(spec string) ([]bundles.SourceConfig, *bundles.SourceConfig, error) {
	if name, ref, ok := strings.Cut(spec, "@"); ok && p.configured(name) >= 0 {
		if err := checkRef(ref); err != nil {
			return nil, nil, fmt.Errorf("replay: %s: %w", spec, err)
		}
		sources := append([]bundles.SourceConfig(nil), p.Sources...)
		i := p.configured(name)
		if sources[i].Kind() != bundles.TypeGit {
			return nil, nil, fmt.Errorf("replay: %s: source %s is not a git repository; give a bundle instead", spec, name)
		}
		sources[i].Type, sources[i].Ref = bundles.TypeGit, ref
		return sources, nil, nil
	}
	if p.OnlyConfigured {
		return nil, nil, fmt.Errorf("replay: %q: want NAME@REF, NAME one of the configured bundle sources (%s)", spec, p.names())
	}
	sources := p.Sources
	name, loc, replace := strings.Cut(spec, "=")
	if replace && p.configured(name) >= 0 {
		var err error
		if sources, err = p.without(name); err != nil {
			return nil, nil, err
		}
		spec = loc
	}
	cfg, err := bundles.ParseSpec(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("replay: %w", err)
	}
	if replace && p.configured(name) >= 0 {
		cfg.Name = name
	}
	return sources, &cfg, nil
}

// build fetches the sources and the extra bundle and compiles them with
// the built-in bundle.
func (p Policies) build(ctx context.Context, sources []bundles.SourceConfig, extra *bundles.SourceConfig) (*engine.Engine, error) {
	if extra != nil {
		sources = append(append([]bundles.SourceConfig(nil), sources...), *extra)
	}
	set := make([]engine.Bundle, 0, len(sources))
	for _, cfg := range sources {
		b, err := bundles.FetchWith(ctx, cfg, p.Tokens)
		if err != nil {
			return nil, fmt.Errorf("replay: candidate: %s", oneline.Error(err))
		}
		set = append(set, b)
	}
	eng, err := engine.New(ctx, set, engine.WithAllowedBuiltins(p.AllowBuiltins...))
	if err != nil {
		return nil, fmt.Errorf("replay: candidate: %s", oneline.Error(err))
	}
	return eng, nil
}

func (p Policies) configured(name string) int {
	for i, s := range p.Sources {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// without is the configured sources but name.
func (p Policies) without(name string) ([]bundles.SourceConfig, error) {
	i := p.configured(name)
	if i < 0 {
		return nil, fmt.Errorf("replay: no configured bundle source named %q (%s)", name, p.names())
	}
	out := append([]bundles.SourceConfig(nil), p.Sources[:i]...)
	return append(out, p.Sources[i+1:]...), nil
}

func (p Policies) names() string {
	if len(p.Sources) == 0 {
		return "none configured"
	}
	names := make([]string, len(p.Sources))
	for i, s := range p.Sources {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// checkRef refuses what is no git branch, tag or commit name: a request
// names it, and it goes to git.
func checkRef(ref string) error {
	if ref == "" || len(ref) > 255 || strings.Contains(ref, "..") || strings.HasPrefix(ref, "-") ||
		strings.HasPrefix(ref, "/") || strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".lock") {
		return fmt.Errorf("ref %q is not a branch, tag or commit name", ref)
	}
	for _, r := range ref {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("~^:?*[\\@{}", r) {
			return fmt.Errorf("ref %q is not a branch, tag or commit name", ref)
		}
	}
	return nil
}
