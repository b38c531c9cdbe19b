package runpolicy.lib_test

import data.runpolicy.fixtures as fx
import data.runpolicy.lib

# Settings and repository overrides.

overrides := {
	"acme/*": {"allowed_actions": {"mode": "enforce", "allow_local": false}},
	"acme/legacy-*": {"allowed_actions": {"mode": "dry_run"}},
	"acme/legacy-api": {"allowed_actions": {"allow": ["acme/*"]}},
	"*/*": {"allowed_actions": {"mode": "off", "allow_local": true, "require_sha_pinning": true}},
	"other/*": {"allowed_actions": {"mode": "enforce"}},
}

repo(full_name) := fx.patched({"repository": object.union(fx.doc.repository, {"full_name": full_name})})

test_settings_without_overrides_are_the_organization_settings if {
	lib.settings("allowed_actions") == data.runpolicy.settings.allowed_actions with input as fx.doc
}

test_settings_of_unknown_policy_are_empty if {
	lib.settings("nope") == {} with input as fx.doc
}

test_settings_without_any_data_are_empty if {
	lib.settings("allowed_actions") == {} with input as fx.doc with data.runpolicy.settings as {}
}

test_most_specific_override_wins if {
	s := lib.settings("allowed_actions") with input as repo("acme/legacy-api")
		with data.runpolicy.settings.repositories as overrides
	s.mode == "dry_run" # acme/legacy-* beats acme/* and */*
	s.allow == ["acme/*"] # acme/legacy-api, the exact name, beats everything
	s.allow_local == false # acme/* beats */*
	s.require_sha_pinning == true # only */* sets it
	s.pinning_exempt == [] # untouched organization setting
}

test_override_order_fewer_wildcards_then_longer if {
	lib.repository_patterns == ["*/*", "acme/*", "acme/legacy-*", "acme/legacy-api"] with input as repo("acme/legacy-api")
		with data.runpolicy.settings.repositories as overrides
}

test_override_patterns_ignore_case if {
	lib.repository_patterns == ["*/*", "acme/*"] with input as repo("ACME/Api")
		with data.runpolicy.settings.repositories as overrides
}

test_non_matching_override_is_ignored if {
	s := lib.settings("allowed_actions") with input as repo("else/x")
		with data.runpolicy.settings.repositories as overrides
	s.mode == "off"
}

# Patterns.

test_patterns_follow_the_override_scope if {
	index := lib.patterns("runner_labels", "allowed") with input as repo("acme/api")
		with data.runpolicy.settings.runner_labels.allowed as ["org-label"]
		with data.runpolicy.settings.repositories as {"acme/*": {"runner_labels": {"allowed": ["acme-label"]}}}
	index.exact == {"acme-label": true}
}

test_patterns_read_the_prepared_index if {
	index := lib.patterns("runner_labels", "allowed") with input as repo("acme/api")
		with data.internal.runpolicy.prepared.lists as {"runner_labels": {"allowed": {"": {"exact": {"from-engine": true}, "globs": []}}}}
	index.exact == {"from-engine": true}
}

test_prepared_holds_every_list_in_every_scope if {
	p := lib.prepared with data.runpolicy.settings as {
		"runner_labels": {"mode": "enforce", "allowed": ["a"]},
		"allowed_actions": {"allow": ["x/*", "!x/bad"]},
		"repositories": {"acme/*": {"runner_labels": {"allowed": ["b-*"]}}},
	}
	p.runner_labels.allowed[""] == {"exact": {"a": true}, "globs": []}
	p.runner_labels.allowed["acme/*"] == {"exact": {}, "globs": ["b-*"]}
	p.allowed_actions.allow[""].allow.names == {"x/*": true}
	p.allowed_actions.allow[""].block.names == {"x/bad": true}
	not p.runner_labels.mode
}

test_prepared_index_equals_the_one_built_per_query if {
	prepared := lib.prepared with input as fx.doc
	every policy, keys in prepared {
		every key, scopes in keys {
			scopes[""] == lib.patterns(policy, key) with input as fx.doc
		}
	}
}

# References.

test_chain_and_finding if {
	use := fx.via(fx.action("reviewdog/action-setup@v1"), ["acme/lint@v2"])
	lib.chain(use) == "acme/lint@v2 → reviewdog/action-setup@v1"
	lib.finding(use, "m") == {"job": "build", "step": 1, "line": 10, "uses": "reviewdog/action-setup@v1", "via": ["acme/lint@v2"], "message": "m"}
}

# GitHub trims uses:, and the normalizer keeps it as written: a block
# scalar's line break must not split the message.
test_chain_trims_each_reference if {
	use := fx.via(object.union(fx.action("reviewdog/action-setup@v1"), {"raw": "reviewdog/action-setup@v1\n"}), [" acme/lint@v2\n"])
	lib.chain(use) == "acme/lint@v2 → reviewdog/action-setup@v1"
	lib.chain(object.union(use, {"via": []})) == "reviewdog/action-setup@v1"
}

test_finding_without_step if {
	use := object.union(fx.action("acme/wf/.github/workflows/x.yml@v1"), {"step": null})
	not lib.finding(use, "m").step
}

test_patterns_read_the_prepared_index_of_the_override_scope if {
	index := lib.patterns("runner_labels", "allowed") with input as repo("acme/api")
		with data.runpolicy.settings.repositories as {"acme/*": {"runner_labels": {"allowed": ["acme-label"]}}}
		with data.internal.runpolicy.prepared.lists as {"runner_labels": {"allowed": {
			"": {"exact": {"org-label": true}, "globs": []},
			"acme/*": {"exact": {"from-engine": true}, "globs": []},
		}}}
	index.exact == {"from-engine": true}
}
