# METADATA
# title: Shared helpers
# description: |-
#   Helpers every runpolicy policy uses: a policy's effective settings for
#   the repository under judgement, indexed pattern lists, and findings
#   about an action reference. Wildcard patterns live in
#   runpolicy.lib.wildcard, action patterns in runpolicy.lib.actions,
#   version ranges in runpolicy.lib.versions.
# related_resources:
#   - description: runpolicy policies and settings
#     ref: https://github.com/runpolicy/runpolicy/blob/main/policies/README.md
# schemas:
#   - input: schema.input
package runpolicy.lib

import data.runpolicy.lib.actions
import data.runpolicy.lib.wildcard

# settings returns a policy's effective settings: the organization-wide
# settings with every settings.repositories entry whose pattern matches this
# repository deep-merged over them, the most specific pattern last (so it wins).
settings(policy) := object.get(data.runpolicy.settings, policy, {}) if {
	count(repository_patterns) == 0 # the common case: nothing to merge
} else := object.union_n(array.concat(
	[object.get(_all_settings, policy, {})],
	[object.get(_overrides[pattern], policy, {}) | some pattern in repository_patterns],
))

default _all_settings := {}

_all_settings := data.runpolicy.settings

default _overrides := {}

_overrides := data.runpolicy.settings.repositories

# repository_patterns are the settings.repositories patterns that match
# input.repository.full_name, least specific first: more wildcards is less
# specific, then a shorter pattern is less specific.
repository_patterns := [] if {
	count(_overrides) == 0 # most configurations have none: skip the sort
} else := [pattern |
	some [_, _, pattern] in sort([[0 - _wildcards(p), count(p), p] |
		some p, _ in _overrides
		is_string(p)
		wildcard.matches(p, input.repository.full_name)
	])
]

_wildcards(pattern) := count(pattern) - count(replace(pattern, "*", ""))

# patterns returns the index of the list setting policy.key that applies to
# this repository: test a value against it with in_patterns, or for
# allowed_actions lists with the functions of runpolicy.lib.actions. The
# engine builds every index once per load (see prepared); without it (stock
# opa) each query builds the one it needs.
patterns(policy, key) := index if {
	count(repository_patterns) == 0
	index := data.internal.runpolicy.prepared.lists[policy][key][""]
} else := index if {
	index := data.internal.runpolicy.prepared.lists[policy][key][_scope(policy, key)]
} else := _build_index(policy, key, object.get(settings(policy), key, []))

# in_patterns reports whether value matches an index built by patterns.
in_patterns(index, value) if wildcard.listed(index, value)

# prepared holds the index of every list setting in every scope, keyed
# policy, setting, scope ("" for the organization-wide settings, else the
# settings.repositories pattern). It reads no input: the engine evaluates
# it once per load, through runpolicy.main.prepared.
prepared[policy][key][scope] := _build_index(policy, key, list) if {
	some [scope, policy, key, list] in _lists
}

_lists contains ["", policy, key, list] if {
	some policy, policy_settings in _all_settings
	policy != "repositories"
	some key, list in policy_settings
	is_array(list)
}

_lists contains [pattern, policy, key, list] if {
	some pattern, override in _overrides
	some policy, policy_settings in override
	some key, list in policy_settings
	is_array(list)
}

# _scope is where the value of policy.key in effect comes from: the most
# specific matching repository pattern that sets it, or "".
_scope(policy, key) := "" if {
	count(repository_patterns) == 0
} else := scopes[count(scopes) - 1] if {
	scopes := [pattern |
		some pattern in repository_patterns
		object.get(_overrides[pattern], [policy, key], null) != null
	]
	count(scopes) > 0
} else := ""

# allowed_actions lists take GitHub's action syntax; every other list is
# plain patterns.
_build_index(policy, key, list) := actions.index(list) if {
	policy == "allowed_actions"
	key in {"allow", "pinning_exempt"}
} else := wildcard.index(list)

# finding is a violation or warning about a reference: where it is (job,
# step when it is one, line), the reference as written and the chain that
# led to it, and the message.
finding(use, message) := {
	"job": use.job, "step": use.step, "line": use.line,
	"uses": use.raw, "via": use.via, "message": message,
} if {
	use.step != null
} else := {"job": use.job, "line": use.line, "uses": use.raw, "via": use.via, "message": message}

# chain is the text of a reference with the references that led to it:
# "acme/lint@v2 → reviewdog/action-setup@v1". Each is trimmed as GitHub
# trims it, so that a `uses: |` block scalar keeps the message on one line.
chain(use) := trim_space(use.raw) if {
	count(use.via) == 0
} else := concat(" → ", [trim_space(raw) | some raw in array.concat(use.via, [use.raw])])
