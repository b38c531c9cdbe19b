package runpolicy.config_test

import data.runpolicy.config

# declared is what the engine derives from the built-in policies' METADATA
# (data.internal.runpolicy.declared), for the settings these tests use.
declared := {
	"allowed_actions": {
		"mode": "mode", "allow": "strings", "require_sha_pinning": "boolean",
		"pinning_exempt": "strings", "allow_local": "boolean", "include_transitive": "boolean",
		"approvable": "boolean",
	},
	"runner_labels": {
		"mode": "mode", "disallowed": "strings", "allowed": "strings",
		"disallowed_groups": "strings", "allowed_groups": "strings",
	},
}

errors_with(settings) := errs if {
	errs := config.errors with data.runpolicy.settings as object.union(data.runpolicy.settings, settings)
		with data.internal.runpolicy.declared as declared
}

test_defaults_are_valid if {
	config.errors == set()
}

test_settings_must_be_an_object if {
	config.errors == {"settings: must be an object of policy names to their settings"} with data.runpolicy.settings as ["x"]
}

test_policy_settings_must_be_an_object if {
	errors_with({"runner_labels": "enforce"}) == {"settings.runner_labels: must be an object of settings, got string"}
}

test_unknown_mode if {
	errors_with({"harden_runner": {"mode": "enforced"}}) == {"settings.harden_runner.mode: must be enforce, dry_run or off, got enforced"}
	errors_with({"my_policy": {"mode": 1}}) == {"settings.my_policy.mode: must be enforce, dry_run or off, got 1"}
}

test_unknown_setting_of_a_built_in_policy if {
	errors_with({"allowed_actions": {"alow": []}}) == {"settings.allowed_actions.alow: unknown setting (allowed_actions declares allow, allow_local, approvable, include_transitive, mode, pinning_exempt, require_sha_pinning in its METADATA custom.settings)"}
}

test_user_policy_settings_are_free_form if {
	errors_with({"my_policy": {"mode": "dry_run", "anything": [1, 2]}}) == set()
}

test_booleans if {
	errors_with({"allowed_actions": {"allow_local": "yes"}}) == {`settings.allowed_actions.allow_local: must be true or false, got the string "yes" (write it unquoted)`}
	errors_with({"allowed_actions": {"allow_local": "true"}}) == {`settings.allowed_actions.allow_local: must be true or false, got the string "true" (write it unquoted)`}
	errors_with({"allowed_actions": {"allow_local": "maybe"}}) == {"settings.allowed_actions.allow_local: must be true or false, got maybe"}
	errors_with({"allowed_actions": {"allow_local": 1}}) == {"settings.allowed_actions.allow_local: must be true or false, got 1"}
	errors_with({"allowed_actions": {"allow_local": false, "require_sha_pinning": true}}) == set()
}

# `mode: off` unquoted is YAML 1.1's false; `mode: on` (true) names no mode.
test_unquoted_off_is_a_mode if {
	errors_with({"harden_runner": {"mode": false}}) == set()
	errors_with({"my_policy": {"mode": false}}) == set()
	errors_with({"repositories": {"acme/*": {"harden_runner": {"mode": false}}}}) == set()
	errors_with({"harden_runner": {"mode": true}}) == {"settings.harden_runner.mode: must be enforce, dry_run or off, got true"}
}

# A policy of another bundle that declares custom.settings takes those and
# mode; one that declares none takes anything (test_user_policy_settings_are_free_form).
test_declared_settings_of_a_custom_policy if {
	declared := {"team_rules": {"mode": "any", "labels": "any", "strict": "boolean"}}
	config.errors == set() with data.runpolicy.settings as {"team_rules": {"mode": "dry_run", "labels": ["x"], "strict": true}}
		with data.internal.runpolicy.declared as declared
	config.errors == {"settings.team_rules.lables: unknown setting (team_rules declares labels, mode, strict in its METADATA custom.settings)"} with data.runpolicy.settings as {"team_rules": {"lables": ["x"]}}
		with data.internal.runpolicy.declared as declared
	config.errors == {`settings.repositories["acme/*"].team_rules.strict: must be true or false, got the string "no" (write it unquoted)`} with data.runpolicy.settings as {"repositories": {"acme/*": {"team_rules": {"strict": "no"}}}}
		with data.internal.runpolicy.declared as declared
	config.errors == set() with data.runpolicy.settings as {"team_rules": {"mode": "off"}}
		with data.internal.runpolicy.declared as {"team_rules": {}}
}

test_lists_of_strings if {
	errors_with({"allowed_actions": {"allow": "actions/*"}}) == {"settings.allowed_actions.allow: must be a list of strings, got actions/*"}
	errors_with({"runner_labels": {"allowed": ["a", 1]}}) == {`settings.runner_labels.allowed: must be a list of strings, got ["a", 1]`}
}

test_pinning_exempt_cannot_exempt_everything if {
	errors_with({"allowed_actions": {"pinning_exempt": ["actions/*", "*/*"]}}) == {`settings.allowed_actions.pinning_exempt: "*/*" would exempt every action from pinning; list owners or actions instead`}
	every pattern in ["*", "*/*", "*@*", "*/*@*", "**", "**/**", "*/**@*", " * ", "*@"] {
		errors_with({"allowed_actions": {"pinning_exempt": [pattern]}}) == {sprintf(`settings.allowed_actions.pinning_exempt: %q would exempt every action from pinning; list owners or actions instead`, [pattern])}
	}
}

# An entry that leaves some reference out is a real exemption, and a "!"
# entry exempts nothing.
test_pinning_exempt_entries_that_do_not_exempt_everything if {
	every pattern in ["actions/*", "*/checkout", "a*/*", "*@v*", "*/*@main", "*/*/*", "!*", "!*/*", "docker://*", "*-*"] {
		errors_with({"allowed_actions": {"pinning_exempt": [pattern]}}) == set()
	}
}

test_approved_workflow_digests if {
	errors_with({"secret_exfiltration": {"approved_workflow_sha256": [concat("", [x | some x in array.slice(split(sprintf("%064d", [0]), ""), 0, 64)]), "abc"]}}) == {`settings.secret_exfiltration.approved_workflow_sha256: "abc" is not a SHA-256 digest (64 hex digits)`}
}

test_repository_overrides if {
	errors_with({"repositories": {"acme/*": {"allowed_actions": {"mode": "dry_run"}}}}) == set()
	errors_with({"repositories": ["acme/*"]}) == {`settings.repositories: must be an object of owner/repo patterns to settings, got array`}
	errors_with({"repositories": {"acme/*": "dry_run"}}) == {`settings.repositories["acme/*"]: must be an object of policy names to their settings, got string`}
	errors_with({"repositories": {"acme": {}}}) == {`settings.repositories["acme"]: the pattern must be owner/repo, with * for any run of characters`}
	errors_with({"repositories": {"acme/x": {"repositories": {}}}}) == {`settings.repositories["acme/x"].repositories: overrides do not nest`}
}

test_repository_override_settings_are_checked_like_the_organization_ones if {
	errors_with({"repositories": {"acme/*": {"allowed_actions": {"mode": "strict", "allow": "x", "pinning_exempt": ["*/*"]}}}}) == {
		`settings.repositories["acme/*"].allowed_actions.mode: must be enforce, dry_run or off, got strict`,
		`settings.repositories["acme/*"].allowed_actions.allow: must be a list of strings, got x`,
		`settings.repositories["acme/*"].allowed_actions.pinning_exempt: "*/*" would exempt every action from pinning; list owners or actions instead`,
	}
}

test_settings_for_a_policy_that_is_not_loaded if {
	settings := {"alowed_actions": {"mode": "enforce"}, "team_rules": {"mode": "enforce"}}
	config.errors == {"settings.alowed_actions: no policy runpolicy.policies.alowed_actions is loaded"} with data.runpolicy.settings as settings
		with data.internal.runpolicy.packages as ["allowed_actions", "team_rules"]
	config.errors == set() with data.runpolicy.settings as settings
}

# The compromised list.

entry := {
	"advisories": ["GHSA-x"], "summary": "s", "all_versions": false,
	"commits": {"0e58ed8671d6b60d0890c21b07f8835ace038e67": true}, "versions": {"v1": true},
	"ranges": [{"introduced": "0", "fixed": "1.0"}],
}

errors_in_list(actions) := errs if {
	errs := config.errors with data.runpolicy.compromised.actions as actions
}

test_compromised_list_shape if {
	errors_in_list({"acme/x": entry}) == set()
	errors_in_list({"Acme/X": entry}) == {`compromised.actions["Acme/X"]: action names must be lowercase`}
	errors_in_list({"acme/x": object.remove(entry, ["summary"])}) == {`compromised.actions["acme/x"].summary: must be a string`}
	errors_in_list({"acme/x": object.union(entry, {"advisories": "GHSA-x", "all_versions": "yes"})}) == {
		`compromised.actions["acme/x"].advisories: must be a list of strings`,
		`compromised.actions["acme/x"].all_versions: must be true or false`,
	}
	errors_in_list({"acme/x": object.union(entry, {"commits": {"0e58ed8": true}, "versions": ["v1"], "ranges": ["1.0"]})}) == {
		`compromised.actions["acme/x"].commits: must be an object of commit SHAs to true`,
		`compromised.actions["acme/x"].versions: must be an object of tags to true`,
		`compromised.actions["acme/x"].ranges: must be a list of {introduced, fixed | last_affected} objects`,
	}
}

test_compromised_commits_are_full_lower_case_shas if {
	good := "0e58ed8671d6b60d0890c21b07f8835ace038e67"
	config.errors == set() with data.runpolicy.compromised.commits as {good: "acme/x"}
	config.errors == {`compromised.commits["0E58ED8671D6B60D0890C21B07F8835ACE038E67"]: must be a full lower-case commit SHA`} with data.runpolicy.compromised.commits as {upper(good): "acme/x"}
	config.errors == {`compromised.commits["0e58ed8"]: must be a full lower-case commit SHA`} with data.runpolicy.compromised.commits as {"0e58ed8": "acme/x"}
}

# The additions are checked like the built-in list.
test_compromised_additions_shape if {
	config.errors == set() with data.runpolicy.compromised_additions as {"actions": {"acme/x": entry}, "commits": {"0e58ed8671d6b60d0890c21b07f8835ace038e67": "acme/x"}}
	config.errors == {
		`compromised_additions.actions["Acme/X"]: action names must be lowercase`,
		`compromised_additions.actions["acme/x"].ranges: must be a list of {introduced, fixed | last_affected} objects`,
		`compromised_additions.commits["0e58ed8"]: must be a full lower-case commit SHA`,
	} with data.runpolicy.compromised_additions as {"actions": {"Acme/X": entry, "acme/x": object.union(entry, {"ranges": "0"})}, "commits": {"0e58ed8": "acme/x"}}
}

test_sources if {
	good := [{"url": "https://github.com/advisories/GHSA-x", "commits": ["0e58ed8671d6b60d0890c21b07f8835ace038e67"]}, {"url": "https://example.com/report"}]
	errors_in_list({"acme/x": object.union(entry, {"sources": good})}) == set()
	every bad in [
		"https://example.com",
		[{"url": "http://example.com"}],
		[{"commits": []}],
		[{"url": "https://example.com", "commits": ["0e58ed8"]}],
	] {
		errors_in_list({"acme/x": object.union(entry, {"sources": bad})}) == {`compromised.actions["acme/x"].sources: must be a list of {url, commits} objects with https:// addresses`}
	}
}

test_vulnerable_lists_shape if {
	config.errors == set() with data.runpolicy.vulnerable_additions as {"actions": {"acme/x": {"GHSA-x": entry}}}
	for_advisory := {"acme/x": {"GHSA-x": object.remove(entry, ["commits"])}}
	config.errors == {`vulnerable_additions.actions["acme/x"]["GHSA-x"].commits: must be an object of commit SHAs to true`} with data.runpolicy.vulnerable_additions as {"actions": for_advisory}
	config.errors == {`vulnerable.actions["acme/x"]: must be an object of advisory ids to entries`} with data.runpolicy.vulnerable as {"actions": {"acme/x": [entry]}}
	config.errors == {`vulnerable.actions["Acme/X"]: action names must be lowercase`} with data.runpolicy.vulnerable as {"actions": {"Acme/X": {"GHSA-x": entry}}}
}

test_shipped_compromised_list_is_valid if {
	count(data.runpolicy.compromised.actions) >= 10
	config.errors == set()
}

test_compromised_exceptions_are_organization_wide if {
	errors_with({"compromised_actions": {"exceptions": [{"advisory": "GHSA-mrrh-fwg8-r2c3", "reason": "audited"}]}}) == set()
	errs := errors_with({"repositories": {"acme/app": {"compromised_actions": {"exceptions": [{"advisory": "GHSA-mrrh-fwg8-r2c3", "reason": "audited"}]}}}})
	errs == {`settings.repositories["acme/app"].compromised_actions.exceptions: exceptions apply organization-wide only (set settings.compromised_actions.exceptions)`}
}
