package advisory

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/runpolicy/runpolicy/internal/bounded"
)

// MaxFileSize is the largest advisory or overlay file read. Advisory
// records are a few kilobytes; the largest in the GitHub Advisory Database
// stay well below 1 MiB.
const MaxFileSize = 4 << 20

// ReadFile reads a file of at most MaxFileSize bytes.
func ReadFile(path string) ([]byte, error) {
	b, err := bounded.ReadFile(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// Files expands paths into the files to import: a file is taken as it is, a
// directory gives every *.json file under it. The result is sorted within
// each directory, so that messages come in a stable order.
func Files(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.EqualFold(filepath.Ext(path), ".json") {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walk %s: %w", p, err)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}
