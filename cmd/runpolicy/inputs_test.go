package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runBinaryWith runs the binary in dir with stdin.
func runBinaryWith(t *testing.T, dir, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return 0, out.String(), errb.String()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A repository checkout: two workflows and a composite action.
func repoFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	copyFile(t, abs(corpus+"/workflows/reviewdog__reviewdog__reviewdog.yml"), filepath.Join(dir, ".github/workflows/reviewdog.yml"))
	copyFile(t, abs(corpus+"/workflows/ossf__scorecard__main.yml"), filepath.Join(dir, ".github/workflows/main.yaml"))
	copyFile(t, abs("testdata/actions/using-first/action.yml"), filepath.Join(dir, ".github/actions/lint/action.yml"))
	// Not a workflow: not in .github/workflows, not an action.
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte("services: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestEvalDirectories(t *testing.T) {
	dir := repoFixture(t)
	want := []string{
		".github/workflows/reviewdog.yml:",
		".github/actions/lint/action.yml:11: DENY compromised_actions: reviewdog/action-setup@v1",
		"3 workflows, 2 denied",
	}
	for name, args := range map[string][]string{
		"no argument is .github/workflows and the actions": {"eval"},
		"the repository root":                              {"eval", "."},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runBinaryWith(t, dir, "", args...)
			if code != exitDenied {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitDenied, out, errOut)
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out+errOut, "docker-compose") {
				t.Errorf("a YAML file outside .github/workflows was judged:\n%s%s", out, errOut)
			}
		})
	}
	t.Run("the workflows folder", func(t *testing.T) {
		code, out, _ := runBinaryWith(t, dir, "", "eval", ".github/workflows")
		if code != exitDenied || !strings.Contains(out, "2 workflows, 1 denied") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
	t.Run("no workflows folder and no argument", func(t *testing.T) {
		code, _, errOut := runBinaryWith(t, t.TempDir(), "", "eval")
		if code != exitError || !strings.Contains(errOut, "no workflow file given and no .github/workflows") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("an empty folder is an error", func(t *testing.T) {
		empty := t.TempDir()
		code, _, errOut := runBinaryWith(t, empty, "", "eval", ".")
		if code != exitError || !strings.Contains(errOut, "no workflow") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
}

func TestEvalStdin(t *testing.T) {
	src, err := os.ReadFile(corpus + "/workflows/reviewdog__reviewdog__reviewdog.yml")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runBinaryWith(t, ".", string(src), "eval", "-")
	if code != exitDenied || !strings.Contains(out, "DENY compromised_actions") || !strings.Contains(out, "1 workflow, 1 denied") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// Action metadata on stdin is told by its shape.
	act, err := os.ReadFile("testdata/actions/using-first/action.yml")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runBinaryWith(t, ".", string(act), "eval", "-")
	if code != exitDenied || !strings.Contains(out, "-:11: DENY compromised_actions") {
		t.Errorf("action on stdin: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// Composite actions are judged on their steps' uses, at their lines in
// action.yml, whichever order runs: lists using and steps in.
func TestEvalCompositeActions(t *testing.T) {
	code, out, errOut := runBinary(t, "eval", "testdata/actions")
	if code != exitDenied {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, w := range []string{
		"using-first/action.yml:11: DENY compromised_actions: reviewdog/action-setup@v1",
		"using-last/action.yaml:8: DENY compromised_actions: reviewdog/action-setup@v1",
		"2 workflows, 2 denied",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
	// A Docker action has no steps: said on stderr, not judged, not an error.
	code, out, errOut = runBinary(t, "eval", "testdata/docker-action/action.yml", corpus+"/workflows/ossf__scorecard__main.yml")
	if code != exitOK || !strings.Contains(errOut, `docker-action/action.yml: not a composite action: runs.using is "docker"`) || !strings.Contains(out, "1 workflow, allowed") {
		t.Errorf("docker action: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// An action has no job of its own: the job-level policies (harden_runner,
// runner_labels) do not judge the job it is read into, even when settings
// enforce them, while a workflow judged in the same run still gets them.
func TestEvalActionSkipsJobPolicies(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "strict.yaml")
	mustWrite(t, data, "runpolicy:\n  settings:\n    harden_runner: {mode: enforce}\n    runner_labels: {mode: enforce, allowed: [self-hosted]}\n")
	action := filepath.Join(dir, "action.yml")
	mustWrite(t, action, "name: x\nruns:\n  using: composite\n  steps:\n    - uses: actions/checkout@v4\n")
	wf := filepath.Join(dir, "ci.yml")
	mustWrite(t, wf, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n")
	_, out, errOut := runBinary(t, "eval", "--data", data, action, wf)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, action) && (strings.Contains(line, "harden_runner") || strings.Contains(line, "runner_labels")) {
			t.Errorf("a job-level policy judged the action's made-up job: %s", line)
		}
	}
	for _, want := range []string{wf + ":3: DENY harden_runner", wf + ":3: DENY runner_labels"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q: the workflow must still be judged by the job-level policies\n%s%s", want, out, errOut)
		}
	}
}

func TestActionWorkflowRefuses(t *testing.T) {
	for name, src := range map[string]string{
		"flow style":          "name: x\nruns: {using: composite, steps: []}\n",
		"no runs":             "name: x\ndescription: y\n",
		"no using":            "runs:\n  steps:\n    - run: x\n",
		"using last, no room": "name: x\nruns:\n  steps:\n    - uses: a/b@v1\n  using: composite\n",
		"composite no steps":  "runs:\n  using: composite\n",
	} {
		if _, err := actionWorkflow([]byte(src)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := actionWorkflow([]byte("runs:\n  using: node20\n  main: index.js\n")); err == nil || !strings.Contains(err.Error(), "node20") {
		t.Errorf("node action: %v", err)
	}
}

// One unreadable file is reported; the others are still judged and
// printed, and the status is the error status.
func TestEvalOneBadFile(t *testing.T) {
	code, out, errOut := runBinary(t, "eval", corpus+"/workflows/reviewdog__reviewdog__reviewdog.yml", "testdata/no-such.yml", corpus+"/workflows/ossf__scorecard__main.yml")
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	if !strings.Contains(errOut, "no-such.yml") {
		t.Errorf("stderr does not name the bad file:\n%s", errOut)
	}
	if !strings.Contains(out, "DENY compromised_actions") || !strings.Contains(out, "2 workflows, 1 denied") {
		t.Errorf("the other files' results are missing:\n%s", out)
	}
}

// Without --resolve, one summary line says how many references were judged
// by name only; JSON keeps stdout parseable and counts them per file.
func TestEvalNotLookedInside(t *testing.T) {
	wf := corpus + "/workflows/reviewdog__reviewdog__reviewdog.yml"
	_, out, _ := runBinary(t, "eval", wf)
	if n := strings.Count(out, "not looked inside"); n != 1 || !strings.Contains(out, "--resolve") {
		t.Errorf("want one line naming --resolve, got %d:\n%s", n, out)
	}
	_, out, errOut := runBinary(t, "eval", "--format", "json", wf)
	var results []result
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if len(results) != 1 || results[0].NotLookedInside == 0 {
		t.Errorf("not_looked_inside missing: %+v", results)
	}
	if !strings.Contains(errOut, "not looked inside") {
		t.Errorf("stderr lacks the note: %s", errOut)
	}
	// A workflow with no reference to another repository says nothing.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ci.yml"), []byte("on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out, errOut = runBinaryWith(t, dir, "", "eval", "ci.yml")
	if strings.Contains(out+errOut, "not looked inside") {
		t.Errorf("unexpected note:\n%s%s", out, errOut)
	}
}

// input reads stdin and actions as eval does, and refuses a directory.
func TestInputStdinAndAction(t *testing.T) {
	src, err := os.ReadFile("testdata/actions/using-first/action.yml")
	if err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func() (int, string, string){
		"stdin": func() (int, string, string) { return runBinaryWith(t, ".", string(src), "input", "-") },
		"file":  func() (int, string, string) { return runBinary(t, "input", "testdata/actions/using-first/action.yml") },
	} {
		code, out, errOut := run()
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", name, code, errOut)
		}
		var doc struct {
			Uses []struct {
				Raw  string `json:"raw"`
				Job  string `json:"job"`
				Line int    `json:"line"`
			} `json:"uses"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		found := false
		for _, u := range doc.Uses {
			if u.Raw == "reviewdog/action-setup@v1" && u.Job == "action" && u.Line == 11 {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: uses lack reviewdog/action-setup@v1 in job action at line 11: %+v", name, doc.Uses)
		}
	}
	if code, _, errOut := runBinary(t, "input", "testdata/actions"); code != exitError || !strings.Contains(errOut, "is a directory") {
		t.Errorf("directory: exit %d, stderr %q", code, errOut)
	}
}

// --base is one workflow's default-branch copy; with a directory it would
// misjudge every other file's workflow.modified, so it is refused.
func TestEvalBaseWithSeveralFiles(t *testing.T) {
	code, _, errOut := runBinary(t, "eval", "--base", "testdata/pr-target-checkout.yml", "testdata/actions")
	if code != exitError || !strings.Contains(errOut, "--base is the copy of one workflow") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
