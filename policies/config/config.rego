# METADATA
# title: Settings validation
# description: |-
#   Checks data.runpolicy.settings and the action lists once, when
#   the engine loads a configuration: a typo in a settings file must fail
#   the load, not silently allow runs. Each error is one line naming the
#   setting and what is wrong with it. The settings a policy takes, and
#   their types, are the ones its METADATA declares in custom.settings,
#   which the engine lists at data.internal.runpolicy.declared.
# related_resources:
#   - description: runpolicy settings
#     ref: https://github.com/runpolicy/runpolicy/blob/main/policies/README.md
# schemas:
#   - input: schema.input
package runpolicy.config

import data.runpolicy.lib.actions

errors contains "settings: must be an object of policy names to their settings" if not is_object(_settings)

errors contains sprintf("%s: must be an object of settings, got %s", [where, type_name(value)]) if {
	some [where, _, value] in _scopes
	not is_object(value)
}

errors contains sprintf("%s.mode: must be enforce, dry_run or off, got %v", [where, mode]) if {
	some [where, _, value] in _scopes
	mode := value.mode
	not mode in _modes
}

errors contains sprintf(
	"%s.%s: unknown setting (%s declares %s in its METADATA custom.settings)",
	[where, key, policy, concat(", ", sort(object.keys(declared)))],
) if {
	some [where, policy, value] in _scopes
	is_object(value)
	declared := _declared[policy]
	some key, _ in value
	not declared[key]
}

# Booleans are YAML's: true/false, and unquoted yes/no/on/off, which YAML 1.1
# reads as booleans. A quoted "true" or "no" is a string and is refused, as
# any other value is: guessing what a string means could turn a check off.
errors contains sprintf("%s.%s: must be true or false, got %s", [where, key, _describe(v)]) if {
	some [where, policy, value] in _scopes
	some key, v in value
	_declared[policy][key] == "boolean"
	not is_boolean(v)
}

errors contains sprintf("%s.%s: must be a list of strings, got %v", [where, key, v]) if {
	some [where, policy, value] in _scopes
	some key, v in value
	_declared[policy][key] == "strings"
	not _string_list(v)
}

# The engine checks each exception and drops the entries it names from the
# list at load, once for every repository: an override cannot scope it.
errors contains sprintf(
	"%s.exceptions: exceptions apply organization-wide only (set settings.compromised_actions.exceptions)",
	[where],
) if {
	some [where, "compromised_actions", value] in _scopes
	startswith(where, "settings.repositories")
	value.exceptions
}

errors contains sprintf(
	"%s.pinning_exempt: %q would exempt every action from pinning; list owners or actions instead",
	[where, pattern],
) if {
	some [where, "allowed_actions", value] in _scopes
	some pattern in value.pinning_exempt
	is_string(pattern)
	_exempts_everything(pattern)
}

errors contains sprintf("%s.approved_workflow_sha256: %q is not a SHA-256 digest (64 hex digits)", [where, digest]) if {
	some [where, "secret_exfiltration", value] in _scopes
	some digest in value.approved_workflow_sha256
	not regex.match(`^[0-9a-fA-F]{64}$`, digest)
}

# Repository overrides.

errors contains sprintf(
	"settings.repositories: must be an object of owner/repo patterns to settings, got %s",
	[type_name(_settings.repositories)],
) if {
	not is_object(_settings.repositories)
}

errors contains sprintf(
	"settings.repositories[%q]: must be an object of policy names to their settings, got %s",
	[pattern, type_name(override)],
) if {
	some pattern, override in _repositories
	not is_object(override)
}

errors contains sprintf(
	"settings.repositories[%q]: the pattern must be owner/repo, with * for any run of characters",
	[pattern],
) if {
	some pattern, _ in _repositories
	not regex.match(`^[^/\s]+/[^/\s]+$`, pattern)
}

errors contains sprintf("settings.repositories[%q].repositories: overrides do not nest", [pattern]) if {
	some pattern, override in _repositories
	override.repositories
}

# Settings for a policy that is not loaded are a typo or a missing bundle.
errors contains sprintf("%s: no policy runpolicy.policies.%s is loaded", [where, policy]) if {
	listed := data.internal.runpolicy.packages # the engine lists them; stock opa does not
	packages := {name | some name in listed}
	some [where, policy, _] in _scopes
	not policy in packages
}

# The action lists: the built-in compromised and vulnerable lists and their
# additions. Names are looked up in lowercase, so an entry written with
# capitals would never match.
errors contains sprintf("%s.actions[%q]: action names must be lowercase", [path, name]) if {
	some [path, list] in array.concat(_compromised_lists, _vulnerable_lists)
	some name, _ in object.get(list, "actions", {})
	name != lower(name)
}

errors contains sprintf("%s.actions[%q].%s: must be %s", [path, name, key, kind]) if {
	some [path, list] in _compromised_lists
	some name, entry in object.get(list, "actions", {})
	some key, kind in _entry_keys
	not _has_type(object.get(entry, key, null), kind)
}

# sources may be left out of an addition; when present they must say where
# each fact comes from.
errors contains sprintf(
	"%s.actions[%q].sources: must be a list of {url, commits} objects with https:// addresses",
	[path, name],
) if {
	some [path, list] in _compromised_lists
	some name, entry in object.get(list, "actions", {})
	not _sources(object.get(entry, "sources", []))
}

# compromised.commits maps a malicious commit to the action it belongs to;
# decisions look commits up as GitHub writes them, full and in lower case.
errors contains sprintf("%s.commits[%q]: must be a full lower-case commit SHA", [path, sha]) if {
	some [path, list] in _compromised_lists
	some sha, _ in object.get(list, "commits", {})
	not regex.match(`^[0-9a-f]{40}$`, sha)
}

# The vulnerable lists hold an entry per action and advisory id.
errors contains sprintf("%s.actions[%q]: must be an object of advisory ids to entries", [path, name]) if {
	some [path, list] in _vulnerable_lists
	some name, advisories in object.get(list, "actions", {})
	not is_object(advisories)
}

errors contains sprintf("%s.actions[%q][%q].%s: must be %s", [path, name, id, key, kind]) if {
	some [path, list] in _vulnerable_lists
	some name, advisories in object.get(list, "actions", {})
	is_object(advisories)
	some id, entry in advisories
	some key, kind in _entry_keys
	not _has_type(object.get(entry, key, null), kind)
}

# false is an unquoted `mode: off` read as YAML 1.1 (see runpolicy.main).
_modes := {"enforce", "dry_run", "off", false}

default _settings := {}

_settings := data.runpolicy.settings

# _scopes are the places a policy's settings appear, as [where, policy,
# value]: organization-wide, and in each repository override.
_scopes contains [sprintf("settings.%s", [policy]), policy, value] if {
	is_object(_settings)
	some policy, value in _settings
	policy != "repositories"
}

_scopes contains [sprintf("settings.repositories[%q].%s", [pattern, policy]), policy, value] if {
	some pattern, override in _repositories
	is_object(override)
	some policy, value in override
}

# _declared maps each policy that declares settings in its METADATA to
# their types, mode always among them. A policy that declares none takes
# any setting.
_declared[policy] := object.union({"mode": "mode"}, types) if {
	some policy, types in data.internal.runpolicy.declared
}

# _describe shows a value so that a quoted string reads as one.
_describe(v) := sprintf("the string %q (write it unquoted)", [v]) if {
	is_string(v)
	lower(v) in {"true", "false", "yes", "no", "on", "off", "y", "n"}
} else := sprintf("%v", [v])

_string_list(v) if {
	is_array(v)
	every s in v {
		is_string(s)
	}
}

# _exempts_everything reports whether an entry lists every reference: it
# is tried on references that share no owner, repository, path, ref or
# character class beyond what any name has, so that only an entry made of
# wildcards ("*", "*/*", "*@*", "**/*@*", …) lists them all. A spelling
# list would miss the next spelling.
_exempts_everything(pattern) if {
	index := actions.index([pattern])
	count(actions.listed_refs(index.allow, _generic_refs)) == count(_generic_refs)
}

_generic_refs := [
	{"kind": "action", "name": "q/r", "names": ["q/r", "q/*"], "raw": "q/r@1", "ref": "1"},
	{
		"kind": "action", "name": "zz_0.org/x9/sub/dir",
		"names": ["zz_0.org/x9/sub/dir", "zz_0.org/x9", "zz_0.org/*"],
		"raw": "zz_0.org/x9/sub/dir@main", "ref": "main",
	},
	{
		"kind": "reusable_workflow", "name": "a-b/c-d/.github/workflows/w.yml",
		"names": ["a-b/c-d/.github/workflows/w.yml", "a-b/c-d", "a-b/*"],
		"raw": "a-b/c-d/.github/workflows/w.yml@0123456789abcdef0123456789abcdef01234567",
		"ref": "0123456789abcdef0123456789abcdef01234567",
	},
]

# _repositories are the repository overrides, when they are an object.
default _repositories := {}

_repositories := _settings.repositories if is_object(_settings.repositories)

default _compromised := {}

_compromised := data.runpolicy.compromised

default _compromised_additions := {}

_compromised_additions := data.runpolicy.compromised_additions

default _vulnerable := {}

_vulnerable := data.runpolicy.vulnerable

default _vulnerable_additions := {}

_vulnerable_additions := data.runpolicy.vulnerable_additions

_compromised_lists := [["compromised", _compromised], ["compromised_additions", _compromised_additions]]

_vulnerable_lists := [["vulnerable", _vulnerable], ["vulnerable_additions", _vulnerable_additions]]

_entry_keys := {
	"advisories": "a list of strings",
	"summary": "a string",
	"all_versions": "true or false",
	"commits": "an object of commit SHAs to true",
	"versions": "an object of tags to true",
	"ranges": "a list of {introduced, fixed | last_affected} objects",
}

_has_type(v, "a list of strings") if _string_list(v)

_has_type(v, "a string") if is_string(v)

_has_type(v, "true or false") if is_boolean(v)

_has_type(v, "an object of commit SHAs to true") if {
	is_object(v)
	every sha, _ in v {
		regex.match(`^[0-9a-f]{40}$`, sha)
	}
}

_has_type(v, "an object of tags to true") if is_object(v)

_has_type(v, "a list of {introduced, fixed | last_affected} objects") if {
	is_array(v)
	every range in v {
		is_object(range)
	}
}

_sources(v) if {
	is_array(v)
	every s in v {
		is_object(s)
		startswith(s.url, "https://")
		every sha in object.get(s, "commits", []) {
			regex.match(`^[0-9a-f]{40}$`, sha)
		}
	}
}
