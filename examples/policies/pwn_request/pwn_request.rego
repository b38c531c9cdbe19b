# METADATA
# title: Pwn request
# description: |-
#   Denies a pull_request_target or workflow_run job that checks out the
#   pull request's code and then runs it (the rest of the checkout's
#   script, a later script or local action) or hands it to an action that
#   may build it (any but checkout, upload-artifact, download-artifact and
#   cache), while it holds a write token or secrets. Both events run with
#   the base repository's token and secrets even for a fork's pull request,
#   so the build scripts, tests and dependencies of the pull request run
#   with them. A job whose if: admits only pull requests from the
#   repository itself (head.repo.full_name == github.repository, and'ed
#   with nothing that could negate it or let forks in) passes. The fork
#   flag (!head.repo.fork, head.repo.fork == false) does not count: it is
#   true for a deleted fork's pull request, whose head.repo is null, and on
#   an event without that object.
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
		"job %s checks out the pull request's code at step %d (%s) in a %s workflow, then %s with %s: whoever opens a pull request runs code with them. Build pull requests in a pull_request workflow, and keep %s for jobs that do not run their code",
		[id, checkout.index + 1, head, trigger, runs, concat(" and ", power), trigger],
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
	runs := _runs_it(checkout, job)
}

# _runs_it says where the job runs the checked-out code: the checkout's own
# script when it goes on after the checkout command (gh pr checkout 1 &&
# make), else the first later script or local action, else the first later
# action that is not one of _moves_files (docker/build-push-action builds the
# pull request's Dockerfile).
_runs_it(checkout, job) := "runs it in the same script" if {
	_goes_on(checkout)
} else := sprintf("runs it at step %d", [min(scripts) + 1]) if {
	scripts := {s.index | some s in job.steps; s.index > checkout.index; _runs_code(s)}
	count(scripts) > 0
} else := sprintf("hands it to %s at step %d", [action.uses.raw, action.index + 1]) if {
	actions := {s.index | some s in job.steps; s.index > checkout.index; _action(s)}
	count(actions) > 0
	some action in job.steps
	action.index == min(actions)
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
	regex.match(_gh_checkout, step.script.text)
} else := "a git command on the pull request's commits" if {
	regex.match(_git_checkout, step.script.text)
	_reads_head(step)
}

_gh_checkout := `\bgh\s+pr\s+checkout\b`

_git_checkout := `\bgit\s+(checkout|switch|merge|pull|reset)\b`

# _goes_on: the script that checks out the pull request runs another command
# after the first checkout command (git fetch origin pull/1/head:pr; git
# checkout pr; make). The command's own arguments end at the first newline,
# ;, & or | that no backslash escapes; comments do not count.
_goes_on(step) if {
	some pattern in [_gh_checkout, _git_checkout]
	[command] := regex.find_n(pattern, step.script.text, 1)
	rest := substring(step.script.text, indexof(step.script.text, command) + count(command), -1)
	after := regex.replace(rest, `^([^\n;&|\\]|\\(.|\n))*`, "")
	regex.match(`[^\s;&|]`, regex.replace(after, `(?m)(^|\s)#.*$`, ""))
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
	lower(source.id) == lower(id) # GitHub matches step ids in any case
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

# Any other action, or docker:// image, may build or run what it finds in
# the workspace (docker/build-push-action, setup-node's yarn cache, a
# linter); the file cannot tell which do, so all count but _moves_files.
_action(step) if {
	step.uses.kind in {"action", "docker"}
	not lower(step.uses.name) in _moves_files
}

# Actions that copy or store files and run none of them.
_moves_files := {
	"actions/checkout", "actions/upload-artifact", "actions/download-artifact",
	"actions/cache", "actions/cache/restore", "actions/cache/save",
}

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

# _same_repository_only: the job's if: admits only pull requests from the
# repository itself: one of the terms it ands together compares the head
# repository's full name with github.repository (pull_request's or
# workflow_run's, either way round). That comparison fails closed: on an
# event without that object, or for a deleted fork (head.repo null), null ==
# 'acme/api' is false. The fork flag does not, and does not count: !null and
# null == false are true, so !head.repo.fork admits a deleted fork's pull
# request, and the flag of another event's object admits every one. The
# condition is read as text, so only what is fully understood passes: ${{ }}
# around the whole of it (text around it makes a string, always true), and
# each term _plain: no || to let forks back in, no index to hold the guard
# (fromJSON('[1,1]')[x && guard && 1]), and the parentheses a term opens
# closed in it, so nothing negates the guard (!(…), (…) == false). Keep it
# the same as self_hosted_pull_requests'.
_same_repository_only(job) if {
	terms := split(_condition(job["if"]), "&&")
	every term in terms {
		_plain(term)
	}
	some term in terms
	regex.match(_guard, term)
}

# _plain: a term made only of contexts, literals (strings emptied, none left
# open), comparisons, ! and function calls, with as many ( as ).
_plain(term) if {
	regex.match(`^[a-z0-9_.*!=<>(),\s-]*$`, regex.replace(term, `''`, ""))
	count(indexof_n(term, "(")) == count(indexof_n(term, ")"))
}

# _condition is an if: as an expression, in lower case (GitHub's contexts
# are case-insensitive), with each string literal emptied.
_condition(text) := lower(regex.replace(expression, `'([^']|'')*'`, "''")) if {
	is_string(text)
	[[_, expression]] := regex.find_all_string_submatch_n(`^\$\{\{((?s).*)\}\}$`, text, 1)
	not contains(expression, "${{")
} else := lower(regex.replace(text, `'([^']|'')*'`, "''")) if {
	is_string(text)
	not contains(text, "${{")
}

_guard := concat("", [
	`^\s*\(*\s*(`,
	`github\.event\.(pull_request\.head\.repo|workflow_run\.head_repository)\.full_name\s*==\s*github\.repository`,
	`|github\.repository\s*==\s*github\.event\.(pull_request\.head\.repo|workflow_run\.head_repository)\.full_name`,
	`)\s*\)*\s*$`,
])
