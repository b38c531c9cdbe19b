# METADATA
# title: Allowed actions
# description: |-
#   Denies a run that uses an action, reusable workflow or docker image the
#   allow list does not allow, and, when pinning is required, one that is not
#   pinned to a full commit SHA. The list takes GitHub's syntax: owner/*,
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
#       description: enforce, dry_run or off; dry_run until the organization writes its own list.
#     - name: allow
#       default: [actions/*, github/*, step-security/harden-runner]
#       description: Allow-list patterns; "!" entries block.
#     - name: require_sha_pinning
#       default: false
#       description: Require a full 40-hex commit SHA as ref.
#     - name: pinning_exempt
#       default: []
#       description: Patterns exempt from pinning; "*/*" is refused.
#     - name: allow_local
#       default: true
#       description: Allow local actions and workflows (./path).
#     - name: include_transitive
#       default: true
#       description: Also judge what composite actions and reusable workflows use.
# schemas:
#   - input: schema.input
package runpolicy.policies.allowed_actions

import data.runpolicy.lib
import data.runpolicy.lib.actions

settings := lib.settings("allowed_actions")

# Every finding locates its reference as lib.finding does. The object is
# written out once here rather than built with lib.finding per finding: in
# OPA the call costs more than the object.
deny contains object.remove(
	{"job": use.job, "step": use.step, "line": use.line, "uses": use.raw, "via": use.via, "message": message},
	[key | key := "step"; use.step == null],
) if {
	some [i, message] in problems
	use := input.uses[i]
}

# problems are [index in input.uses, message] pairs.
problems contains [i, sprintf("%s is blocked by allowed_actions.allow: replace it", [lib.chain(input.uses[i])])] if {
	some i in blocked
}

problems contains [i, sprintf(
	"%s is not on the allowed list: add it to allowed_actions.allow or replace it",
	[lib.chain(input.uses[i])],
)] if {
	some i in unlisted
}

problems contains [i, sprintf(
	"%s is a local action or workflow and allowed_actions.allow_local is false: move it to an allowed repository",
	[use.raw],
)] if {
	not settings.allow_local
	some i, use in input.uses
	use.kind == "local"
	count(use.via) == 0 # a local path inside another action belongs to that action
}

problems contains [i, sprintf(
	"%s is not pinned to a full commit SHA: pin it (%s@<40-hex SHA> # %s) or add it to allowed_actions.pinning_exempt",
	[lib.chain(use), use_name(use), use.ref],
)] if {
	settings.require_sha_pinning != false # what a bare ref tests, with fewer allocations in OPA
	some i in unpinned
	use := input.uses[i]
}

# judged are the remote references this policy looks at, by their index in
# input.uses: direct ones, and transitive ones with include_transitive.
judged := {i: use |
	some i, use in input.uses
	use.kind != "local"
} if {
	settings.include_transitive != false
} else := {i: use |
	some i, use in input.uses
	use.kind != "local"
	count(use.via) == 0
}

# Each judged reference is looked up once in each half of the list, all
# references together (see actions.listed_refs): blocked ones match a "!"
# entry, which wins; unlisted ones match no entry at all.
blocked := actions.listed_refs(allow_list.block, judged)

allowed := actions.listed_refs(allow_list.allow, judged) - blocked

unlisted := (object.keys(judged) - allowed) - blocked

# unpinned are the allowed references not pinned to a commit SHA and not
# exempt from pinning.
unpinned := object.keys(unpinned_refs) - actions.listed_refs(exempt, unpinned_refs)

unpinned_refs := {i: use |
	some i in allowed
	use := input.uses[i]
	not use.pinned
}

use_name(use) := trim_suffix(use.raw, concat("", ["@", use.ref]))

# The allow list is indexed (see runpolicy.lib.patterns): a reference costs
# a few lookups whatever the length of the list.
allow_list := lib.patterns("allowed_actions", "allow")

exempt := lib.patterns("allowed_actions", "pinning_exempt").allow
