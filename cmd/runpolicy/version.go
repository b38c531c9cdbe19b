package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/runpolicy/runpolicy/policies"
)

// runVersion prints the module version the binary was built from and the
// revision of the built-in bundle it carries: the two things a bug report
// or a CI log needs to say which policies judged.
func runVersion(stdout, stderr io.Writer) int {
	version := "(unknown)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				version += " (" + s.Value + ")"
			}
		}
	}
	b, err := policies.Bundle()
	if err != nil {
		return fail(stderr, "version: built-in policies: %v", err)
	}
	revision := b.Manifest.Revision
	fmt.Fprintf(stdout, "runpolicy %s\nbuilt-in policies %s\n", version, revision)
	return exitOK
}
