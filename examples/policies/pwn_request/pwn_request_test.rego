package runpolicy.policies.pwn_request_test

import data.runpolicy.policies.pwn_request

# Only the fields the policy reads, in the input document's shape: job
# "build" checks out with inputs, then runs a script.
workflow(trigger, job) := {
	"workflow": {"triggers": [trigger]},
	"jobs": {"build": object.union(object.remove(build, object.keys(job)), job)},
}

build := {
	"if": null, "secrets": [],
	"permissions": {"source": "job", "all": null, "scopes": {"contents": "write"}, "line": 5},
	"steps": [checkout({"ref": "${{ github.event.pull_request.head.sha }}"}), run(1, "npm ci && npm test")],
}

checkout(inputs) := {
	"index": 0, "line": 9, "run": false, "script": null,
	"uses": {"name": "actions/checkout", "kind": "action"}, "with": inputs,
	"expressions": [{"field": concat(".", ["with", name]), "contexts": contexts(value)} | some name, value in inputs],
}

# contexts are the contexts of a ${{ }} value, as the normalizer lists them.
contexts(value) := [trim_space(trim_suffix(trim_prefix(m, "${{"), "}}")) | some m in regex.find_n(`\$\{\{[^}]*\}\}`, value, -1)]

run(index, text) := {
	"index": index, "line": 12, "run": true, "uses": null, "with": {}, "expressions": [],
	"script": {"text": text, "truncated": false, "shell": null, "working_directory": null, "line": 12},
}

test_head_checkout_with_a_write_token if {
	pwn_request.deny == {{
		"job": "build", "step": 0, "line": 9,
		"message": "job build checks out the pull request's code at step 1 (ref: ${{ github.event.pull_request.head.sha }}) in a pull_request_target workflow, then runs it at step 2 with a token that can write contents: whoever opens a pull request runs code with them. Build pull requests in a pull_request workflow, and keep pull_request_target for jobs that do not run their code",
	}} with input as workflow("pull_request_target", {})
}

test_what_the_job_holds if {
	every case in [
		[{"source": "job", "all": "write-all", "scopes": {}}, [], "a write-all token"],
		[{"source": "default", "all": null, "scopes": null}, [], "the repository's default token, which can write unless the repository restricts it"],
		[{"source": "workflow", "all": null, "scopes": {"contents": "read"}}, ["NPM_TOKEN", "GITHUB_TOKEN"], "secrets NPM_TOKEN"],
		[{"source": "job", "all": null, "scopes": {"issues": "write", "pull-requests": "write"}}, ["A"], "secrets A and a token that can write issues, pull-requests"],
	] {
		[permissions, secrets, holds] := case
		some finding in pwn_request.deny with input as workflow("pull_request_target", {"permissions": permissions, "secrets": secrets})
		contains(finding.message, sprintf("with %s:", [holds]))
	}
}

test_read_only_without_secrets_passes if {
	read := {"source": "workflow", "all": "read-all", "scopes": {"contents": "read"}}
	count(pwn_request.deny) == 0 with input as workflow("pull_request_target", {"permissions": read})
}

test_ways_to_check_out_the_head if {
	every case in [
		["pull_request_target", checkout({"ref": "${{ github.head_ref }}"})],
		["pull_request_target", checkout({"repository": "${{ github.event.pull_request.head.repo.full_name }}", "ref": "${{ github.event.pull_request.head.ref }}"})],
		["pull_request_target", checkout({"ref": "refs/pull/${{ github.event.number }}/merge"})],
		["pull_request_target", run(0, "gh pr checkout ${{ github.event.pull_request.number }}")],
		["workflow_run", checkout({"ref": "${{ github.event.workflow_run.head_sha }}"})],
		["workflow_run", checkout({"ref": "${{ github.event.workflow_run.head_branch }}"})],
	] {
		[trigger, step] := case
		count(pwn_request.deny) == 1 with input as workflow(trigger, {"steps": [step, run(1, "make")]})
	}
}

test_base_checkout_passes if {
	every inputs in [{}, {"ref": "${{ github.event.pull_request.base.sha }}"}, {"ref": "${{ github.sha }}"}] {
		count(pwn_request.deny) == 0 with input as workflow("pull_request_target", {"steps": [checkout(inputs), run(1, "make")]})
	}
}

test_nothing_runs_after_the_checkout if {
	count(pwn_request.deny) == 0 with input as workflow("pull_request_target", {"steps": [run(0, "make"), checkout({"ref": "${{ github.head_ref }}"})]})
}

test_local_action_after_the_checkout if {
	local := {"index": 1, "run": false, "uses": {"name": "./.github/actions/build", "kind": "local"}}
	count(pwn_request.deny) == 1 with input as workflow("pull_request_target", {"steps": [checkout({"ref": "${{ github.head_ref }}"}), local]})
}

test_other_triggers_pass if {
	every trigger in ["pull_request", "push", "issue_comment"] {
		count(pwn_request.deny) == 0 with input as workflow(trigger, {})
	}
}

test_same_repository_pull_requests_only if {
	count(pwn_request.deny) == 0 with input as workflow("pull_request_target", {"if": "github.event.pull_request.head.repo.full_name == github.repository"})
	count(pwn_request.deny) == 0 with input as workflow("workflow_run", {
		"if": "github.event.workflow_run.head_repository.full_name == github.repository",
		"steps": [checkout({"ref": "${{ github.event.workflow_run.head_sha }}"}), run(1, "make")],
	})
	count(pwn_request.deny) == 1 with input as workflow("pull_request_target", {"if": "github.event.pull_request.head.repo.full_name == github.repository || contains(github.event.pull_request.labels.*.name, 'safe')"})
}

# On workflow_run, pull_request is null: its fork flag admits every run, its
# full name none.
test_guard_of_another_event if {
	run_head := [checkout({"ref": "${{ github.event.workflow_run.head_sha }}"}), run(1, "make")]
	every condition in ["${{ !github.event.pull_request.head.repo.fork }}", "github.event.pull_request.head.repo.fork == false"] {
		count(pwn_request.deny) == 1 with input as workflow("workflow_run", {"if": condition, "steps": run_head})
	}
	count(pwn_request.deny) == 0 with input as workflow("workflow_run", {"if": "github.event.pull_request.head.repo.full_name == github.repository", "steps": run_head})
}

test_ref_from_an_earlier_step if {
	cond := {
		"index": 0, "id": "condval", "line": 8, "run": false, "script": null,
		"uses": {"name": "haya14busa/action-cond", "kind": "action"},
		"with": {"if_true": "refs/pull/${{ github.event.pull_request.number }}/merge", "if_false": "${{ github.ref }}"},
		"expressions": [{"field": "with.if_true", "contexts": ["github.event.pull_request.number"]}],
	}
	from_output := object.union(checkout({"ref": "${{ steps.condval.outputs.value }}"}), {"index": 1})
	some finding in pwn_request.deny with input as workflow("pull_request_target", {"steps": [cond, from_output, run(2, "./mvnw verify")]})
	contains(finding.message, "at step 2 (ref: ${{ steps.condval.outputs.value }})")
	base := json.patch(cond, [
		{"op": "replace", "path": "/with/if_true", "value": "${{ github.base_ref }}"},
		{"op": "replace", "path": "/expressions/0/contexts", "value": ["github.base_ref"]},
	])
	count(pwn_request.deny) == 0 with input as workflow("pull_request_target", {"steps": [base, from_output, run(2, "./mvnw verify")]})
}

test_git_commands_on_the_head if {
	merge := json.patch(run(0, "git fetch origin $HEAD_BRANCH\ngit merge --no-edit origin/$HEAD_BRANCH"), [{"op": "replace", "path": "/expressions", "value": [{"field": "env.HEAD_BRANCH", "contexts": ["github.head_ref"]}]}])
	count(pwn_request.deny) == 1 with input as workflow("pull_request_target", {"steps": [merge, run(1, "npm ci")]})
	count(pwn_request.deny) == 1 with input as workflow("pull_request_target", {"steps": [run(0, "git fetch origin pull/$PR/head:pr && git checkout pr"), run(1, "npm ci")]})

	# Fetching without checking out leaves the base branch's files in place.
	count(pwn_request.deny) == 0 with input as workflow("pull_request_target", {"steps": [run(0, "git fetch origin pull/$PR/head && git diff --stat FETCH_HEAD"), run(1, "npm ci")]})
}

# The jobs of cmd/runpolicy/testdata/examples/audit__pwn_request.yml as
# `runpolicy input` writes them (workflow triggers and the job fields the
# policy reads; steps whole): the ways to run a pull request's code that the
# policy once missed.
bypass := {
	"workflow": {"triggers": ["pull_request_target"]},
	"jobs": {
		"action_builds": {
			"line": 31,
			"if": null,
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "write", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 5},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 34, "uses": {"raw": "actions/checkout@v4", "kind": "action", "name": "actions/checkout", "owner": "actions", "repo": "checkout", "path": "", "names": ["actions/checkout", "actions/*"], "ref": "v4", "ref_type": "tag_or_branch", "pinned": false, "resolved_sha": null, "job": "action_builds", "step": 0, "line": 34, "source": "step", "via": []}, "run": false, "with": {"ref": "${{ github.event.pull_request.head.sha }}"}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": null, "if": null, "env": {}, "expressions": [{"field": "with.ref", "text": "github.event.pull_request.head.sha", "contexts": ["github.event.pull_request.head.sha"], "line": 35}]},
				{"index": 1, "id": "", "name": "", "line": 36, "uses": {"raw": "actions/upload-artifact@v4", "kind": "action", "name": "actions/upload-artifact", "owner": "actions", "repo": "upload-artifact", "path": "", "names": ["actions/upload-artifact", "actions/*"], "ref": "v4", "ref_type": "tag_or_branch", "pinned": false, "resolved_sha": null, "job": "action_builds", "step": 1, "line": 36, "source": "step", "via": []}, "run": false, "with": {"name": "src", "path": "."}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": null, "if": null, "env": {}, "expressions": []},
				{"index": 2, "id": "", "name": "", "line": 38, "uses": {"raw": "docker/build-push-action@v5", "kind": "action", "name": "docker/build-push-action", "owner": "docker", "repo": "build-push-action", "path": "", "names": ["docker/build-push-action", "docker/*"], "ref": "v5", "ref_type": "tag_or_branch", "pinned": false, "resolved_sha": null, "job": "action_builds", "step": 2, "line": 38, "source": "step", "via": []}, "run": false, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": null, "if": null, "env": {}, "expressions": []},
			],
		},
		"negated_guard": {
			"line": 40,
			"if": "!(github.event.pull_request.head.repo.full_name == github.repository)",
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "write", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 5},
			"secrets": [],
			"expressions": [{"field": "if", "text": "!(github.event.pull_request.head.repo.full_name == github.repository)", "contexts": ["github.event.pull_request.head.repo.full_name", "github.repository"], "line": 41}],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 44, "uses": {"raw": "actions/checkout@v4", "kind": "action", "name": "actions/checkout", "owner": "actions", "repo": "checkout", "path": "", "names": ["actions/checkout", "actions/*"], "ref": "v4", "ref_type": "tag_or_branch", "pinned": false, "resolved_sha": null, "job": "negated_guard", "step": 0, "line": 44, "source": "step", "via": []}, "run": false, "with": {"ref": "${{ github.event.pull_request.head.sha }}"}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": null, "if": null, "env": {}, "expressions": [{"field": "with.ref", "text": "github.event.pull_request.head.sha", "contexts": ["github.event.pull_request.head.sha"], "line": 45}]},
				{"index": 1, "id": "", "name": "", "line": 46, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "make", "truncated": false, "shell": null, "working_directory": null, "line": 46}, "if": null, "env": {}, "expressions": []},
			],
		},
		"ok_files_only": {
			"line": 48,
			"if": null,
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "write", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 5},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 51, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "gh pr checkout \\\n  ${{ github.event.number }}  # comments are no command\n", "truncated": false, "shell": null, "working_directory": null, "line": 51}, "if": null, "env": {"GH_TOKEN": "${{ github.token }}"}, "expressions": [{"field": "run", "text": "github.event.number", "contexts": ["github.event.number"], "line": 53}, {"field": "env.GH_TOKEN", "text": "github.token", "contexts": ["github.token"], "line": 54}]},
				{"index": 1, "id": "", "name": "", "line": 55, "uses": {"raw": "actions/upload-artifact@v4", "kind": "action", "name": "actions/upload-artifact", "owner": "actions", "repo": "upload-artifact", "path": "", "names": ["actions/upload-artifact", "actions/*"], "ref": "v4", "ref_type": "tag_or_branch", "pinned": false, "resolved_sha": null, "job": "ok_files_only", "step": 1, "line": 55, "source": "step", "via": []}, "run": false, "with": {"name": "src", "path": "."}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": null, "if": null, "env": {}, "expressions": []},
				{"index": 2, "id": "", "name": "", "line": 57, "uses": {"raw": "actions/cache/save@v4", "kind": "action", "name": "actions/cache/save", "owner": "actions", "repo": "cache", "path": "save", "names": ["actions/cache/save", "actions/cache", "actions/*"], "ref": "v4", "ref_type": "tag_or_branch", "pinned": false, "resolved_sha": null, "job": "ok_files_only", "step": 2, "line": 57, "source": "step", "via": []}, "run": false, "with": {"key": "x", "path": "node_modules"}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": null, "if": null, "env": {}, "expressions": []},
			],
		},
		"ok_guard": {
			"line": 60,
			"if": "${{ github.event.pull_request.head.repo.full_name == github.repository && github.actor != 'dependabot[bot]' }}",
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "write", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 5},
			"secrets": [],
			"expressions": [{"field": "if", "text": "github.event.pull_request.head.repo.full_name == github.repository && github.actor != 'dependabot[bot]'", "contexts": ["github.event.pull_request.head.repo.full_name", "github.repository", "github.actor"], "line": 61}],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 64, "uses": {"raw": "actions/checkout@v4", "kind": "action", "name": "actions/checkout", "owner": "actions", "repo": "checkout", "path": "", "names": ["actions/checkout", "actions/*"], "ref": "v4", "ref_type": "tag_or_branch", "pinned": false, "resolved_sha": null, "job": "ok_guard", "step": 0, "line": 64, "source": "step", "via": []}, "run": false, "with": {"ref": "${{ github.event.pull_request.head.sha }}"}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": null, "if": null, "env": {}, "expressions": [{"field": "with.ref", "text": "github.event.pull_request.head.sha", "contexts": ["github.event.pull_request.head.sha"], "line": 65}]},
				{"index": 1, "id": "", "name": "", "line": 66, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "make", "truncated": false, "shell": null, "working_directory": null, "line": 66}, "if": null, "env": {}, "expressions": []},
			],
		},
		"same_script_gh": {
			"line": 25,
			"if": null,
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "write", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 5},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 28, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "gh pr checkout ${{ github.event.number }} && make", "truncated": false, "shell": null, "working_directory": null, "line": 28}, "if": null, "env": {"GH_TOKEN": "${{ github.token }}"}, "expressions": [{"field": "run", "text": "github.event.number", "contexts": ["github.event.number"], "line": 28}, {"field": "env.GH_TOKEN", "text": "github.token", "contexts": ["github.token"], "line": 29}]},
			],
		},
		"same_script_git": {
			"line": 17,
			"if": null,
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "write", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 5},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 20, "uses": {"raw": "actions/checkout@v4", "kind": "action", "name": "actions/checkout", "owner": "actions", "repo": "checkout", "path": "", "names": ["actions/checkout", "actions/*"], "ref": "v4", "ref_type": "tag_or_branch", "pinned": false, "resolved_sha": null, "job": "same_script_git", "step": 0, "line": 20, "source": "step", "via": []}, "run": false, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": null, "if": null, "env": {}, "expressions": []},
				{"index": 1, "id": "", "name": "", "line": 21, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "git fetch origin pull/${{ github.event.pull_request.number }}/head:pr\ngit checkout pr\nmake\n", "truncated": false, "shell": null, "working_directory": null, "line": 21}, "if": null, "env": {}, "expressions": [{"field": "run", "text": "github.event.pull_request.number", "contexts": ["github.event.pull_request.number"], "line": 22}]},
			],
		},
		"upper_case_id": {
			"line": 8,
			"if": null,
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "write", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 5},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "PR", "name": "", "line": 11, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "echo \"ref=refs/pull/${{ github.event.number }}/merge\" >> \"$GITHUB_OUTPUT\"", "truncated": false, "shell": null, "working_directory": null, "line": 12}, "if": null, "env": {}, "expressions": [{"field": "run", "text": "github.event.number", "contexts": ["github.event.number"], "line": 12}]},
				{"index": 1, "id": "", "name": "", "line": 13, "uses": {"raw": "actions/checkout@v4", "kind": "action", "name": "actions/checkout", "owner": "actions", "repo": "checkout", "path": "", "names": ["actions/checkout", "actions/*"], "ref": "v4", "ref_type": "tag_or_branch", "pinned": false, "resolved_sha": null, "job": "upper_case_id", "step": 1, "line": 13, "source": "step", "via": []}, "run": false, "with": {"ref": "${{ steps.PR.outputs.ref }}"}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": null, "if": null, "env": {}, "expressions": [{"field": "with.ref", "text": "steps.PR.outputs.ref", "contexts": ["steps.pr.outputs.ref"], "line": 14}]},
				{"index": 2, "id": "", "name": "", "line": 15, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "make", "truncated": false, "shell": null, "working_directory": null, "line": 15}, "if": null, "env": {}, "expressions": []},
			],
		},
	},
}

bypass_job(name) := {"workflow": bypass.workflow, "jobs": {name: bypass.jobs[name]}}

# id: PR, read as steps.pr in the expression: GitHub matches either case.
test_step_id_in_another_case if {
	some finding in pwn_request.deny with input as bypass_job("upper_case_id")
	contains(finding.message, "at step 2 (ref: ${{ steps.PR.outputs.ref }}) in a pull_request_target workflow, then runs it at step 3 with")
}

test_checkout_and_build_in_one_script if {
	every name in ["same_script_git", "same_script_gh"] {
		some finding in pwn_request.deny with input as bypass_job(name)
		contains(finding.message, "then runs it in the same script with a token that can write pull-requests")
	}
}

# What follows the checkout command in its script: another command runs the
# checked-out code; its arguments, continued lines and comments do not.
test_what_follows_the_checkout_command if {
	every case in [
		["gh pr checkout 1 && make", 1],
		["gh pr checkout 1; npm test", 1],
		["gh pr checkout 1 | tee log", 1],
		["gh pr checkout 1\n\n  # then\nnpm ci", 1],
		["git fetch origin pull/1/head:pr\ngit checkout pr\nmake", 1],
		["gh pr checkout 1", 0],
		["gh pr checkout \\\n  --detach \\\n  1  # the pull request\n", 0],
		["gh pr checkout 1\n# nothing else\n", 0],
		["git fetch origin pull/1/head:pr\ngit checkout pr", 0],
	] {
		[script, want] := case
		count(pwn_request.deny) == want with input as json.patch(bypass_job("same_script_gh"), [{"op": "replace", "path": "/jobs/same_script_gh/steps/0/script/text", "value": script}])
	}
}

# An action after the checkout may build or run the files (a Dockerfile);
# actions that only copy or store them do not.
test_action_after_the_checkout if {
	some finding in pwn_request.deny with input as bypass_job("action_builds")
	contains(finding.message, "then hands it to docker/build-push-action@v5 at step 3 with")
	count(pwn_request.deny) == 0 with input as json.patch(bypass_job("action_builds"), [{"op": "remove", "path": "/jobs/action_builds/steps/2"}])
	count(pwn_request.deny) == 0 with input as bypass_job("ok_files_only")
	make := object.union(bypass.jobs.upper_case_id.steps[2], {"index": 3})
	count(pwn_request.deny) == 1 with input as json.patch(bypass_job("ok_files_only"), [{"op": "add", "path": "/jobs/ok_files_only/steps/-", "value": make}])
}

# A guard passes the job only when nothing can negate it or let forks in
# beside it. Each if: is written as the normalizer keeps it (raw, ${{ }} and
# a block scalar's newline included).
test_same_repository_guard if {
	every condition in same_repository_only {
		count(pwn_request.deny) == 0 with input as json.patch(bypass_job("negated_guard"), [{"op": "replace", "path": "/jobs/negated_guard/if", "value": condition}])
	}
	every condition in forks_too {
		count(pwn_request.deny) == 1 with input as json.patch(bypass_job("negated_guard"), [{"op": "replace", "path": "/jobs/negated_guard/if", "value": condition}])
	}
	count(pwn_request.deny) == 1 with input as bypass_job("negated_guard")
	count(pwn_request.deny) == 0 with input as bypass_job("ok_guard")
}

same_repository_only := [
	"github.event.pull_request.head.repo.full_name == github.repository",
	"${{ github.event.pull_request.head.repo.full_name == github.repository }}",
	"github.repository == github.event.pull_request.head.repo.full_name",
	"GitHub.Event.Pull_Request.Head.Repo.Full_Name == github.repository",
	"${{ github.event.pull_request.head.repo.full_name == github.repository && github.actor != 'dependabot[bot]' }}",
	"(github.event.pull_request.head.repo.full_name == github.repository) && contains(github.event.pull_request.labels.*.name, 'ok')",
	"always() && ((github.event.pull_request.head.repo.full_name == github.repository)) && !startsWith(github.head_ref, 'x[') && github.run_attempt < 3",
	"github.event.pull_request.head.repo.full_name == github.repository && fromJSON(needs.a.outputs.n) > 1",
	# Another event's object is null, and null == 'acme/api' is false: the
	# job never runs.
	"github.event.workflow_run.head_repository.full_name == github.repository",
]

forks_too := [
	"!(github.event.pull_request.head.repo.full_name == github.repository)",
	"${{ !(github.event.pull_request.head.repo.full_name == github.repository) }}",
	"github.event.pull_request.head.repo.full_name != github.repository",
	"(github.event.pull_request.head.repo.full_name == github.repository) == false",
	"!(github.actor == 'x' && github.event.pull_request.head.repo.full_name == github.repository)",
	"github.event.pull_request.head.repo.full_name == github.repository || github.actor == 'x'",
	"${{ github.event.pull_request.head.repo.full_name == github.repository }}\n",
	"${{ github.event.pull_request.head.repo.full_name == github.repository }} && ${{ true }}",
	"github.actor != 'a && github.event.pull_request.head.repo.full_name == github.repository && b'",
	"${{ github.actor != 'a && github.event.pull_request.head.repo.full_name == github.repository && b' }}",
	"${{ true }} && github.event.pull_request.head.repo.full_name == github.repository && ${{ true }}",
	"github.actor == 'x' || github.event_name == 'y' && github.event.pull_request.head.repo.full_name == github.repository",
	"github.event.pull_request.head.repo.fork",
	"github.event.pull_request.head.repo.fork == true",
	"!!github.event.pull_request.head.repo.fork",
	"github.repository == 'acme/app'",
	# The fork flag fails open: a deleted fork's head.repo is null, another
	# event's object too, and !null and null == false are true.
	"!github.event.pull_request.head.repo.fork",
	"github.event.pull_request.head.repo.fork == false",
	"false == github.event.pull_request.head.repo.fork",
	"${{ !github.event.workflow_run.head_repository.fork }}",
	"github.event.workflow_run.head_repository.fork == false",
	# An index holds && of its own: fromJSON('[true,true]')[x] is true
	# whatever x is.
	"${{ fromJSON('[true,true]')[1 && github.event.pull_request.head.repo.full_name == github.repository && 1] }}",
	"fromJSON('[1]')[github.event.pull_request.head.repo.full_name == github.repository && 0]",
	# What the text is not read far enough to judge is refused, even where
	# it would be safe: an index, a string left open, || in parentheses.
	"github.event.pull_request.head.repo.full_name == github.repository && github.event.pull_request.labels[0]",
	"github.actor != 'a && github.event.pull_request.head.repo.full_name == github.repository",
	"github.event.pull_request.head.repo.full_name == github.repository && (github.actor == 'x' || true)",
]
