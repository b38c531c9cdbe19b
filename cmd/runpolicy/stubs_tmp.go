package main

import (
	"context"
	"io"
)

// Temporary until the server and advisories land.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return fail(stderr, "serve: not built yet")
}
func runAdvisories(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return fail(stderr, "advisories: not built yet")
}
