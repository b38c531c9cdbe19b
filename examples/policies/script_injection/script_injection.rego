# METADATA
# title: Script injection
# description: |-
#   Denies a step that pastes text an outsider can write (an issue or pull
#   request title, a comment, a branch name, a commit message) into a run:
#   script or into actions/github-script's script. GitHub replaces ${{ }}
#   before the shell or Node.js reads the script, so quotes in the text end
#   the string and the rest runs as code, with the job's token and secrets.
# related_resources:
#   - description: GitHub, script injections
#     ref: https://docs.github.com/en/actions/concepts/security/script-injections
#   - description: zizmor, template-injection
#     ref: https://docs.zizmor.sh/audits/#template-injection
# custom:
#   severity: high
#   settings:
#     - name: mode
#       default: dry_run
#       description: enforce, dry_run or off.
#     - name: extra_contexts
#       type: strings
#       default: []
#       description: More contexts to treat as written by outsiders, * for any text (inputs.*, github.event.client_payload.*).
# schemas:
#   - input: schema.input
package runpolicy.policies.script_injection

import data.runpolicy.lib

deny contains {
	"job": id,
	"step": step.index,
	"line": expression.line,
	"message": sprintf(
		"job %s, step %d: %s pastes ${{ %s }} into the script, and %s is text whoever triggers the workflow can write: it can end a quoted string and run commands. Pass it through env (VALUE: ${{ %s }}) and read %s",
		[id, step.index + 1, expression.field, expression.text, concat(", ", tainted), expression.text, _read_env(expression.field)],
	),
} if {
	some id, job in input.jobs
	some step in job.steps
	some expression in step.expressions
	_is_code(step, expression.field)
	tainted := {c | some c in expression.contexts; _outsider_text(c, job, step)}
	count(tainted) > 0
	not _yields_boolean(expression.text)
}

# The fields GitHub pastes into code: a run: script, and the script input of
# actions/github-script.
_is_code(_, "run")

_is_code(step, "with.script") if lower(step.uses.name) == "actions/github-script"

_read_env("run") := `"$VALUE"`

_read_env("with.script") := "process.env.VALUE"

# Contexts an outsider writes, from GitHub's list of untrusted input and
# zizmor's and poutine's injection rules; * stands for one path segment.
_outsider_contexts := {
	"github.head_ref",
	"github.event.issue.title", "github.event.issue.body",
	"github.event.pull_request.title", "github.event.pull_request.body",
	"github.event.pull_request.head.ref", "github.event.pull_request.head.label",
	"github.event.pull_request.head.repo.default_branch", "github.event.pull_request.head.repo.description",
	"github.event.comment.body", "github.event.review.body", "github.event.review_comment.body",
	"github.event.discussion.title", "github.event.discussion.body",
	"github.event.changes.title.from", "github.event.changes.body.from",
	"github.event.pages.*.page_name",
	"github.event.head_commit.message", "github.event.head_commit.author.*", "github.event.head_commit.committer.*",
	"github.event.commits.*.message", "github.event.commits.*.author.*", "github.event.commits.*.committer.*",
	"github.event.merge_group.head_commit.message", "github.event.merge_group.head_commit.author.*",
	"github.event.workflow_run.head_branch", "github.event.workflow_run.display_title",
	"github.event.workflow_run.head_commit.message", "github.event.workflow_run.head_commit.author.*",
	"github.event.workflow_run.head_commit.committer.*", "github.event.workflow_run.head_repository.description",
	"github.event.workflow_run.pull_requests.*.head.ref",
}

_outsider_text(context, _, _) if _outsider(context)

# ${{ env.TITLE }} pastes what the closest env: sets TITLE to: the step's,
# else the job's, else the workflow's.
_outsider_text(context, job, step) if {
	startswith(lower(context), "env.")
	some name in _step_env(job, step)
	lower(context) == lower(concat(".", ["env", name]))
}

# _step_env, _job_env and _workflow_env are the names of the env entries
# whose value holds outsider text, as a step, a job and the workflow see
# them. Each level keeps the names above it that it does not set itself;
# Linux runners read env names case sensitively, so only the same name in
# the same case replaces one (title: hides no TITLE). What a level sets
# counts when its value reads outsider text, or an env entry above that
# does (TITLE: ${{ env.TITLE }} copies the job's TITLE, it hides nothing;
# GitHub reads env.title as TITLE too). Three levels bound the copies.
_step_env(job, step) := _env(step, _job_env(job))

_job_env(job) := _env(job, _workflow_env)

_workflow_env := _env(input.workflow, set())

_env(level, above) := {name | some name in above; not _sets_env(level, name)} | {name |
	some expression in level.expressions
	startswith(expression.field, "env.")
	some c in expression.contexts
	_reads_outsider(c, above)
	name := substring(expression.field, count("env."), -1)
}

_sets_env(level, name) if _ = level.env[name]

_reads_outsider(context, _) if _outsider(context)

_reads_outsider(context, above) if {
	some name in above
	lower(context) == lower(concat(".", ["env", name]))
}

_outsider(context) if {
	some pattern in _outsider_contexts
	glob.match(pattern, ["."], lower(context))
}

# A parent object holds the text too: ${{ toJSON(github.event.issue) }}.
_outsider(context) if {
	some pattern in _outsider_contexts
	startswith(pattern, concat("", [lower(context), "."]))
}

_outsider(context) if lib.in_patterns(lib.patterns("script_injection", "extra_contexts"), context)

# contains(), startsWith() and endsWith() paste true or false, not the text;
# && and || can pass the text itself on. GitHub reads function names in any
# case (Contains(), STARTSWITH()).
_yields_boolean(text) if {
	regex.match(`(?i)^\s*!?\s*(contains|startswith|endswith)\(`, text)
	not regex.match(`&&|\|\|`, text)
}
