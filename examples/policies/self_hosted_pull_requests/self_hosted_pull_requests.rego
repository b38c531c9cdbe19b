# METADATA
# title: Self-hosted runners on public pull requests
# description: |-
#   Denies a pull_request or pull_request_target job of a public repository
#   that runs on a self-hosted runner: a label self-hosted, a runner group,
#   or any label but GitHub's hosted ones (ubuntu-24.04, windows-latest,
#   macos-15, …) and those of providers that start a fresh machine for
#   every job (depot-, blacksmith-, buildjet-, warp-, ubicloud-,
#   namespace-profile-). Anyone can open a pull request from a fork, and a
#   self-hosted runner keeps files, credentials and network access from one
#   job to the next. Jobs whose if: admits only pull requests from the
#   repository itself (head.repo.full_name == github.repository, and'ed
#   with nothing that could negate it or let forks in) pass. The fork flag
#   (!head.repo.fork, head.repo.fork == false) does not count: it is true
#   for a deleted fork's pull request, whose head.repo is null, and on an
#   event without that object. On the command line, which cannot tell a
#   repository's visibility, every repository is judged as public.
# related_resources:
#   - description: GitHub, self-hosted runner security
#     ref: https://docs.github.com/en/actions/concepts/runners/self-hosted-runners#self-hosted-runner-security
#   - description: poutine, pr_runs_on_self_hosted
#     ref: https://boostsecurityio.github.io/poutine/rules/pr_runs_on_self_hosted/
# custom:
#   severity: high
#   settings:
#     - name: mode
#       default: dry_run
#       description: enforce, dry_run or off.
#     - name: hosted_runners
#       type: strings
#       default: []
#       description: More labels and runner groups (patterns) that are GitHub-hosted, such as the organization's larger runners.
#     - name: private_repositories
#       default: false
#       description: Judge private and internal repositories too (forks of them can open pull requests when the organization allows it).
# schemas:
#   - input: schema.input
package runpolicy.policies.self_hosted_pull_requests

import data.runpolicy.lib

deny contains {
	"job": id,
	"line": job.line,
	"message": sprintf(
		"job %s runs %s of %s on %s, a runner GitHub does not host: a fork's pull request can run its code there and leave something behind for the next job. Run pull requests on GitHub-hosted runners, or only for branches of the repository (if: github.event.pull_request.head.repo.full_name == github.repository); list the organization's larger runners in self_hosted_pull_requests.hosted_runners",
		[id, concat(" and ", sort(events)), _repository, concat(", ", sort(runners))],
	),
} if {
	events := {e | some e in input.workflow.triggers; e in {"pull_request", "pull_request_target"}}
	count(events) > 0
	_judged_repository
	some id, job in input.jobs
	not _same_repository_only(job)
	runners := {r | some r in _runners(job); not _hosted(r)}
	count(runners) > 0
}

warn contains {
	"job": id,
	"line": job.line,
	"message": sprintf("job %s runs pull requests on a runner an expression chooses (%s): self_hosted_pull_requests cannot judge it from the file", [id, job.runs_on.expression]),
} if {
	some trigger in input.workflow.triggers
	trigger in {"pull_request", "pull_request_target"}
	_judged_repository
	some id, job in input.jobs
	job.runs_on.dynamic
	not _same_repository_only(job)
}

_judged_repository if input.repository.visibility == "public"

_judged_repository if input.event.name == "local"

_judged_repository if lib.settings("self_hosted_pull_requests").private_repositories == true

_repository := sprintf("public repository %s", [input.repository.full_name]) if {
	input.repository.visibility == "public"
} else := "this repository (judged as public: the command line cannot tell)" if {
	input.event.name == "local"
} else := sprintf("%s repository %s", [input.repository.visibility, input.repository.full_name])

# _runners are the labels and groups a job can run on: as written, and for
# each matrix value (runs-on: ${{ matrix.os }}). Expressions are left out.
_runners(job) := {r |
	some candidate in array.concat([{"labels": job.runs_on.labels, "group": job.runs_on.group}], job.runs_on.candidates)
	some r in array.concat(candidate.labels, [g | g := candidate.group; is_string(g)])
	not contains(r, "${{")
}

# GitHub's hosted runner labels.
_hosted(runner) if regex.match(`^(ubuntu-(latest|slim|\d\d\.04)(-arm)?|windows-(latest|\d{4}|11-arm)|macos-(latest|\d+)(-large|-xlarge|-intel)?)$`, lower(runner))

# Providers whose runners, like GitHub's, are a fresh machine for every job.
_hosted(runner) if regex.match(`^(depot|blacksmith|buildjet|warp|ubicloud|namespace-profile)-`, lower(runner))

_hosted(runner) if lib.in_patterns(lib.patterns("self_hosted_pull_requests", "hosted_runners"), runner)

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
# the same as pwn_request's.
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
