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
#       description: enforce, dry_run or off.
#     - name: block_unresolved
#       default: false
#       description: |-
#         Deny (true) or only warn (false) when the resolver could not look
#         inside a reference, so the actions it calls went unchecked.
#     - name: exceptions
#       default: []
#       description: |-
#         [{advisory, reason}]: list entries to drop, by advisory. The only
#         way to shrink the list; logged at load and listed in decisions.
# schemas:
#   - input: schema.input
package runpolicy.policies.compromised_actions

import data.runpolicy.lib
import data.runpolicy.lib.versions

settings := lib.settings("compromised_actions")

# A reference a list names, by name or repository, or whose commit it
# lists. listed collects the indexes in input.uses of those references:
# only they need a verdict. Each list is read once and the sets are local to
# the body: in OPA a rule, a function call per reference, or a data
# reference resolved again for each one costs more than the lookups. A
# reference's names are in lower case (docker images are docker://…, which
# the list never names; local paths have none), as are commit SHAs: a ref
# that is not a full lower-case SHA is never a key of commits, and GitHub
# returns resolved SHAs in lower case.
deny contains object.union(lib.finding(use), {
	"message": sprintf(
		"%s is compromised (%s): %s. Remove it or move to a safe version, and rotate every secret this workflow could read",
		[lib.chain(use), advisory_text(entry), reason],
	),
	"advisories": entry.advisories,
}) if {
	listed := (({i |
		actions := data.runpolicy.compromised.actions # each part is bound in its own set: a list without commits still names actions
		some i, use in input.uses
		some name in use.names
		actions[name] != false # what a bare actions[name] tests, cheaper (see lib.actions.listed_refs)
	} | {i |
		commits := data.runpolicy.compromised.commits
		some i, use in input.uses
		some sha in [use.ref, use.resolved_sha] # resolved_sha is null until the resolver looked the tag up
		commits[sha] != false
	}) | {i |
		actions := data.runpolicy.compromised_additions.actions # named in full: a missing list costs nothing
		some i, use in input.uses
		some name in use.names
		actions[name] != false
	}) | {i |
		commits := data.runpolicy.compromised_additions.commits
		some i, use in input.uses
		some sha in [use.ref, use.resolved_sha]
		commits[sha] != false
	}
	some i in listed
	use := input.uses[i]
	[entry, reason] := verdict(use)
}

# lists are the built-in list and the additions, each when present, for
# the references listed above. They are never merged into one: each entry
# is judged on its own, so a match in either denies.
# Each is named in full: a data.runpolicy[key] lookup would reach the rules
# under data.runpolicy too.
lists := [list | some list in [builtin, additions]; list != null]

default builtin := null

builtin := data.runpolicy.compromised

default additions := null

additions := data.runpolicy.compromised_additions

# verdict is [list entry, reason] for the first entry that matches the
# reference, the built-in list's first, or undefined when none does. Each
# step picks one value: a function must not produce two for one reference,
# and a reference can match both lists, or two ranges of one entry.
verdict(use) := found[0] if {
	found := [v |
		some entry in entries(use)
		v := [entry, versions.affected(use, entry, "a known malicious commit")]
	]
	count(found) > 0
} else := [entry, sprintf("commit %s is a known malicious commit of %s", [sha, name])] if {
	matches := [[sha, name, entry] |
		some sha in versions.shas(use)
		some list in lists
		name := list.commits[sha]
		some named in lists
		entry := named.actions[name]
	]
	count(matches) > 0
	[sha, name, entry] := matches[0]
}

# entries are the entries of both lists for the reference: by its full
# name (owner/repo/path) and by its repository, looked up by key, never
# scanned.
entries(use) := [entry |
	some list in lists
	some name in use.names
	entry := list.actions[name]
]

advisory_text(entry) := concat(", ", entry.advisories) if {
	count(entry.advisories) > 0
} else := "no advisory"

# Without resolution the actions a reference calls are unknown: warn, or deny
# when block_unresolved is set. The input is looked at first: when every
# reference was resolved, the settings are never read.
warn contains unresolved(use) if {
	some use in input.uses
	use.unresolved != "" # set only when the resolver could not look inside
	not settings.block_unresolved
}

deny contains unresolved(use) if {
	some use in input.uses
	use.unresolved != "" # set only when the resolver could not look inside
	settings.block_unresolved != false # what a bare ref tests, with fewer allocations in OPA
}

unresolved(use) := object.union(lib.finding(use), {"message": sprintf(
	"could not look inside %s (%s): the actions it calls were not checked against the compromised list",
	[lib.chain(use), use.unresolved],
)})

warn contains limited(limit) if {
	some limit in input.resolution.limits
	not settings.block_unresolved
}

deny contains limited(limit) if {
	some limit in input.resolution.limits
	settings.block_unresolved != false
}

limited(limit) := {"message": sprintf(
	"stopped following action references at the %s limit: deeper actions were not checked against the compromised list",
	[limit],
)}
