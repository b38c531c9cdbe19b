# METADATA
# title: Compromised actions
# description: |-
#   Denies a run that uses an action or reusable workflow on the compromised
#   list, directly or through a composite action or reusable workflow: a
#   known-malicious commit, an affected tag or version range, or every
#   version of the action. The built-in list lives at
#   data.runpolicy.compromised; additions (from `runpolicy advisories
#   import`, a bundle or --data) at data.runpolicy.compromised_additions,
#   in the same shape. Both are read, so an addition naming an action the
#   built-in list has can add to its entry but never narrow it.
# related_resources:
#   - description: tj-actions/changed-files compromise (GHSA-mrrh-fwg8-r2c3)
#     ref: https://github.com/advisories/GHSA-mrrh-fwg8-r2c3
#   - description: reviewdog/action-setup compromise (GHSA-qmg3-hpqr-gqvc)
#     ref: https://github.com/advisories/GHSA-qmg3-hpqr-gqvc
#   - description: aquasecurity/trivy-action and setup-trivy compromise (GHSA-69fq-xp46-6x23)
#     ref: https://github.com/advisories/GHSA-69fq-xp46-6x23
# custom:
#   settings:
#     - name: mode
#       default: enforce
#     - name: block_unresolved
#       type: boolean
#       default: false
#       description: >-
#         deny (instead of warn) when the resolver could not look inside a reference, whatever the reason
#         (private or deleted repository or tag, a file over the size limit, an invalid file, a GitHub
#         error), or stopped at a limit
#     - name: exceptions
#       type: any
#       default: []
#       description: >-
#         `[{advisory: GHSA-…, reason: …}]`: list entries to drop, by advisory (organization-wide only);
#         logged at load and listed in decisions as `compromised_exceptions`
# schemas:
#   - input: schema.input
package runpolicy.policies.compromised_actions

import data.runpolicy.lib
import data.runpolicy.lib.actions
import data.runpolicy.lib.versions

deny contains object.union(finding, {"advisories": entry.advisories}) if {
	some i in _listed
	use := input.uses[i]
	[entry, reason] := _verdict(use)
	finding := lib.finding(use, sprintf(
		"%s is compromised (%s): %s. Remove it or move to a safe version, and rotate every secret this workflow could read",
		[lib.chain(use), _advisory_text(entry), reason],
	))
}

# Without resolution the actions a reference calls are unknown: warn, or
# deny when block_unresolved is set.
deny contains _unresolved(use) if {
	some use in input.uses
	use.unresolved != ""
	lib.settings("compromised_actions").block_unresolved
}

deny contains _limited(limit) if {
	some limit in input.resolution.limits
	lib.settings("compromised_actions").block_unresolved
}

warn contains _unresolved(use) if {
	some use in input.uses
	use.unresolved != ""
	not lib.settings("compromised_actions").block_unresolved
}

warn contains _limited(limit) if {
	some limit in input.resolution.limits
	not lib.settings("compromised_actions").block_unresolved
}

# _listed are the references a list names, by name or repository, or whose
# commit it lists: only they need a verdict. The built-in list and the
# additions are read apart and never merged: each entry is judged on its
# own, so a match in either denies and an addition cannot narrow a
# built-in entry.
_listed contains i if some i in actions.named_in(data.runpolicy.compromised, input.uses)

_listed contains i if some i in actions.named_in(data.runpolicy.compromised_additions, input.uses)

# _verdict is [list entry, reason] for the first entry that matches the
# reference, the built-in list's first, or undefined when none does. Each
# step picks one value: a function must not produce two for one reference,
# and a reference can match both lists, or two ranges of one entry.
_verdict(use) := found[0] if {
	found := [[entry, reason] |
		some entry in _entries(use)
		reason := versions.affected(use, entry, "a known malicious commit")
	]
	count(found) > 0
} else := [entry, sprintf("commit %s is a known malicious commit of %s", [sha, name])] if {
	found := [[sha, name, entry] |
		some sha in versions.shas(use)
		some name in _commit_owners(sha)
		some entry in _named(name)
	]
	count(found) > 0
	[sha, name, entry] := found[0]
}

# _entries are the entries of both lists for a reference, by its full name
# (owner/repo/path) and by its repository, the built-in list's first.
_entries(use) := array.concat(
	[entry | some name in use.names; entry := data.runpolicy.compromised.actions[name]],
	[entry | some name in use.names; entry := data.runpolicy.compromised_additions.actions[name]],
)

_named(name) := array.concat(
	[entry | entry := data.runpolicy.compromised.actions[name]],
	[entry | entry := data.runpolicy.compromised_additions.actions[name]],
)

# _commit_owners are the actions both lists name for a commit.
_commit_owners(sha) := array.concat(
	[name | name := data.runpolicy.compromised.commits[sha]],
	[name | name := data.runpolicy.compromised_additions.commits[sha]],
)

_advisory_text(entry) := concat(", ", entry.advisories) if {
	count(entry.advisories) > 0
} else := "no advisory"

_unresolved(use) := lib.finding(use, sprintf(
	"could not look inside %s (%s): the actions it calls were not checked against the compromised list",
	[lib.chain(use), use.unresolved],
))

_limited(limit) := {"message": sprintf(
	"stopped following action references at the %s limit: deeper actions were not checked against the compromised list",
	[limit],
)}
