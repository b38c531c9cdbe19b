// Command runpolicy enforces OPA/Rego policies on GitHub Actions workflow
// runs: as a GitHub App (serve) and on workflow files from the command line
// (eval, input, test), and on the decisions the App recorded (inventory,
// replay).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// The synopses list every flag; TestUsageListsEveryFlag keeps them honest.
const (
	evalSynopsis = `runpolicy eval [--policy PATH]… [--data FILE]… [--no-builtin] [--allow-builtin NAME]…
                      [--event PAYLOAD.json] [--base FILE] [--format text|json|sarif|github]
                      [--resolve] [--resolve-max-commit-calls N] [--github-token TOKEN]
                      [--github-api-url URL] [--repo-root DIR]
                      [WORKFLOW|ACTION|DIR|-]…`
	evalInputSynopsis = `runpolicy eval --input DOCUMENT.json|- [--policy PATH]… [--data FILE]… [--no-builtin]
                      [--allow-builtin NAME]… [--format text|json|sarif|github]`
	inputSynopsis = `runpolicy input [--event PAYLOAD.json] [--base FILE]
                      [--resolve] [--resolve-max-commit-calls N] [--github-token TOKEN]
                      [--github-api-url URL] [--repo-root DIR]
                      WORKFLOW|ACTION|-`
	testSynopsis = `runpolicy test [-v] [--run REGEX] [--timeout DURATION] [--allow-builtin NAME]…
                      [--coverage] [--threshold PERCENT] [--format pretty|json] [PATH]…`
)

// inventorySynopsis and replaySynopsis are in inventory.go and replay.go.

const usage = `runpolicy enforces OPA/Rego policies on GitHub Actions workflow runs.

Usage:
  ` + evalSynopsis + `
  ` + evalInputSynopsis + `
  ` + inputSynopsis + `
  ` + testSynopsis + `
  runpolicy serve [--config FILE]
  ` + inventorySynopsis + `
  ` + replaySynopsis + `
  runpolicy advisories import [--overlay FILE]… [-o OUT] FILE|DIR…
  runpolicy version

eval with no file judges .github/workflows; a directory gives every
*.yml/*.yaml under it, '-' reads one file from stdin. action.yml and
action.yaml files are judged as actions. eval --input judges an input
document as the server recorded it (the console's input.json, or what
'runpolicy input' prints) instead of workflow files.

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
	case "inventory":
		return runInventory(ctx, rest, stdout, stderr)
	case "replay":
		return runReplay(ctx, rest, stdout, stderr)
	case "advisories":
		return runAdvisories(ctx, rest, stdout, stderr)
	case "version", "--version":
		return runVersion(stdout, stderr)
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
