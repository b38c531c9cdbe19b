package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// examplePolicies are the packages of examples/policies.
var examplePolicies = []string{"artifact_poisoning", "pwn_request", "script_injection", "self_hosted_pull_requests", "unpinned_images", "write_all"}

// TestExamplePolicies judges real workflows (testdata/examples, whose
// SOURCES.md says where each comes from) with examples/policies loaded
// beside the built-in bundle, as a user loads them: each example finds what
// a reviewer finds in these files and nothing else, and in dry_run, the mode
// its METADATA declares, so loading them blocks nothing.
func TestExamplePolicies(t *testing.T) {
	tests := []struct {
		file string
		want []string // "policy kind job:line", kind deny or warn
	}{
		// The third download goes to a folder nothing unpacks or runs.
		{"ant-design__ant-design__ui-upload.yml", []string{"artifact_poisoning deny upload-ui:26", "artifact_poisoning deny upload-ui:36"}},
		{"ant-design__ant-design__rebase.yml", []string{"write_all deny rebase:12"}},
		{"ant-design__ant-design__pr-open-notify.yml", nil},
		{"spotbugs__sonar-findbugs__sonarqube.yml", []string{"pwn_request deny build:42"}},
		{"sqlc-dev__sqlc__ci-kotlin.yml", []string{"unpinned_images deny build:15", "unpinned_images deny build:25"}},
		{"microsoft__vscode__pr.yml", []string{"self_hosted_pull_requests deny compile:22"}},
		{"ultralytics__actions/action.yml", []string{"script_injection deny action:216"}},
		// Hand-written, from an audit of the examples: each job is a way
		// past a policy that it once missed, or a pass (jobs ok_*).
		{"audit__pwn_request.yml", []string{
			"pwn_request deny action_builds:34",         // docker/build-push-action after the checkout
			"pwn_request deny bracket_guard:88",         // fromJSON('[true,true]')[1 && guard && 1] is always true
			"pwn_request deny negated_guard:44",         // if: !(… == github.repository) admits only forks
			"pwn_request deny not_fork:72",              // !head.repo.fork: a deleted fork's head.repo is null
			"pwn_request deny other_event_fork_flag:80", // !workflow_run.head_repository.fork: null on pull_request_target
			"pwn_request deny same_script_gh:28",        // gh pr checkout N && make
			"pwn_request deny same_script_git:21",       // git checkout of pull/N/head, then make, in one script
			"pwn_request deny upper_case_id:13",         // id: PR read as steps.pr
		}},
		{"audit__self_hosted_pull_requests.yml", []string{
			"self_hosted_pull_requests deny block_scalar_guard:14", // if: | ${{ … }} is a string, always true
			"self_hosted_pull_requests deny bracket_guard:34",      // fromJSON('[true,true]')[1 && guard && 1]
			"self_hosted_pull_requests deny negated_guard:8",
			"self_hosted_pull_requests deny not_fork:24",              // a deleted fork's head.repo is null
			"self_hosted_pull_requests deny other_event_fork_flag:29", // workflow_run is null on pull_request
		}},
		{"audit__artifact_poisoning.yml", []string{
			"artifact_poisoning deny gh_same_script:49", // gh run download, then runs a file in the same script
			"artifact_poisoning deny gh_then_step:43",   // gh run download into the workspace
			"artifact_poisoning deny temp_binary:34",    // runs a file from ${RUNNER_TEMP}
			"artifact_poisoning deny temp_script:28",    // bash "$RUNNER_TEMP/a/script.sh"
			"artifact_poisoning deny temp_tar:21",       // tar -x from /tmp into the workspace
			"artifact_poisoning deny temp_unzip:14",     // unzip from runner.temp -d .
		}},
		{"audit__script_injection.yml", []string{
			"script_injection deny job_copy:56",     // the job's TITLE: x${{ env.TITLE }} reads the workflow's
			"script_injection deny job_copy:59",     // the step's COPY: ${{ env.TITLE }} reads the job's
			"script_injection deny step_copy:49",    // the step's TITLE: ${{ env.TITLE }} reads the job's
			"script_injection deny step_env:40",     // env: {title: …} on the step hides no TITLE
			"script_injection deny triage:14",       // Contains() pastes a boolean; && pastes the text
			"script_injection deny workflow_env:20", // ${{ env.TITLE }} set by the workflow's env:
		}},
		{"audit__write_all.yml", []string{"write_all deny thank:6"}}, // watch and fork: anyone
	}
	args := []string{"eval", "--policy", "../../examples/policies", "--format", "json"}
	for _, tt := range tests {
		args = append(args, filepath.Join("testdata/examples", tt.file))
	}
	code, out, errOut := runBinary(t, args...)
	if code == exitError {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var results []struct {
		File                 string
		Violations, Warnings []struct {
			Policy, Mode, Job string
			Line              int
		}
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("eval --format json: %v\n%s", err, out)
	}
	got := map[string][]string{}
	for _, r := range results {
		file := strings.TrimPrefix(filepath.ToSlash(r.File), "testdata/examples/")
		got[file] = []string{}
		for _, v := range r.Violations {
			if slices.Contains(examplePolicies, v.Policy) {
				got[file] = append(got[file], fmt.Sprintf("%s deny %s:%d", v.Policy, v.Job, v.Line))
				if v.Mode != "dry_run" {
					t.Errorf("%s: %s in mode %s, want dry_run (the METADATA default)", file, v.Policy, v.Mode)
				}
			}
		}
		for _, w := range r.Warnings {
			if slices.Contains(examplePolicies, w.Policy) {
				got[file] = append(got[file], fmt.Sprintf("%s warn %s:%d", w.Policy, w.Job, w.Line))
			}
		}
	}
	for _, tt := range tests {
		findings, ok := got[tt.file]
		if !ok {
			t.Errorf("%s: not judged", tt.file)
			continue
		}
		slices.Sort(findings)
		if !slices.Equal(findings, tt.want) {
			t.Errorf("%s:\n got  %q\n want %q", tt.file, findings, tt.want)
		}
	}
}

// TestExamplePoliciesEnforced: a settings file that sets an example's mode
// to enforce makes its finding deny the run.
func TestExamplePoliciesEnforced(t *testing.T) {
	settings := filepath.Join(t.TempDir(), "settings.yaml")
	if err := os.WriteFile(settings, []byte("runpolicy:\n  settings:\n    script_injection:\n      mode: enforce\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	action := "testdata/examples/ultralytics__actions/action.yml"
	code, out, errOut := runBinary(t, "eval", "--policy", "../../examples/policies", "--data", settings, action)
	if code != exitDenied || !strings.Contains(out, "action.yml:216: DENY script_injection: job action, step 10: run pastes ${{ github.head_ref || github.ref }}") {
		t.Errorf("exit %d, want %d and the finding\nstdout:\n%s\nstderr:\n%s", code, exitDenied, out, errOut)
	}
	code, out, _ = runBinary(t, "eval", "--policy", "../../examples/policies", action)
	if !strings.Contains(out, "action.yml:216: DRY-RUN script_injection:") {
		t.Errorf("without settings: exit %d, want a dry-run finding\n%s", code, out)
	}
}

// TestExamplePoliciesTests runs the examples' Rego tests with the built-in
// policies beneath them, as `runpolicy test` does for a user.
func TestExamplePoliciesTests(t *testing.T) {
	if code, out, errOut := runBinary(t, "test", "../../examples/policies"); code != exitOK {
		t.Errorf("runpolicy test examples/policies: exit %d\n%s%s", code, out, errOut)
	}
}
