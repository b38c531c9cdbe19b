# METADATA
# title: Shared helpers
# description: |-
#   Helpers every runpolicy policy uses: a policy's effective settings for
#   the repository under judgement, indexed pattern lists, and the text and
#   location of an action reference. Action patterns live in
#   runpolicy.lib.actions, version ranges in runpolicy.lib.versions.
# related_resources:
#   - description: runpolicy design, Settings section
#     ref: https://github.com/runpolicy/runpolicy/blob/main/policies/README.md
# schemas:
#   - input: schema.input
package runpolicy.lib

import data.runpolicy.lib.actions

# all_settings is data.runpolicy.settings, or {} when no settings are loaded.
default all_settings := {}

all_settings := data.runpolicy.settings

# settings returns a policy's effective settings: the organization-wide
# settings with every settings.repositories entry whose pattern matches this
# repository deep-merged over them, the most specific pattern last (so it wins).
settings(policy) := object.get(data.runpolicy.settings, policy, {}) if {
	count(repository_patterns) == 0 # the common case: nothing to merge
} else := object.union_n(array.concat(
	[object.get(all_settings, policy, {})],
	[object.get(overrides[pattern], policy, {}) | some pattern in repository_patterns],
))

# overrides are the settings.repositories entries, or {} without any.
default overrides := {}

overrides := data.runpolicy.settings.repositories

# repository_patterns are the settings.repositories patterns that match
# input.repository.full_name, least specific first: more wildcards is less
# specific, then a shorter pattern is less specific.
repository_patterns := [] if {
	count(overrides) == 0 # most configurations have none: skip the sort
} else := [pattern |
	some [_, _, pattern] in sort([[0 - wildcards(p), count(p), p] |
		some p, _ in overrides
		is_string(p)
		matches(p, input.repository.full_name)
	])
]

wildcards(pattern) := count(pattern) - count(replace(pattern, "*", ""))

# Patterns follow GitHub's allow-list syntax: "*" stands for any run of
# characters (slashes included), everything else is literal, case is ignored.

# matches reports whether value matches pattern.
matches(pattern, value) if glob.match(glob_pattern(pattern), null, lower(value))

# glob_pattern turns a pattern into an OPA glob: the text between the "*"s is
# quoted so that "?", "[" or "{" in a label or name stay literal.
glob_pattern(pattern) := concat("*", [glob.quote_meta(part) | some part in split(lower(pattern), "*")])

# List settings (runner labels, actors, action patterns, …) are indexed so
# that a lookup costs the same with 10 entries or 10,000: exact entries
# become object keys and only entries with a "*" are scanned. The indexes
# read no input, so the engine evaluates `prepared` once per load and stores
# it at data.internal.runpolicy.prepared.lists; without it (stock opa) each query builds
# the index it needs.

# patterns returns the index of the list setting policy.key that applies to
# this repository. Test a value against it with in_patterns, or for
# allowed_actions lists with actions.listed.
patterns(policy, key) := index if {
	count(repository_patterns) == 0
	index := data.internal.runpolicy.prepared.lists[policy][key][""]
} else := index if {
	index := data.internal.runpolicy.prepared.lists[policy][key][scope(policy, key)]
} else := build_index(policy, key, object.get(settings(policy), key, []))

# in_patterns reports whether value matches an index built by patterns.
in_patterns(index, value) if index.exact[lower(value)] != false # cheaper than a bare ref (see actions.listed_refs)

in_patterns(index, value) if {
	some g in index.globs
	glob.match(g, null, lower(value))
}

# prepared holds the index of every list setting in every scope, keyed
# policy, setting, scope ("" for the organization-wide settings, else the
# settings.repositories pattern).
prepared[policy][key][scope] := build_index(policy, key, list) if {
	some [scope, policy, key, list] in list_settings
}

list_settings contains ["", policy, key, list] if {
	some policy, policy_settings in all_settings
	policy != "repositories"
	some key, list in policy_settings
	is_array(list)
}

list_settings contains [pattern, policy, key, list] if {
	some pattern, override in overrides
	some policy, policy_settings in override
	some key, list in policy_settings
	is_array(list)
}

# scope is where the value of policy.key in effect comes from: the most
# specific matching repository pattern that sets it, or "".
scope(policy, key) := "" if {
	count(repository_patterns) == 0
} else := scopes[count(scopes) - 1] if {
	scopes := [pattern |
		some pattern in repository_patterns
		object.get(overrides[pattern], [policy, key], null) != null
	]
	count(scopes) > 0
} else := ""

# allowed_actions lists take GitHub's action syntax; every other list is
# plain patterns.
build_index(policy, key, list) := actions.index(list) if {
	policy == "allowed_actions"
	key in {"allow", "pinning_exempt"}
} else := pattern_index(list)

pattern_index(list) := {
	"exact": {lower(p): true | some p in list; not contains(p, "*")},
	"globs": [glob_pattern(p) | some p in list; contains(p, "*")],
}

# chain is the text of a reference with the references that led to it:
# "acme/lint@v2 → reviewdog/action-setup@v1". Each is trimmed as GitHub
# trims it, so that a `uses: |` block scalar keeps the message on one line.
chain(use) := trim_space(use.raw) if {
	count(use.via) == 0
} else := concat(" → ", [trim_space(raw) | some raw in array.concat(use.via, [use.raw])])

# finding is the part of a violation that locates a reference: job, step
# (when it is one), line, the reference as written and its chain.
finding(use) := {"job": use.job, "step": use.step, "line": use.line, "uses": use.raw, "via": use.via} if {
	use.step != null
} else := {"job": use.job, "line": use.line, "uses": use.raw, "via": use.via}
