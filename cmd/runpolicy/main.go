// Command runpolicy enforces OPA/Rego policies on GitHub Actions workflow
// runs: as a GitHub App (serve) and on workflow files from the command line
// (eval, input, test).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `runpolicy enforces OPA/Rego policies on GitHub Actions workflow runs.

Usage:
  runpolicy eval   [--policy PATH]… [--data FILE]… [--event PAYLOAD.json] [--format text|json|sarif] WORKFLOW…
  runpolicy input  [--event PAYLOAD.json] WORKFLOW
  runpolicy test   [-v] [--run REGEX] [PATH]…
  runpolicy serve  [--config FILE]
  runpolicy advisories import [--overlay FILE] [-o OUT] FILE|DIR…

Run 'runpolicy COMMAND -h' for a command's flags.
`

// Exit codes shared by the commands.
const (
	exitOK     = 0
	exitDenied = 1 // eval: a workflow is denied; test: a test failed
	exitError  = 2 // bad input, bad policy, unreadable file
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "eval":
		return runEval(ctx, rest, stdout, stderr)
	case "input":
		return runInput(ctx, rest, stdout, stderr)
	case "test":
		return runTest(ctx, rest, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "advisories":
		return runAdvisories(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "runpolicy: unknown command %q\n\n%s", cmd, usage)
		return exitError
	}
}

// fail prints a one-line error and returns the error exit code.
func fail(stderr io.Writer, format string, a ...any) int {
	fmt.Fprintf(stderr, "runpolicy: "+format+"\n", a...)
	return exitError
}
