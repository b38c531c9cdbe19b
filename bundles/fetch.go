package bundles

import (
	"context"
	"fmt"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// A fetcher reads one source.
//
// fetch compares the source's current version (commit SHA, ETag, content
// digest) with known and returns (known, nil, nil) when it has not changed,
// so an unchanged source costs no parse and no compile. An error with a
// non-empty version means that version is broken (bad Rego, bad signature):
// it is not read again until the source moves on. An error with an empty
// version is a failure to reach the source, retried on the next check.
type fetcher interface {
	fetch(ctx context.Context, known string) (version string, snap *snapshot, err error)
}

// newFetcher builds the fetcher for a normalized source.
func newFetcher(cfg SourceConfig, tokens TokenSource) (fetcher, error) {
	vc, err := verification(cfg.PublicKeyFile, cfg.KeyAlgorithm)
	if err != nil {
		return nil, fmt.Errorf("bundle source %s: %w", cfg.Name, err)
	}
	switch cfg.Type {
	case TypeDir:
		return &dirSource{root: cfg.URL, verify: vc}, nil
	case TypeTarball:
		return &tarballSource{file: cfg.URL, verify: vc}, nil
	case TypeHTTP:
		return newHTTPSource(cfg, vc, tokens)
	case TypeGit:
		return newGitSource(cfg, vc, tokens)
	}
	return nil, fmt.Errorf("bundle source %s: unknown type %q", cfg.Name, cfg.Type)
}

// shortRevision is the revision shown for a source whose manifest names
// none: enough of the content digest to tell revisions apart.
func shortRevision(version string) string {
	if len(version) > len("sha256:")+12 {
		return version[:len("sha256:")+12]
	}
	return version
}

// snapshotOf reads files as a bundle, version being their digest.
func snapshotOf(files *fileSet, known string, vc *bundle.VerificationConfig) (string, *snapshot, error) {
	version := files.digest()
	if version == known {
		return known, nil, nil
	}
	b, err := files.read(vc)
	if err != nil {
		return version, nil, err
	}
	rev := b.Manifest.Revision
	if rev == "" {
		rev = shortRevision(version)
	}
	snap := split(b, version, rev)
	snap.where = files.locator()
	return version, snap, nil
}
