package runpolicy.policies.script_injection_test

import data.runpolicy.policies.script_injection

# Only the fields the policy reads, in the input document's shape.
workflow(step) := {"jobs": {"build": {"expressions": [], "steps": [
	{"index": 0, "uses": null, "expressions": []},
	object.union({"index": 1, "uses": null, "expressions": []}, step),
]}}}

expression(field, text, contexts) := {"field": field, "text": text, "contexts": contexts, "line": 12}

run(text, contexts) := {"expressions": [expression("run", text, contexts)]}

github_script(text, contexts) := {
	"uses": {"name": "actions/github-script"},
	"expressions": [expression("with.script", text, contexts)],
}

test_issue_title_in_run if {
	script_injection.deny == {{
		"job": "build", "step": 1, "line": 12,
		"message": `job build, step 2: run pastes ${{ github.event.issue.title }} into the script, and github.event.issue.title is text whoever triggers the workflow can write: it can end a quoted string and run commands. Pass it through env (VALUE: ${{ github.event.issue.title }}) and read "$VALUE"`,
	}} with input as workflow(run("github.event.issue.title", ["github.event.issue.title"]))
}

test_github_script if {
	some finding in script_injection.deny with input as workflow(github_script("github.event.pull_request.body", ["github.event.pull_request.body"]))
	endswith(finding.message, "read process.env.VALUE")
}

test_outsider_contexts if {
	every context in [
		"github.head_ref", "github.event.pull_request.head.ref", "github.event.comment.body",
		"github.event.review.body", "github.event.discussion.title", "github.event.pages.*.page_name",
		"github.event.commits.0.message", "github.event.head_commit.author.email",
		"github.event.workflow_run.head_branch", "github.event.workflow_run.pull_requests.*.head.ref",
		"GitHub.Event.Issue.Body", # GitHub reads contexts in any case
		"github.event.issue", "github.event", "github", # toJSON of a parent holds the text
	] {
		count(script_injection.deny) == 1 with input as workflow(run(context, [context]))
	}
}

test_safe_contexts if {
	every context in [
		"github.event.pull_request.number", "github.event.pull_request.head.sha", "github.sha",
		"github.event.issue.user.login", "github.event.comment.author_association",
		"github.event.pull_request.labels.*.name", "inputs.version", "steps.meta.outputs.tags",
		"github.event.issue.title_length", # a prefix of a name is not its parent
	] {
		count(script_injection.deny) == 0 with input as workflow(run(context, [context]))
	}
}

test_fields_that_are_not_code if {
	title := ["github.event.issue.title"]
	every step in [
		{"expressions": [expression("env.TITLE", "github.event.issue.title", title)]}, # the fix
		{"expressions": [expression("if", "github.event.issue.title == 'x'", title)]},
		{"uses": {"name": "actions/labeler"}, "expressions": [expression("with.script", "github.event.issue.title", title)]},
	] {
		count(script_injection.deny) == 0 with input as workflow(step)
	}
}

test_booleans_paste_no_text if {
	count(script_injection.deny) == 0 with input as workflow(run("contains(github.event.issue.title, 'bug')", ["github.event.issue.title"]))
	count(script_injection.deny) == 1 with input as workflow(run("contains(github.event.issue.title, 'bug') && github.event.issue.title || 'none'", ["github.event.issue.title"]))
	count(script_injection.deny) == 1 with input as workflow(run("format('{0}', github.event.issue.title)", ["github.event.issue.title"]))
}

test_env_context_set_from_outsider_text if {
	step := {"expressions": [
		expression("env.TITLE", "github.event.issue.title", ["github.event.issue.title"]),
		expression("run", "env.TITLE", ["env.TITLE"]),
	]}
	count(script_injection.deny) == 1 with input as workflow(step)
	job_env := {"jobs": {"build": {
		"expressions": [expression("env.TITLE", "github.event.issue.title", ["github.event.issue.title"])],
		"steps": [{"index": 0, "uses": null, "expressions": [expression("run", "env.TITLE", ["env.TITLE"])]}],
	}}}
	count(script_injection.deny) == 1 with input as job_env
	count(script_injection.deny) == 0 with input as workflow(run("env.TITLE", ["env.TITLE"]))
}

test_extra_contexts if {
	count(script_injection.deny) == 0 with input as workflow(run("inputs.title", ["inputs.title"]))
	count(script_injection.deny) == 1 with input as workflow(run("inputs.title", ["inputs.title"]))
		with data.runpolicy.settings.script_injection.extra_contexts as ["inputs.*"]
}

# cmd/runpolicy/testdata/examples/audit__script_injection.yml as `runpolicy
# input` writes it (workflow triggers and the job fields the policy reads).
any_case := {
	"event": {"name": "local", "action": "", "delivery_id": ""},
	"repository": {"full_name": "local/local", "owner": "local", "name": "local", "default_branch": "main", "visibility": "private", "fork": false},
	"workflow": {"triggers": ["issues"]},
	"jobs": {
		"triage": {
			"line": 6,
			"if": null,
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "none", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 4},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 9, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "echo \"${{ Contains(github.event.issue.title, 'bug') }}\"", "truncated": false, "shell": null, "working_directory": null, "line": 9}, "if": null, "env": {}, "expressions": [{"field": "run", "text": "Contains(github.event.issue.title, 'bug')", "contexts": ["github.event.issue.title"], "line": 9}]},
				{"index": 1, "id": "", "name": "", "line": 10, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "echo \"${{ STARTSWITH(github.event.issue.title, '[RFC]') }}\"", "truncated": false, "shell": null, "working_directory": null, "line": 10}, "if": null, "env": {}, "expressions": [{"field": "run", "text": "STARTSWITH(github.event.issue.title, '[RFC]')", "contexts": ["github.event.issue.title"], "line": 10}]},
				{"index": 2, "id": "", "name": "", "line": 11, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "echo \"${{ Contains(github.event.issue.title, 'bug') && github.event.issue.title }}\"", "truncated": false, "shell": null, "working_directory": null, "line": 11}, "if": null, "env": {}, "expressions": [{"field": "run", "text": "Contains(github.event.issue.title, 'bug') && github.event.issue.title", "contexts": ["github.event.issue.title"], "line": 11}]},
			],
		},
	},
}

# GitHub reads function names in any case: Contains() and STARTSWITH() paste
# true or false too, and && still passes the text on.
test_boolean_functions_in_any_case if {
	some finding in script_injection.deny with input as any_case
	startswith(finding.message, "job triage, step 3: run pastes ${{ Contains(github.event.issue.title, 'bug') && github.event.issue.title }}")
	count(script_injection.deny) == 1 with input as any_case
}
