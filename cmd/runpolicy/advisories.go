package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/runpolicy/runpolicy/policies/advisory"
)

const advisoriesUsage = `Usage: runpolicy advisories import [--overlay FILE]… [-o OUT] FILE|DIR…

Reads OSV / GitHub Advisory Database records (a directory gives every *.json
under it) and keeps the "GitHub Actions" packages. Advisories about malicious
code (CWE-506 to CWE-512, GitHub malware advisories, OSV MAL- records) make
the compromised list; every other advisory makes the vulnerable list. The
overlay files are merged over the compromised list. Both are written as
bundle data JSON (stdout by default) at runpolicy.compromised_additions and
runpolicy.vulnerable_additions, which the policies read beside the built-in
lists: an import adds to them and never narrows them.

Exit status: 0 when every record was read; 1 when some records were malformed
(each is reported on stderr and skipped, the rest is still written); 2 when
nothing could be written (bad flags, unreadable path or overlay, write error).
`

// runAdvisories is `runpolicy advisories …`.
func runAdvisories(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "import" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, advisoriesUsage)
			return exitOK
		}
		fmt.Fprint(stderr, advisoriesUsage)
		return exitError
	}
	fs := newFlagSet("advisories import", "", stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), advisoriesUsage); fs.PrintDefaults() }
	var overlays listFlag
	fs.Var(&overlays, "overlay", "YAML or JSON `FILE` merged over the import (repeatable)")
	out := fs.String("o", "-", "write the list to `OUT` instead of stdout")
	paths, err := parseInterspersed(fs, args[1:], stdout)
	if err != nil {
		return flagExit(err, exitError)
	}
	if len(paths) == 0 {
		return fail(stderr, "advisories import: no advisory file or directory given")
	}
	files, err := advisory.Files(paths)
	if err != nil {
		return fail(stderr, "advisories import: %v", err)
	}

	list := advisory.New()
	malformed, compromised, vulnerable := 0, 0, 0
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return fail(stderr, "advisories import: %v", err)
		}
		src, err := advisory.ReadFile(f)
		if err == nil {
			var res advisory.Imported
			res, err = list.Import(f, src)
			if res.Malicious {
				compromised += len(res.Actions)
			} else {
				vulnerable += len(res.Actions)
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(stderr, "runpolicy: warning: %s: %s\n", f, w)
			}
		}
		if err != nil {
			malformed++
			fmt.Fprintf(stderr, "runpolicy: skipped %s\n", err)
		}
	}
	for _, o := range overlays {
		src, err := advisory.ReadFile(o)
		if err != nil {
			return fail(stderr, "overlay %v", err)
		}
		if err := list.Overlay(o, src); err != nil {
			return fail(stderr, "overlay %v", err)
		}
	}
	doc, err := list.JSON()
	if err != nil {
		return fail(stderr, "advisories import: %v", err)
	}
	if err := writeOutput(*out, doc, stdout); err != nil {
		return fail(stderr, "advisories import: %v", err)
	}
	fmt.Fprintf(stderr, "runpolicy: %d files read, %d GitHub Actions packages imported (%d compromised, %d vulnerable), %d malformed records skipped\n",
		len(files), compromised+vulnerable, compromised, vulnerable, malformed)
	if malformed > 0 {
		return exitDenied
	}
	return exitOK
}

// writeOutput writes to stdout for "-", else to a temporary file renamed
// over path, so a policy repository never sees half a list.
func writeOutput(path string, b []byte, stdout io.Writer) error {
	if path == "-" {
		_, err := stdout.Write(b)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
