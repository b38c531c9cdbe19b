package runpolicy.policies.script_injection_test

import data.runpolicy.policies.script_injection

# Only the fields the policy reads, in the input document's shape.
workflow(step) := {
	"workflow": {"env": {}, "expressions": []},
	"jobs": {"build": {"env": {}, "expressions": [], "steps": [
		{"index": 0, "uses": null, "env": {}, "expressions": []},
		object.union({"index": 1, "uses": null, "env": {}, "expressions": []}, step),
	]}},
}

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

# An env: that sets TITLE from the issue title, to a fixed text, or not at
# all, as runpolicy input writes each (contexts in lower case).
env_level("title") := {
	"env": {"TITLE": "${{ github.event.issue.title }}"},
	"expressions": [expression("env.TITLE", "github.event.issue.title", ["github.event.issue.title"])],
}

env_level("fixed") := {"env": {"TITLE": "issue"}, "expressions": []}

env_level("unset") := {"env": {}, "expressions": []}

env_level("copy") := {
	"env": {"TITLE": "${{ env.TITLE }}"},
	"expressions": [expression("env.TITLE", "env.TITLE", ["env.title"])],
}

# A run: step that pastes ${{ env.TITLE }}, under the three levels of env:.
env_title(workflow_env, job_env, step_env) := {
	"workflow": env_level(workflow_env),
	"jobs": {"build": object.union(env_level(job_env), {"steps": [{
		"index": 0, "uses": null, "env": env_level(step_env).env,
		"expressions": array.concat(env_level(step_env).expressions, [expression("run", "env.TITLE", ["env.title"])]),
	}]})},
}

# The step's env: hides the job's, which hides the workflow's, unless it
# copies it (TITLE: ${{ env.TITLE }}).
test_env_context_set_from_outsider_text if {
	every levels in [
		["title", "unset", "unset", 1],
		["unset", "title", "unset", 1],
		["unset", "unset", "title", 1],
		["fixed", "title", "unset", 1],
		["fixed", "unset", "title", 1],
		["unset", "fixed", "title", 1],
		["title", "fixed", "unset", 0],
		["title", "unset", "fixed", 0],
		["unset", "title", "fixed", 0],
		["title", "title", "fixed", 0],
		["unset", "unset", "unset", 0],
		["fixed", "fixed", "fixed", 0],
		["unset", "title", "copy", 1],
		["title", "unset", "copy", 1],
		["title", "copy", "unset", 1],
		["title", "copy", "copy", 1],
		["fixed", "title", "copy", 1],
		["title", "fixed", "copy", 0],
		["unset", "fixed", "copy", 0],
		["fixed", "copy", "copy", 0],
		["copy", "unset", "unset", 0],
		["unset", "unset", "copy", 0],
	] {
		[workflow_env, job_env, step_env, want] := levels
		count(script_injection.deny) == want with input as env_title(workflow_env, job_env, step_env)
	}
}

test_extra_contexts if {
	count(script_injection.deny) == 0 with input as workflow(run("inputs.title", ["inputs.title"]))
	count(script_injection.deny) == 1 with input as workflow(run("inputs.title", ["inputs.title"]))
		with data.runpolicy.settings.script_injection.extra_contexts as ["inputs.*"]
}

# cmd/runpolicy/testdata/examples/audit__script_injection.yml as `runpolicy
# input` writes it: the workflow's triggers, env and expressions, and the job
# and step fields the policy reads.
audit := {
	"event": {"name": "local", "action": "", "delivery_id": ""},
	"repository": {"full_name": "local/local", "owner": "local", "name": "local", "default_branch": "main", "visibility": "private", "fork": false},
	"workflow": {"triggers": ["issues"], "env": {"TITLE": "${{ github.event.issue.title }}"}, "expressions": [{"field": "env.TITLE", "text": "github.event.issue.title", "contexts": ["github.event.issue.title"], "line": 7}]},
	"jobs": {
		"ok_job_env": {
			"line": 22,
			"if": null,
			"env": {"TITLE": "issue"},
			"expressions": [],
			"steps": [
				{"index": 0, "line": 27, "uses": null, "run": true, "script": {"text": "echo \"${{ env.TITLE }}\"", "truncated": false, "shell": null, "working_directory": null, "line": 27}, "if": null, "env": {}, "expressions": [{"field": "run", "text": "env.TITLE", "contexts": ["env.title"], "line": 27}]},
			],
		},
		"step_env": {
			"line": 30,
			"if": null,
			"env": {"TITLE": "${{ github.event.issue.title }}"},
			"expressions": [{"field": "env.TITLE", "text": "github.event.issue.title", "contexts": ["github.event.issue.title"], "line": 33}],
			"steps": [
				{"index": 0, "line": 35, "uses": null, "run": true, "script": {"text": "echo \"${{ env.TITLE }}\"", "truncated": false, "shell": null, "working_directory": null, "line": 37}, "if": null, "env": {"TITLE": "issue"}, "expressions": [{"field": "run", "text": "env.TITLE", "contexts": ["env.title"], "line": 37}]},
				{"index": 1, "line": 38, "uses": null, "run": true, "script": {"text": "echo \"${{ env.TITLE }}\"", "truncated": false, "shell": null, "working_directory": null, "line": 40}, "if": null, "env": {"title": "issue"}, "expressions": [{"field": "run", "text": "env.TITLE", "contexts": ["env.title"], "line": 40}]},
			],
		},
		"step_copy": {
			"line": 42,
			"if": null,
			"env": {"TITLE": "${{ github.event.issue.title }}"},
			"expressions": [{"field": "env.TITLE", "text": "github.event.issue.title", "contexts": ["github.event.issue.title"], "line": 45}],
			"steps": [
				{"index": 0, "line": 47, "uses": null, "run": true, "script": {"text": "echo \"${{ env.TITLE }}\"", "truncated": false, "shell": null, "working_directory": null, "line": 49}, "if": null, "env": {"TITLE": "${{ env.TITLE }}"}, "expressions": [{"field": "env.TITLE", "text": "env.TITLE", "contexts": ["env.title"], "line": 48}, {"field": "run", "text": "env.TITLE", "contexts": ["env.title"], "line": 49}]},
			],
		},
		"job_copy": {
			"line": 51,
			"if": null,
			"env": {"TITLE": "x${{ env.TITLE }}"},
			"expressions": [{"field": "env.TITLE", "text": "env.TITLE", "contexts": ["env.title"], "line": 54}],
			"steps": [
				{"index": 0, "line": 56, "uses": null, "run": true, "script": {"text": "echo \"${{ env.TITLE }}\"", "truncated": false, "shell": null, "working_directory": null, "line": 56}, "if": null, "env": {}, "expressions": [{"field": "run", "text": "env.TITLE", "contexts": ["env.title"], "line": 56}]},
				{"index": 1, "line": 57, "uses": null, "run": true, "script": {"text": "echo \"${{ env.COPY }}\"", "truncated": false, "shell": null, "working_directory": null, "line": 59}, "if": null, "env": {"COPY": "${{ env.TITLE }}"}, "expressions": [{"field": "env.COPY", "text": "env.TITLE", "contexts": ["env.title"], "line": 58}, {"field": "run", "text": "env.COPY", "contexts": ["env.copy"], "line": 59}]},
			],
		},
		"ok_copy": {
			"line": 61,
			"if": null,
			"env": {"TITLE": "issue"},
			"expressions": [],
			"steps": [
				{"index": 0, "line": 66, "uses": null, "run": true, "script": {"text": "echo \"${{ env.TITLE }}\"", "truncated": false, "shell": null, "working_directory": null, "line": 68}, "if": null, "env": {"TITLE": "${{ env.TITLE }}"}, "expressions": [{"field": "env.TITLE", "text": "env.TITLE", "contexts": ["env.title"], "line": 67}, {"field": "run", "text": "env.TITLE", "contexts": ["env.title"], "line": 68}]},
			],
		},
		"triage": {
			"line": 9,
			"if": null,
			"env": {},
			"expressions": [],
			"steps": [
				{"index": 0, "line": 12, "uses": null, "run": true, "script": {"text": "echo \"${{ Contains(github.event.issue.title, 'bug') }}\"", "truncated": false, "shell": null, "working_directory": null, "line": 12}, "if": null, "env": {}, "expressions": [{"field": "run", "text": "Contains(github.event.issue.title, 'bug')", "contexts": ["github.event.issue.title"], "line": 12}]},
				{"index": 1, "line": 13, "uses": null, "run": true, "script": {"text": "echo \"${{ STARTSWITH(github.event.issue.title, '[RFC]') }}\"", "truncated": false, "shell": null, "working_directory": null, "line": 13}, "if": null, "env": {}, "expressions": [{"field": "run", "text": "STARTSWITH(github.event.issue.title, '[RFC]')", "contexts": ["github.event.issue.title"], "line": 13}]},
				{"index": 2, "line": 14, "uses": null, "run": true, "script": {"text": "echo \"${{ Contains(github.event.issue.title, 'bug') && github.event.issue.title }}\"", "truncated": false, "shell": null, "working_directory": null, "line": 14}, "if": null, "env": {}, "expressions": [{"field": "run", "text": "Contains(github.event.issue.title, 'bug') && github.event.issue.title", "contexts": ["github.event.issue.title"], "line": 14}]},
			],
		},
		"workflow_env": {
			"line": 16,
			"if": null,
			"env": {},
			"expressions": [],
			"steps": [
				{"index": 0, "line": 19, "uses": null, "run": true, "script": {"text": "echo \"$TITLE\"", "truncated": false, "shell": null, "working_directory": null, "line": 19}, "if": null, "env": {}, "expressions": []},
				{"index": 1, "line": 20, "uses": null, "run": true, "script": {"text": "echo \"${{ env.TITLE }}\"", "truncated": false, "shell": null, "working_directory": null, "line": 20}, "if": null, "env": {}, "expressions": [{"field": "run", "text": "env.TITLE", "contexts": ["env.title"], "line": 20}]},
			],
		},
	},
}

# GitHub reads function names in any case: Contains() and STARTSWITH() paste
# true or false too, and && still passes the text on.
test_boolean_functions_in_any_case if {
	some finding in script_injection.deny with input as audit
	finding.job == "triage"
	startswith(finding.message, "job triage, step 3: run pastes ${{ Contains(github.event.issue.title, 'bug') && github.event.issue.title }}")
	count({finding | some finding in script_injection.deny; finding.job == "triage"}) == 1 with input as audit
}

# ${{ env.TITLE }} reads the workflow's env: unless the job or the step sets
# TITLE (the same name: title is another variable on Linux) to something
# else than a copy of it; "$TITLE" is the shell's to read, GitHub pastes
# nothing.
test_workflow_env if {
	{[f.job, f.step, f.line] | some f in script_injection.deny} == {
		["triage", 2, 14],
		["workflow_env", 1, 20],
		["step_env", 1, 40],
		["step_copy", 0, 49],
		["job_copy", 0, 56],
		["job_copy", 1, 59],
	} with input as audit
}
