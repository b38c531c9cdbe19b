# METADATA
# title: Allowed actions
# description: |-
#   Denies a run that uses an action, reusable workflow or docker image (a
#   docker:// step, a job container, a service) the allow list does not
#   allow, and, when pinning is required, one that is not pinned to a full
#   commit SHA (an image to its digest). A container or service image chosen
#   at run time gets a warning. The list takes GitHub's syntax: owner/*,
#   owner/repo (any ref), owner/repo@ref, owner/repo/path/to/workflow.yml@ref,
#   "*" wildcards inside names (space-org*/*), docker://image patterns; an
#   entry starting with "!" blocks and wins over every allow.
# related_resources:
#   - description: GitHub, allowing select actions and reusable workflows to run
#     ref: https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/enabling-features-for-your-repository/managing-github-actions-settings-for-a-repository#allowing-select-actions-and-reusable-workflows-to-run
# custom:
#   settings:
#     - name: mode
#       default: dry_run
#       description: reports until the organization has written its own list
#     - name: allow
#       type: strings
#       default: [actions/*, github/*, step-security/harden-runner]
#       description: allow-list entries, GitHub's syntax
#     - name: require_sha_pinning
#       type: boolean
#       default: false
#       description: require a full commit SHA as ref (a `@sha256:` digest for docker images)
#     - name: pinning_exempt
#       type: strings
#       default: []
#       description: >-
#         entries (same syntax) exempt from pinning; a `!` entry takes the exemption back; an entry that
#         exempts every reference (`*/*`, `*@*`, …) is refused
#     - name: allow_local
#       type: boolean
#       default: true
#       description: allow `./` and `$/` actions and workflows of the same repository
#     - name: include_transitive
#       type: boolean
#       default: true
#       description: also judge what composite actions and reusable workflows use
#     - name: approvable
#       type: boolean
#       default: true
#       description: >-
#         a maintainer may approve one version of the workflow from a cancelled run's check run, waiving these
#         findings for it
# schemas:
#   - input: schema.input
package runpolicy.policies.allowed_actions

import data.runpolicy.lib
import data.runpolicy.lib.actions

# Findings locate their reference as lib.finding does, with step only when
# the reference is a step. _findings holds them as [reference, message]
# pairs, so that each shape is written once; not lib.finding, since this
# policy can find many and a call per finding costs more.
deny contains {
	"job": use.job, "step": use.step, "line": use.line,
	"uses": use.raw, "via": use.via, "message": message,
} if {
	some finding in _findings
	use := finding[0]
	message := finding[1]
	use.step != null
}

deny contains {"job": use.job, "line": use.line, "uses": use.raw, "via": use.via, "message": message} if {
	some finding in _findings
	use := finding[0]
	message := finding[1]
	use.step == null
}

# A job container or service image an expression chooses at run time
# cannot be judged from the file. (Matrix values the file lists are in
# input.uses, one reference per value.)
warn contains {"job": id, "line": job.line, "message": sprintf(
	"job %s runs container image %s, which is chosen at run time: allowed_actions cannot judge it from the file; write the image, or list its values in the matrix",
	[id, job.container],
)} if {
	some id, job in input.jobs
	job.container_dynamic == true
}

warn contains {"job": id, "line": service.line, "message": sprintf(
	"job %s runs service %s from image %s, which is chosen at run time: allowed_actions cannot judge it from the file; write the image, or list its values in the matrix",
	[id, name, service.image],
)} if {
	some id, job in input.jobs
	some name, service in job.services
	service.dynamic == true
}

_settings := lib.settings("allowed_actions")

_findings contains [use, sprintf(
	"%s is not on the allowed list: add it to allowed_actions.allow or replace it",
	[_subject(use)],
)] if {
	some i in actions.unlisted(_allow_list, _judged)
	use := _judged[i]
}

_findings contains [use, sprintf("%s is blocked by allowed_actions.allow: replace it", [_subject(use)])] if {
	_allow_list.names_only == false # a list of names only blocks nothing
	some i in actions.listed_refs(_allow_list.block, _judged)
	use := _judged[i]
	use.kind != "local"
}

# A local path inside another action belongs to that action.
_findings contains [use, sprintf(
	"%s is a local action or workflow and allowed_actions.allow_local is false: move it to an allowed repository",
	[trim_space(use.raw)],
)] if {
	not _settings.allow_local
	some use in input.uses
	use.kind == "local"
	count(use.via) == 0
}

_findings contains [use, _unpinned_message(use)] if {
	_settings.require_sha_pinning
	some i in _unpinned
	use := _judged[i]
}

_allow_list := lib.patterns("allowed_actions", "allow")

# _judged are the references this policy looks at: all of them, or with
# include_transitive false the workflow's own. Local ones are among them
# and skipped where the list judges a reference: allow_local judges them.
_judged := input.uses if {
	_settings.include_transitive
} else := [use | some use in input.uses; count(use.via) == 0]

# _unpinned are the allowed references not pinned to a commit SHA and not
# exempt from pinning. A "!" entry of pinning_exempt takes the exemption
# back, as a "!" entry of the allow list blocks.
_unpinned := object.keys(refs) - (exempted - unexempted) if {
	allowed := actions.listed_refs(_allow_list.allow, _judged) - actions.listed_refs(_allow_list.block, _judged)
	refs := {i: use |
		some i in allowed
		use := _judged[i]
		use.kind != "local"
		not use.pinned
	}
	exempt := lib.patterns("allowed_actions", "pinning_exempt")
	exempted := actions.listed_refs(exempt.allow, refs)
	unexempted := actions.listed_refs(exempt.block, refs)
}

# A docker image (a docker:// step, a job container, a service) is pinned
# by its digest, not by a commit.
_unpinned_message(use) := sprintf(
	"%s is not pinned to a full commit SHA: pin it (%s@<40-hex SHA> # %s) or add it to allowed_actions.pinning_exempt",
	[_subject(use), trim_suffix(trim_space(use.raw), concat("", ["@", use.ref])), use.ref],
) if {
	use.kind != "docker"
} else := sprintf(
	"%s is not pinned to an image digest: pin it by digest (docker://%s@sha256:<digest>) or add it to allowed_actions.pinning_exempt",
	[_subject(use), use.name],
)

# _subject names a reference in a message: its chain, and for a job
# container or service image which of the two it is, since the file does
# not write it as docker://.
_subject(use) := lib.chain(use) if {
	not use.source in {"container", "service"}
} else := sprintf("%s image %s", [use.source, use.raw]) if {
	count(use.via) == 0
} else := sprintf("%s → %s image %s", [concat(" → ", use.via), use.source, use.raw])
