package main

import (
	"context"
	"io"
)

// Temporary until the server lands.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return fail(stderr, "serve: not built yet")
}
