# METADATA
# title: Pwn request
# description: |-
#   Denies a pull_request_target or workflow_run job that checks out the
#   pull request's code and then runs a script or a local action, while it
#   holds a write token or secrets. Both events run with the base
#   repository's token and secrets even for a fork's pull request, so the
#   build scripts, tests and dependencies of the pull request run with them.
#   A job that only runs for pull requests from the repository itself
#   (head.repo.full_name == github.repository) passes.
# related_resources:
#   - description: GitHub Security Lab, preventing pwn requests
#     ref: https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/
#   - description: zizmor, dangerous-triggers
#     ref: https://docs.zizmor.sh/audits/#dangerous-triggers
# custom:
#   severity: critical
#   settings:
#     - name: mode
#       default: dry_run
#       description: enforce, dry_run or off.
# schemas:
#   - input: schema.input
package runpolicy.policies.pwn_request

deny contains {
	"job": id,
	"step": checkout.index,
	"line": checkout.line,
	"message": sprintf(
		"job %s checks out the pull request's code at step %d (%s) in a %s workflow, then runs it at step %d with %s: whoever opens a pull request runs code with them. Build pull requests in a pull_request workflow, and keep %s for jobs that do not run their code",
		[id, checkout.index + 1, head, trigger, first_run + 1, concat(" and ", power), trigger],
	),
} if {
	triggers := {t | some t in input.workflow.triggers; t in {"pull_request_target", "workflow_run"}}
	count(triggers) > 0
	trigger := concat(" and ", sort(triggers))
	some id, job in input.jobs
	power := _power(job)
	count(power) > 0
	not _same_repository_only(job)
	some checkout in job.steps
	head := _checks_out_head(checkout, job)
	runs := {s.index | some s in job.steps; s.index > checkout.index; _runs_code(s)}
	count(runs) > 0
	first_run := min(runs)
}

# The contexts that name the pull request's code rather than the base branch's.
_head_contexts := {
	"github.head_ref", "github.event.number", "github.event.pull_request.number",
	"github.event.pull_request.head.sha", "github.event.pull_request.head.ref",
	"github.event.pull_request.head.repo.full_name", "github.event.pull_request.merge_commit_sha",
	"github.event.workflow_run.head_sha", "github.event.workflow_run.head_branch",
	"github.event.workflow_run.head_commit.id", "github.event.workflow_run.head_repository.full_name",
}

# _checks_out_head says how a step checks out the pull request's code.
_checks_out_head(step, job) := sprintf("%s: %s", [key, step.with[key]]) if {
	lower(step.uses.name) == "actions/checkout"
	keys := {key | some key in ["ref", "repository"]; _names_head(step, key, job)}
	count(keys) > 0
	key := min(keys) # ref before repository
} else := "gh pr checkout" if {
	regex.match(`gh pr checkout`, step.script.text)
} else := "a git command on the pull request's commits" if {
	regex.match(`\bgit\s+(checkout|switch|merge|pull|reset)\b`, step.script.text)
	_reads_head(step)
}

# _names_head: the checkout input key names the pull request's code, itself
# or through the output of an earlier step (ref: ${{ steps.pr.outputs.ref }}).
_names_head(step, key, _) if contains(step.with[key], "refs/pull/")

_names_head(step, key, job) if {
	some expression in step.expressions
	expression.field == concat(".", ["with", key])
	some context in expression.contexts
	_head_context(context, job)
}

_head_context(context, _) if lower(context) in _head_contexts

_head_context(context, job) if {
	["steps", id, "outputs", _] = split(context, ".")
	some source in job.steps
	source.id == id
	_reads_head(source)
}

# _reads_head: a value of the step names the pull request's code.
_reads_head(step) if {
	some expression in step.expressions
	some context in expression.contexts
	lower(context) in _head_contexts
}

_reads_head(step) if {
	some value in step.with
	contains(value, "refs/pull/")
}

_reads_head(step) if regex.match(`pull/[^/\s]+/(head|merge)`, step.script.text)

# A script, or an action from the checked-out code (uses: ./…).
_runs_code(step) if step.run

_runs_code(step) if step.uses.kind == "local"

# _power is what the job hands to the code it runs: write scopes and secrets.
_power(job) := [p |
	some p in [_secrets(job), _token(job.permissions)]
	p != ""
]

_token(permissions) := "a write-all token" if {
	permissions.all == "write-all"
} else := "the repository's default token, which can write unless the repository restricts it" if {
	permissions.source == "default"
} else := sprintf("a token that can write %s", [concat(", ", sort(writes))]) if {
	writes := {scope | some scope, access in permissions.scopes; access == "write"}
	count(writes) > 0
} else := ""

_secrets(job) := sprintf("secrets %s", [concat(", ", sort(names))]) if {
	names := {name | some name in job.secrets; name != "GITHUB_TOKEN"}
	count(names) > 0
} else := ""

# if: github.event.pull_request.head.repo.full_name == github.repository
# keeps forks out; an || beside it may let them back in.
_same_repository_only(job) if {
	is_string(job["if"])
	regex.match(`head(_repository|\.repo)\.full_name\s*==\s*github\.repository|github\.repository\s*==\s*github\.event\.(pull_request\.head\.repo|workflow_run\.head_repository)\.full_name|head\.repo\.fork\s*==\s*false`, job["if"])
	not contains(job["if"], "||")
}
