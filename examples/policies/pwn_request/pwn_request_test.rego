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
	labeler := {"index": 1, "run": false, "uses": {"name": "actions/labeler", "kind": "action"}}
	count(pwn_request.deny) == 0 with input as workflow("pull_request_target", {"steps": [checkout({"ref": "${{ github.head_ref }}"}), labeler]})
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
