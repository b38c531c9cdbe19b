package bundles

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/runpolicy/runpolicy/engine"
)

// ParseSpec turns a command-line --policy value into a source: a
// directory, a .tar.gz file, an http(s) bundle URL, or a conftest-style
// git::URL[//subdir][?ref=REF] (git::https://host/org/repo.git//policies?ref=main,
// git::file:///path/repo.git//policies?ref=v1, git::git@host:org/repo.git).
func ParseSpec(spec string) (SourceConfig, error) {
	if spec == "" {
		return SourceConfig{}, fmt.Errorf("policy source: empty")
	}
	cfg := SourceConfig{Name: spec}
	if rest, ok := strings.CutPrefix(spec, "git::"); ok {
		loc, query, _ := strings.Cut(rest, "?")
		if query != "" {
			q, err := url.ParseQuery(query)
			if err != nil {
				return cfg, fmt.Errorf("policy source %s: %w", spec, err)
			}
			for k := range q {
				if k != "ref" {
					return cfg, fmt.Errorf("policy source %s: unknown parameter %q (only ref is supported)", spec, k)
				}
			}
			cfg.Ref = q.Get("ref")
		}
		cfg.Type = TypeGit
		cfg.URL, cfg.Subdir = splitSubdir(loc)
		if cfg.URL == "" {
			return cfg, fmt.Errorf("policy source %s: no repository URL after git::", spec)
		}
		if redacted := redact(cfg.URL); redacted != cfg.URL {
			cfg.Name = "git::" + redacted // the name shows in errors and decision logs
		}
		return cfg.normalize()
	}
	cfg.URL, cfg.Name = spec, redact(spec)
	switch {
	case strings.HasPrefix(spec, "http://"), strings.HasPrefix(spec, "https://"):
		cfg.Type = TypeHTTP
	default:
		fi, err := os.Stat(spec)
		if err != nil {
			return cfg, fmt.Errorf("policy source %s: %w", spec, err)
		}
		cfg.Type = TypeTarball
		if fi.IsDir() {
			cfg.Type = TypeDir
		}
	}
	return cfg.normalize()
}

// splitSubdir splits go-getter's "URL//subdir": the first "//" after the
// scheme's own "://" separates the repository from the folder inside it.
func splitSubdir(loc string) (repo, subdir string) {
	start := 0
	if i := strings.Index(loc, "://"); i >= 0 {
		start = i + 3
		if strings.HasPrefix(loc, "file://") {
			start++ // file:///abs/path: skip the path's leading slash
		}
	}
	i := strings.Index(loc[start:], "//")
	if i < 0 {
		return loc, ""
	}
	return loc[:start+i], strings.Trim(loc[start+i+2:], "/")
}

// Fetch reads the current revision of one source once. With cfg.RunTests
// the bundle's own tests are run, with the built-in bundle beside it, and a
// failure is an error.
func Fetch(ctx context.Context, cfg SourceConfig) (engine.Bundle, error) {
	return FetchWith(ctx, cfg, nil)
}

// FetchWith is Fetch for a source that may take its token from the App
// (token_from_app), such as a configured source a replay fetches at
// another ref.
func FetchWith(ctx context.Context, cfg SourceConfig, tokens TokenSource) (engine.Bundle, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return engine.Bundle{}, err
	}
	f, err := newFetcher(cfg, tokens)
	if err != nil {
		return engine.Bundle{}, err
	}
	_, snap, err := f.fetch(ctx, "")
	if err != nil {
		return engine.Bundle{}, fmt.Errorf("bundle source %s: %w", cfg.Name, err)
	}
	b := engine.Bundle{Name: cfg.Name, Bundle: snap.bundle, Where: snap.where}
	if cfg.RunTests {
		if err := runTests(ctx, true, nil, []engine.Bundle{b}, snap.tests); err != nil {
			return engine.Bundle{}, fmt.Errorf("bundle source %s: %w", cfg.Name, err)
		}
	}
	return b, nil
}
