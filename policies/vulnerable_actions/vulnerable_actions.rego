# METADATA
# title: Vulnerable actions
# description: |-
#   Reports a run that uses an action or reusable workflow with a known
#   ordinary vulnerability (command injection and the like, not malicious
#   code), directly or through a composite action or reusable workflow, at
#   an affected tag or version range, and says what to upgrade to. The
#   built-in list lives at data.runpolicy.vulnerable; imported advisories
#   at data.runpolicy.vulnerable_additions, in the same shape: by action,
#   then by advisory id. Malicious code is compromised_actions' business.
# related_resources:
#   - description: runpolicy advisories import
#     ref: https://github.com/runpolicy/runpolicy/blob/main/policies/README.md
# custom:
#   settings:
#     - name: mode
#       default: dry_run
#       description: enforce, dry_run or off.
# schemas:
#   - input: schema.input
package runpolicy.policies.vulnerable_actions

import data.runpolicy.lib
import data.runpolicy.lib.versions

# One finding per reference and advisory, from the built-in list and from
# the additions; each entry is judged on its own, so an addition cannot
# narrow a built-in one. A reference pinned to a commit has no version to
# compare: only a commit the advisory lists matches it. Each list is named
# in full (a missing one makes its rule undefined at once) and an empty
# list, the built-in one as shipped, never looks at a reference.
deny contains finding if {
	count(data.runpolicy.vulnerable.actions) > 0 # the built-in list ships empty
	some finding in findings(data.runpolicy.vulnerable.actions)
}

deny contains finding if {
	some finding in findings(data.runpolicy.vulnerable_additions.actions)
}

findings(actions) := {object.union(lib.finding(use), {
	"message": sprintf(
		"%s has a known vulnerability (%s): %s. %s",
		[lib.chain(use), concat(", ", entry.advisories), reason, remedy(entry)],
	),
	"advisories": entry.advisories,
}) |
	count(actions) > 0
	some use in input.uses
	some name in use.names
	some entry in actions[name]
	reason := versions.affected(use, entry, "affected")
}

# remedy names the versions that fix the advisory: the fixed ends of its
# ranges, or the versions after its last affected ones.
remedy(entry) := sprintf("Upgrade to %s", [concat(" or ", fixed)]) if {
	fixed := sort({sprintf("%s or later", [r.fixed]) | some r in entry.ranges; r.fixed} | {sprintf("a version after %s", [r.last_affected]) | some r in entry.ranges; r.last_affected})
	count(fixed) > 0
} else := "No fixed version is known: replace it"
