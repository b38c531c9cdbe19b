# METADATA
# title: Compromised actions
# description: |-
#   Denies a run that uses an action or reusable workflow on the compromised
#   list, directly or through a composite action or reusable workflow: a
#   known-malicious commit, an affected tag or version range, or every
#   version of the action. The list lives at data.runpolicy.compromised.
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

# A reference the list names, by name or repository, or whose commit it
# lists. listed collects the indexes in input.uses of those references:
# only they need a verdict. The list is read once and the sets are local to
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
	list := data.runpolicy.compromised # each part is bound in its own set: a list without commits still names actions
	listed := {i |
		actions := list.actions
		some i, use in input.uses
		some name in use.names
		actions[name] != false # what a bare actions[name] tests, cheaper (see lib.actions.listed_refs)
	} | {i |
		commits := list.commits
		some i, use in input.uses
		some sha in [use.ref, use.resolved_sha] # resolved_sha is null until the resolver looked the tag up
		commits[sha] != false
	}
	some i in listed
	use := input.uses[i]
	[entry, reason] := verdict(use)
}

# verdict is [list entry, reason] for the first way the reference matches
# the list, or undefined when it does not.
verdict(use) := [entry, "every version of it is affected"] if {
	some entry in entries(use)
	entry.all_versions == true
} else := [entry, sprintf("commit %s is a known malicious commit", [sha])] if {
	some entry in entries(use)
	some sha in shas(use)
	entry.commits[sha]
} else := [entry, sprintf("tag %s is an affected version", [use.ref])] if {
	use.ref_type == "tag_or_branch"
	some entry in entries(use)
	some spelling in spellings(use.ref)
	entry.versions[spelling]
} else := [entry, sprintf("tag %s is in the affected range (%s)", [use.ref, versions.range_text(range)])] if {
	use.ref_type == "tag_or_branch"
	some entry in entries(use)
	some range in entry.ranges
	versions.in_range(use.ref, range)
} else := [entry, sprintf("commit %s is a known malicious commit of %s", [sha, name])] if {
	some sha in shas(use)
	name := data.runpolicy.compromised.commits[sha]
	entry := data.runpolicy.compromised.actions[name]
}

# entries are the list entries for the reference: by its full name
# (owner/repo/path) and by its repository, looked up by key, never scanned.
entries(use) := [entry |
	some name in use.names
	entry := data.runpolicy.compromised.actions[name]
]

# shas are the commits the reference runs: its ref when pinned to a commit,
# and the commit its tag resolved to.
shas(use) := {lower(sha) |
	some sha in [use.ref | use.ref_type == "sha"]
} | {lower(sha) |
	sha := use.resolved_sha
	is_string(sha)
}

# spellings of a tag with and without its leading "v": advisories write "1"
# for the tag v1.
spellings(ref) := {ref, trim_prefix(ref, "v"), concat("", ["v", ref])}

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
