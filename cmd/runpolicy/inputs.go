package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/runpolicy/runpolicy/internal/bounded"
)

// inputFile is one file eval judges: a workflow, or an action's metadata
// file (action.yml), read or not.
type inputFile struct {
	path   string
	src    []byte
	action bool
	err    error // unreadable: reported, and the other files are still judged
}

// stdinName is the file name "-" (stdin) is reported under.
const stdinName = "-"

// expandInputs turns eval's arguments into files: "-" is stdin, a
// directory gives its workflows and the actions under it (see dirInputs).
// An argument that cannot be read, or a directory with nothing to judge,
// becomes a file with an error, so the rest is still judged.
func expandInputs(args []string, stdin io.Reader) []inputFile {
	var out []inputFile
	seen := map[string]bool{}
	add := func(f inputFile) {
		if seen[f.path] && f.path != stdinName {
			return
		}
		seen[f.path] = true
		out = append(out, f)
	}
	for _, a := range args {
		if a == stdinName {
			add(readInput(a, stdin))
			continue
		}
		info, err := os.Stat(a)
		if err != nil || !info.IsDir() {
			add(readInput(a, stdin))
			continue
		}
		paths, err := dirInputs(a)
		if err == nil && len(paths) == 0 {
			err = errors.New("no workflow (*.yml, *.yaml) or action (action.yml) file in this directory")
		}
		if err != nil {
			add(inputFile{path: a, err: err})
			continue
		}
		for _, p := range paths {
			add(readInput(p, stdin))
		}
	}
	return out
}

// readInput reads one argument: a file, or stdin for "-". Action metadata
// is told by its name (action.yml, action.yaml), or on stdin by its shape
// (a top-level runs: and no jobs:).
func readInput(path string, stdin io.Reader) inputFile {
	f := inputFile{path: path, action: isActionFile(path)}
	if path == stdinName {
		b, err := bounded.ReadAll(stdin, maxInputFile)
		if tooLarge := (*bounded.TooLargeError)(nil); err != nil && !errors.As(err, &tooLarge) {
			err = fmt.Errorf("read stdin: %w", err)
		}
		f.src, f.err = b, err
		f.action = f.err == nil && topLevelKey(b, "runs") >= 0 && topLevelKey(b, "jobs") < 0
		return f
	}
	f.src, f.err = readFile(path)
	return f
}

func isActionFile(path string) bool {
	base := filepath.Base(path)
	return base == "action.yml" || base == "action.yaml"
}

func isYAML(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yml" || ext == ".yaml"
}

// dirInputs lists what a directory holds to judge, sorted: the *.yml and
// *.yaml files directly in it (or in its .github/workflows, for the root of
// a repository), as GitHub reads no subfolder of .github/workflows, and the
// action.yml / action.yaml files anywhere under it (skipping .git,
// node_modules and other hidden folders but .github).
func dirInputs(dir string) ([]string, error) {
	wfDir := dir
	if info, err := os.Stat(filepath.Join(dir, defaultWorkflowDir)); err == nil && info.IsDir() {
		wfDir = filepath.Join(dir, defaultWorkflowDir)
	}
	entries, err := os.ReadDir(wfDir)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, e := range entries {
		if !e.IsDir() && isYAML(e.Name()) {
			set[filepath.Join(wfDir, e.Name())] = true
		}
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != dir && (name == "node_modules" || (strings.HasPrefix(name, ".") && name != ".github")) {
				return fs.SkipDir
			}
			return nil
		}
		if isActionFile(p) {
			set[p] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}
