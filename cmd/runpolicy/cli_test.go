package main

import (
	"regexp"
	"strings"
	"testing"
)

// Every command answers -h and --help with its usage on stdout and status 0,
// as linters and opa do; a CI step running `runpolicy eval -h` must not fail.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"--help"}, {"help"},
		{"eval", "-h"}, {"eval", "--help"}, {"eval", "ci.yml", "-h"},
		{"input", "-h"}, {"test", "-h"}, {"test", "--help"},
		{"serve", "-h"}, {"advisories", "-h"}, {"advisories", "import", "-h"},
	} {
		code, out, errOut := runBinary(t, args...)
		if code != 0 {
			t.Errorf("%v: exit %d, want 0\nstderr: %s", args, code, errOut)
		}
		if !strings.Contains(out, "Usage") {
			t.Errorf("%v: stdout lacks the usage:\n%s", args, out)
		}
	}
}

// A bad flag is still a usage error.
func TestBadFlagFails(t *testing.T) {
	code, _, errOut := runBinary(t, "eval", "--no-such-flag")
	if code != exitError || !strings.Contains(errOut, "no-such-flag") {
		t.Errorf("exit %d, stderr %q; want %d naming the flag", code, errOut, exitError)
	}
}

// The top-level usage lists every flag of every command, so `runpolicy -h`
// is a complete reference.
func TestUsageListsEveryFlag(t *testing.T) {
	_, top, _ := runBinary(t, "-h")
	flagName := regexp.MustCompile(`(?m)^  -(\S+)`)
	for _, cmd := range [][]string{{"eval"}, {"input"}, {"test"}, {"serve"}, {"advisories", "import"}} {
		_, out, _ := runBinary(t, append(cmd, "-h")...)
		names := flagName.FindAllStringSubmatch(out, -1)
		if len(names) == 0 {
			t.Fatalf("%v -h lists no flags:\n%s", cmd, out)
		}
		for _, m := range names {
			dash := "--"
			if len(m[1]) == 1 {
				dash = "-"
			}
			if !strings.Contains(top, "["+dash+m[1]) && !strings.Contains(top, " "+dash+m[1]+" ") {
				t.Errorf("top-level usage lacks %v's flag %s%s", cmd, dash, m[1])
			}
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, errOut := runBinary(t, "version")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !regexp.MustCompile(`(?m)^runpolicy \S+`).MatchString(out) || !regexp.MustCompile(`(?m)^built-in policies builtin-[0-9a-f]+`).MatchString(out) {
		t.Errorf("version output lacks the module version or the bundle revision:\n%s", out)
	}
}

// Every load error is printed with its file:line, not a count of them.
func TestTestPrintsEveryLoadError(t *testing.T) {
	code, _, errOut := runBinary(t, "test", "testdata/test-load-errors")
	if code != exitTestError {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", code, exitTestError, errOut)
	}
	for _, want := range []string{"test-load-errors/a.rego:", "test-load-errors/b.rego:", "rego_parse_error"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "more lines") || strings.Contains(errOut, "errors occurred") {
		t.Errorf("stderr summarizes instead of listing:\n%s", errOut)
	}
}

// A policy repository whose .manifest roots do not cover its packages
// passes its own tests but is refused by eval and serve: test must refuse
// it too, or CI lets the mistake through.
func TestTestChecksManifestRoots(t *testing.T) {
	code, out, errOut := runBinary(t, "test", "testdata/test-wrong-roots")
	if code != exitTestError {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitTestError, out, errOut)
	}
	if !strings.Contains(errOut, "manifest roots [teamx] do not permit") {
		t.Errorf("stderr does not name the roots:\n%s", errOut)
	}
	// The example repository, whose roots are right, still passes.
	if code, out, errOut := runBinary(t, "test", "../../examples/policy-repo"); code != exitOK {
		t.Errorf("examples/policy-repo: exit %d\n%s%s", code, out, errOut)
	}
}
