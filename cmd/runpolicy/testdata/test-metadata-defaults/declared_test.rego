package runpolicy.policies.declared_test

import data.runpolicy.policies.declared

# runpolicy test sets the METADATA defaults beneath the settings, as eval does.
test_metadata_defaults if {
	data.runpolicy.settings.declared == {"mode": "dry_run", "teams": ["core"]}
	count(declared.deny) == 0 with input as {"team": "core"}
	count(declared.deny) == 1 with input as {"team": "web"}
}
