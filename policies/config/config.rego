# METADATA
# title: Settings validation
# description: |-
#   Checks data.runpolicy.settings and the action lists once, when
#   the engine loads a configuration: a typo in a settings file must fail
#   the load, not silently allow runs. Each error is one line naming the
#   setting and what is wrong with it.
# related_resources:
#   - description: runpolicy settings
#     ref: https://github.com/runpolicy/runpolicy/blob/main/policies/README.md
# schemas:
#   - input: schema.input
package runpolicy.config

import data.runpolicy.lib.actions

# known lists every setting of the built-in policies and the type it takes.
known := {
	"compromised_actions": {"mode": "mode", "block_unresolved": "boolean", "exceptions": "exceptions"},
	"impostor_commits": {"mode": "mode", "block_unverified": "boolean"},
	"vulnerable_actions": {"mode": "mode"},
	"secret_exfiltration": {
		"mode": "mode",
		"analyze_default_branch": "boolean",
		"bulk_secrets_only": "boolean",
		"exempt_actors": "strings",
		"ignored_secrets": "strings",
		"approved_workflow_sha256": "strings",
		"approvable": "boolean",
	},
	"allowed_actions": {
		"mode": "mode",
		"allow": "strings",
		"require_sha_pinning": "boolean",
		"pinning_exempt": "strings",
		"allow_local": "boolean",
		"include_transitive": "boolean",
		"approvable": "boolean",
	},
	"runner_labels": {
		"mode": "mode",
		"disallowed": "strings",
		"allowed": "strings",
		"disallowed_groups": "strings",
		"allowed_groups": "strings",
	},
	"harden_runner": {
		"mode": "mode",
		"target_labels": "strings",
		"equivalent_actions": "strings",
		"require_first_step": "boolean",
		"require_policy_store": "boolean",
		"block_job_container": "boolean",
		"approvable": "boolean",
	},
	"workflow_syntax": {"mode": "mode", "strict": "boolean"},
}

# false is an unquoted `mode: off` read as YAML 1.1 (see runpolicy.main.mode_name).
modes := {"enforce", "dry_run", "off", false}

default settings := {}

settings := data.runpolicy.settings

errors contains "settings: must be an object of policy names to their settings" if not is_object(settings)

# scopes are the places a policy's settings appear, as [where, policy, value]:
# organization-wide, and in each repository override.
scopes contains [sprintf("settings.%s", [policy]), policy, value] if {
	is_object(settings)
	some policy, value in settings
	policy != "repositories"
}

scopes contains [sprintf("settings.repositories[%q].%s", [pattern, policy]), policy, value] if {
	some pattern, override in repositories
	is_object(override)
	some policy, value in override
}

errors contains sprintf("%s: must be an object of settings, got %s", [where, type_name(value)]) if {
	some [where, _, value] in scopes
	not is_object(value)
}

errors contains sprintf("%s.mode: must be enforce, dry_run or off, got %v", [where, mode]) if {
	some [where, _, value] in scopes
	mode := value.mode
	not mode in modes
}

errors contains sprintf("%s.%s: unknown setting (%s takes %s)", [where, key, policy, concat(", ", sort(object.keys(known[policy])))]) if {
	some [where, policy, value] in scopes
	known[policy]
	some key, _ in value
	not known[policy][key]
}

# A policy of another bundle whose package annotations declare
# custom.settings takes those (and mode) only: the engine lists them at
# data.runpolicy.declared_settings. One that declares none takes anything.
default declared := {}

declared := data.runpolicy.declared_settings

custom_settings(policy) := object.union({"mode": "mode"}, declared[policy]) if not known[policy]

errors contains sprintf("%s.%s: unknown setting (%s declares %s in its METADATA custom.settings)", [where, key, policy, concat(", ", sort(object.keys(custom_settings(policy))))]) if {
	some [where, policy, value] in scopes
	is_object(value)
	some key, _ in value
	not custom_settings(policy)[key]
}

# setting_type is the type a policy's setting takes.
setting_type(policy, key) := known[policy][key]

setting_type(policy, key) := custom_settings(policy)[key]

# Booleans are YAML's: true/false, and unquoted yes/no/on/off, which YAML 1.1
# reads as booleans. A quoted "true" or "no" is a string and is refused, as
# any other value is: guessing what a string means could turn a check off.
errors contains sprintf("%s.%s: must be true or false, got %s", [where, key, describe(v)]) if {
	some [where, policy, value] in scopes
	some key, v in value
	setting_type(policy, key) == "boolean"
	not is_boolean(v)
}

# describe shows a value so that a quoted string reads as one.
describe(v) := sprintf("the string %q (write it unquoted)", [v]) if {
	is_string(v)
	lower(v) in {"true", "false", "yes", "no", "on", "off", "y", "n"}
} else := sprintf("%v", [v])

errors contains sprintf("%s.%s: must be a list of strings, got %v", [where, key, v]) if {
	some [where, policy, value] in scopes
	some key, v in value
	setting_type(policy, key) == "strings"
	not strings(v)
}

# The engine checks each exception and drops the entries it names from the
# list at load, once for every repository: an override cannot scope it.
errors contains sprintf("%s.exceptions: exceptions apply organization-wide only (set settings.compromised_actions.exceptions)", [where]) if {
	some [where, "compromised_actions", value] in scopes
	startswith(where, "settings.repositories")
	value.exceptions
}

strings(v) if {
	is_array(v)
	every s in v {
		is_string(s)
	}
}

errors contains sprintf("%s.pinning_exempt: %q would exempt every action from pinning; list owners or actions instead", [where, pattern]) if {
	some [where, "allowed_actions", value] in scopes
	some pattern in value.pinning_exempt
	is_string(pattern)
	exempts_everything(pattern)
}

# exempts_everything reports whether an entry lists every reference: it is
# tried on references that share no owner, repository, path, ref or
# character class beyond what any name has, so that only an entry made of
# wildcards ("*", "*/*", "*@*", "**/*@*", …) lists them all. A spelling
# list would miss the next spelling.
exempts_everything(pattern) if {
	index := actions.index([pattern])
	count(actions.listed_refs(index.allow, generic_refs)) == count(generic_refs)
}

generic_refs := [
	{"kind": "action", "name": "q/r", "names": ["q/r", "q/*"], "raw": "q/r@1", "ref": "1"},
	{"kind": "action", "name": "zz_0.org/x9/sub/dir", "names": ["zz_0.org/x9/sub/dir", "zz_0.org/x9", "zz_0.org/*"], "raw": "zz_0.org/x9/sub/dir@main", "ref": "main"},
	{
		"kind": "reusable_workflow", "name": "a-b/c-d/.github/workflows/w.yml",
		"names": ["a-b/c-d/.github/workflows/w.yml", "a-b/c-d", "a-b/*"],
		"raw": "a-b/c-d/.github/workflows/w.yml@0123456789abcdef0123456789abcdef01234567",
		"ref": "0123456789abcdef0123456789abcdef01234567",
	},
]

errors contains sprintf("%s.approved_workflow_sha256: %q is not a SHA-256 digest (64 hex digits)", [where, digest]) if {
	some [where, "secret_exfiltration", value] in scopes
	some digest in value.approved_workflow_sha256
	not regex.match(`^[0-9a-fA-F]{64}$`, digest)
}

# Repository overrides.

errors contains sprintf("settings.repositories: must be an object of owner/repo patterns to settings, got %s", [type_name(settings.repositories)]) if {
	not is_object(settings.repositories)
}

# repositories are the repository overrides, when they are an object.
default repositories := {}

repositories := settings.repositories if is_object(settings.repositories)

errors contains sprintf("settings.repositories[%q]: must be an object of policy names to their settings, got %s", [pattern, type_name(override)]) if {
	some pattern, override in repositories
	not is_object(override)
}

errors contains sprintf("settings.repositories[%q]: the pattern must be owner/repo, with * for any run of characters", [pattern]) if {
	some pattern, _ in repositories
	not regex.match(`^[^/\s]+/[^/\s]+$`, pattern)
}

errors contains sprintf("settings.repositories[%q].repositories: overrides do not nest", [pattern]) if {
	some pattern, override in repositories
	override.repositories
}

# Settings for a policy that is not loaded are a typo or a missing bundle.
# The engine lists the loaded packages in data.runpolicy.packages.
errors contains sprintf("%s: no policy runpolicy.policies.%s is loaded", [where, policy]) if {
	listed := data.runpolicy.packages
	packages := {name | some name in listed}
	some [where, policy, _] in scopes
	not known[policy]
	not policy in packages
}

# The action lists: the built-in compromised and vulnerable lists and their
# additions. Names are looked up in lowercase, so an entry written with
# capitals would never match.

default compromised := {}

compromised := data.runpolicy.compromised

default compromised_additions := {}

compromised_additions := data.runpolicy.compromised_additions

default vulnerable := {}

vulnerable := data.runpolicy.vulnerable

default vulnerable_additions := {}

vulnerable_additions := data.runpolicy.vulnerable_additions

# compromised_lists are [path, list] of the compromised lists.
compromised_lists := [["compromised", compromised], ["compromised_additions", compromised_additions]]

errors contains sprintf("%s.actions[%q]: action names must be lowercase", [path, name]) if {
	some [path, list] in array.concat(compromised_lists, vulnerable_lists)
	some name, _ in object.get(list, "actions", {})
	name != lower(name)
}

errors contains sprintf("%s.actions[%q].%s: must be %s", [path, name, key, kind]) if {
	some [path, list] in compromised_lists
	some name, entry in object.get(list, "actions", {})
	some key, kind in entry_keys
	not has_type(object.get(entry, key, null), kind)
}

# sources may be left out of an addition; when present they must say where
# each fact comes from.
errors contains sprintf("%s.actions[%q].sources: must be %s", [path, name, kind]) if {
	some [path, list] in compromised_lists
	some name, entry in object.get(list, "actions", {})
	kind := "a list of {url, commits} objects with https:// addresses"
	not sources(object.get(entry, "sources", []))
}

# compromised.commits maps a malicious commit to the action it belongs to;
# decisions look commits up as GitHub writes them, full and in lower case.
errors contains sprintf("%s.commits[%q]: must be a full lower-case commit SHA", [path, sha]) if {
	some [path, list] in compromised_lists
	some sha, _ in object.get(list, "commits", {})
	not regex.match(`^[0-9a-f]{40}$`, sha)
}

# The vulnerable lists hold an entry per action and advisory id.
vulnerable_lists := [["vulnerable", vulnerable], ["vulnerable_additions", vulnerable_additions]]

errors contains sprintf("%s.actions[%q]: must be an object of advisory ids to entries", [path, name]) if {
	some [path, list] in vulnerable_lists
	some name, advisories in object.get(list, "actions", {})
	not is_object(advisories)
}

errors contains sprintf("%s.actions[%q][%q].%s: must be %s", [path, name, id, key, kind]) if {
	some [path, list] in vulnerable_lists
	some name, advisories in object.get(list, "actions", {})
	is_object(advisories)
	some id, entry in advisories
	some key, kind in entry_keys
	not has_type(object.get(entry, key, null), kind)
}

entry_keys := {
	"advisories": "a list of strings",
	"summary": "a string",
	"all_versions": "true or false",
	"commits": "an object of commit SHAs to true",
	"versions": "an object of tags to true",
	"ranges": "a list of {introduced, fixed | last_affected} objects",
}

has_type(v, "a list of strings") if strings(v)

has_type(v, "a string") if is_string(v)

has_type(v, "true or false") if is_boolean(v)

has_type(v, "an object of commit SHAs to true") if {
	is_object(v)
	every sha, _ in v {
		regex.match(`^[0-9a-f]{40}$`, sha)
	}
}

has_type(v, "an object of tags to true") if is_object(v)

has_type(v, "a list of {introduced, fixed | last_affected} objects") if {
	is_array(v)
	every range in v {
		is_object(range)
	}
}

sources(v) if {
	is_array(v)
	every s in v {
		is_object(s)
		startswith(s.url, "https://")
		every sha in object.get(s, "commits", []) {
			regex.match(`^[0-9a-f]{40}$`, sha)
		}
	}
}
