package bundles

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// dirSource reads a bundle directory, as `opa build` takes it. It is read
// again on every check and activated when its content changed, which also
// follows Kubernetes ConfigMap mounts (symlinked files, hidden ..data
// folders).
type dirSource struct {
	root   string
	verify *bundle.VerificationConfig
}

func (d *dirSource) fetch(ctx context.Context, known string) (string, *snapshot, error) {
	files, err := readDir(ctx, d.root)
	if err != nil {
		return "", nil, err
	}
	return snapshotOf(files, known, d.verify)
}

// readDir collects the bundle files under root (see keep). .git and
// ConfigMap internals (..data, ..2024_…) are always skipped; symlinked
// files are followed.
func readDir(ctx context.Context, root string) (*fileSet, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", root)
	}
	_, err = os.Stat(filepath.Join(root, signaturesFile))
	signed := err == nil
	files := newFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root && (name == ".git" || strings.HasPrefix(name, "..") || (!signed && strings.HasPrefix(name, "."))) {
				return fs.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !keep(rel, signed) {
			return nil
		}
		info, err := os.Stat(p) // follows a symlink to its file
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil // a symlink to a folder (ConfigMap ..data) or a device
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return files.add(rel, info.Size(), f)
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", root, err)
	}
	if len(files.files) == 0 {
		// OPA would say "open bundle: file does not exist", which reads
		// like a missing directory.
		return nil, fmt.Errorf("%s holds no policy: no .rego, data.json or data.yaml file in it", root)
	}
	return files, nil
}
