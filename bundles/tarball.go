package bundles

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// tarballSource reads a .tar.gz bundle file, as `opa build` writes it.
type tarballSource struct {
	file   string
	verify *bundle.VerificationConfig
}

func (t *tarballSource) fetch(_ context.Context, known string) (string, *snapshot, error) {
	f, err := os.Open(t.file)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBundleBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("read %s: %w", t.file, err)
	}
	if len(data) > MaxBundleBytes {
		return "", nil, fmt.Errorf("%s exceeds %d bytes", t.file, MaxBundleBytes)
	}
	return snapshotOfTarball(data, digestOf(data), known, t.verify)
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// snapshotOfTarball reads a .tar.gz bundle whose version is already known
// (its digest, or a bundle service's ETag).
func snapshotOfTarball(data []byte, version, known string, vc *bundle.VerificationConfig) (string, *snapshot, error) {
	if version == known {
		return known, nil, nil
	}
	b, err := readTarball(data, vc)
	if err != nil {
		return version, nil, err
	}
	rev := b.Manifest.Revision
	if rev == "" {
		rev = shortRevision(digestOf(data))
	}
	snap := split(b, version, rev)
	snap.where = dataLocator(tarballData(data))
	return version, snap, nil
}
