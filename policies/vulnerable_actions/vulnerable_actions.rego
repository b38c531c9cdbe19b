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
# schemas:
#   - input: schema.input
package runpolicy.policies.vulnerable_actions

import data.runpolicy.lib
import data.runpolicy.lib.versions

# With both lists empty (the built-in one ships empty) there is nothing to
# judge: runpolicy.main skips the policy.
idle if not _advisories

_advisories if count(data.runpolicy.vulnerable.actions) > 0

_advisories if count(data.runpolicy.vulnerable_additions.actions) > 0

# One finding per reference and advisory, from the built-in list and from
# the additions; each entry is judged on its own, so an addition cannot
# narrow a built-in one.
deny contains object.union(finding, {"advisories": entry.advisories}) if {
	some use in input.uses
	some name in use.names
	some entry in _entries(name)
	reason := versions.affected(use, entry, "affected")
	finding := lib.finding(use, sprintf(
		"%s has a known vulnerability (%s): %s. %s",
		[lib.chain(use), concat(", ", entry.advisories), reason, _remedy(entry)],
	))
}

# _entries are the entries of both lists for an action name, one per
# advisory.
_entries(name) := array.concat(
	[entry | some entry in data.runpolicy.vulnerable.actions[name]],
	[entry | some entry in data.runpolicy.vulnerable_additions.actions[name]],
)

# _remedy names the versions that fix the advisory: the fixed ends of its
# ranges, or the versions after its last affected ones.
_remedy(entry) := sprintf("Upgrade to %s", [concat(" or ", fixed)]) if {
	fixed_ends := {sprintf("%s or later", [r.fixed]) | some r in entry.ranges; r.fixed}
	after_last := {sprintf("a version after %s", [r.last_affected]) | some r in entry.ranges; r.last_affected}
	fixed := sort(fixed_ends | after_last)
	count(fixed) > 0
} else := "No fixed version is known: replace it"
