package runpolicy.main_test

import data.runpolicy.fixtures as fx
import data.runpolicy.main

compromised := fx.patched({"uses": [fx.action("tj-actions/changed-files@v44")]})

# The clean fixture has one job without harden-runner: a dry_run finding.
test_dry_run_violations_do_not_block if {
	d := main.decision with input as fx.doc
	d.allow == true
	[[v.policy, v.mode] | some v in d.violations] == [["harden_runner", "dry_run"]]
	d.warnings == []
}

test_enforced_violation_blocks if {
	d := main.decision with input as compromised
	d.allow == false
	some v in d.violations
	v.policy == "compromised_actions"
	v.mode == "enforce"
	v.uses == "tj-actions/changed-files@v44"
	v.advisories == ["GHSA-mrrh-fwg8-r2c3", "CVE-2025-30066"]
}

test_mode_comes_from_settings if {
	d := main.decision with input as compromised
		with data.runpolicy.settings.compromised_actions.mode as "dry_run"
	d.allow == true
	{v.mode | some v in d.violations; v.policy == "compromised_actions"} == {"dry_run"}
}

test_mode_defaults_to_enforce if {
	settings := object.union(object.remove(data.runpolicy.settings, ["harden_runner"]), {"harden_runner": {"target_labels": [], "equivalent_actions": []}})
	d := main.decision with input as fx.doc with data.runpolicy.settings as settings
	d.allow == false
	[v.mode | some v in d.violations] == ["enforce"]
}

test_off_policies_are_not_active if {
	a := main.active with input as fx.doc
		with data.runpolicy.settings.harden_runner.mode as "off"
	not a.harden_runner
	a.compromised_actions == "enforce"
	d := main.decision with input as fx.doc
		with data.runpolicy.settings.harden_runner.mode as "off"
	d.violations == []
}

# An unquoted `mode: off` is the YAML 1.1 boolean false: it switches the
# policy off, organization-wide and in a repository override.
test_unquoted_off_is_off if {
	a := main.active with input as fx.doc
		with data.runpolicy.settings.harden_runner.mode as false
	not a.harden_runner
	a.compromised_actions == "enforce"
	doc := object.union(compromised, {"repository": object.union(fx.doc.repository, {"full_name": "acme/legacy-app"})})
	d := main.decision with input as doc
		with data.runpolicy.settings.repositories as {"acme/legacy-*": {"compromised_actions": {"mode": false}}}
	d.allow == true
	[v | some v in d.violations; v.policy == "compromised_actions"] == []
}

test_repository_override_sets_the_mode if {
	doc := object.union(compromised, {"repository": object.union(fx.doc.repository, {"full_name": "acme/legacy-app"})})
	d := main.decision with input as doc
		with data.runpolicy.settings.repositories as {"acme/legacy-*": {"compromised_actions": {"mode": "dry_run"}}}
	d.allow == true
}

test_user_packages_are_found_without_registration if {
	d := main.decision with input as fx.doc
		with data.runpolicy.policies.team_rules.deny as {{"message": "team says no", "job": "build"}}
	d.allow == false
	{"policy": "team_rules", "mode": "enforce", "message": "team says no", "job": "build"} in d.violations
}

test_user_package_settings_and_string_findings if {
	d := main.decision with input as fx.doc
		with data.runpolicy.policies.team_rules.deny as {"plain string"}
		with data.runpolicy.settings.team_rules.mode as "dry_run"
	{"policy": "team_rules", "mode": "dry_run", "message": "plain string"} in d.violations
	d.allow == true
}

test_string_warnings_become_messages if {
	d := main.decision with input as fx.doc
		with data.runpolicy.policies.team_rules.warn as {"heads up"}
	{"policy": "team_rules", "message": "heads up"} in d.warnings
}

test_engine_package_list_selects_the_policies if {
	names := main.policy_names with data.internal.runpolicy.packages as ["compromised_actions", "team_rules"]
	names == {"compromised_actions", "team_rules"}
	d := main.decision with input as fx.doc with data.internal.runpolicy.packages as ["compromised_actions"]
	d.violations == []
}

test_policy_names_found_in_the_tree if {
	builtin := {"allowed_actions", "compromised_actions", "harden_runner", "impostor_commits", "runner_labels", "secret_exfiltration"}
	builtin - main.policy_names == set()
}

test_warnings_carry_the_policy_and_never_block if {
	doc := fx.patched({"uses": [object.union(fx.action("actions/private@v1"), {"unresolved": "not found"})]})
	d := main.decision with input as doc
	d.allow == true
	[[w.policy, w.uses] | some w in d.warnings] == [["compromised_actions", "actions/private@v1"]]
	d2 := main.decision with input as doc with data.runpolicy.settings.compromised_actions.mode as "off"
	d2.warnings == []
}

test_decision_lists_every_finding_once if {
	d := main.decision with main.violations as {{"policy": "b", "message": "x", "mode": "dry_run"}, {"policy": "a", "message": "m", "mode": "dry_run"}}
		with main.warnings as {{"policy": "c", "message": "w"}}
	d.allow == true
	{v.policy | some v in d.violations} == {"a", "b"}
	count(d.violations) == 2
	d.warnings == [{"policy": "c", "message": "w"}]
}

test_config_errors_come_from_the_config_package if {
	main.config_errors == set()
	main.config_errors == {"settings.runner_labels.mode: must be enforce, dry_run or off, got block"} with data.runpolicy.settings.runner_labels.mode as "block"
}

test_prepared_is_the_index_of_every_list_and_the_modes if {
	main.prepared.lists.runner_labels.allowed[""] == {"exact": {}, "globs": []}
	main.prepared.active == {
		"allowed_actions": "dry_run", "compromised_actions": "enforce", "harden_runner": "dry_run",
		"secret_exfiltration": "enforce",
	} with data.internal.runpolicy.packages as ["allowed_actions", "compromised_actions", "harden_runner", "runner_labels", "secret_exfiltration"]
}

# A policy with nothing to judge under its settings (runner_labels without
# lists) is left out, and none of its rules is evaluated.
test_idle_policies_are_not_active if {
	not main.modes.runner_labels with input as fx.doc
	main.modes.runner_labels == "enforce" with input as fx.doc with data.runpolicy.settings.runner_labels.allowed as ["ubuntu-latest"]
	d := main.decision with input as fx.doc
		with data.runpolicy.policies.runner_labels.idle as true
		with data.runpolicy.policies.runner_labels.deny as {"never evaluated"}
	not "runner_labels" in {v.policy | some v in d.violations}
}

test_active_reads_the_prepared_modes_unless_an_override_applies if {
	main.active == {"compromised_actions": "dry_run"} with input as fx.doc
		with data.internal.runpolicy.prepared.active as {"compromised_actions": "dry_run"}
	a := main.active with input as fx.doc
		with data.internal.runpolicy.prepared.active as {"compromised_actions": "dry_run"}
		with data.runpolicy.settings.repositories as {"acme/*": {"harden_runner": {"mode": "off"}}}
	a.compromised_actions == "enforce"
	not a.harden_runner
}

# An approvable policy's findings say so; a compromised action's never do.
test_findings_say_approvable if {
	d := main.decision with input as compromised
	{[v.policy, object.get(v, "approvable", false)] | some v in d.violations} == {["compromised_actions", false], ["harden_runner", true], ["allowed_actions", true]}
}

approved(policies) := object.union(compromised, {"approvals": [{
	"id": "d-1", "workflow_path": compromised.workflow.path, "files": {}, "policies": policies,
	"approver": "mona", "created_at": "2026-01-02T03:04:05Z", "expires_at": "",
}]})

# An approval waives the findings of the approvable policies it names,
# reported as warnings; never a compromised action's.
test_approval_waives_approvable_findings_only if {
	d := main.decision with input as approved(["harden_runner", "compromised_actions"])
	d.allow == false
	{v.policy | some v in d.violations} == {"compromised_actions", "allowed_actions"}
	[w.policy | some w in d.warnings] == ["harden_runner"]
	startswith(d.warnings[0].message, "approved (the finding is waived): ")
}

test_approval_allows_when_all_waived if {
	d := main.decision with input as approved(["harden_runner", "allowed_actions"])
		with data.runpolicy.settings.compromised_actions.mode as "off"
		with data.runpolicy.settings.harden_runner.mode as "enforce"
		with data.runpolicy.settings.allowed_actions.mode as "enforce"
	d.allow == true
	d.violations == []
}

test_prepared_tags_say_approvable if {
	main.prepared.tags.harden_runner == {"policy": "harden_runner", "mode": "dry_run", "approvable": true}
	main.prepared.tags.compromised_actions == {"policy": "compromised_actions", "mode": "enforce"}
}

test_tags_read_the_prepared_ones_unless_an_override_applies if {
	d := main.decision with input as compromised
		with data.internal.runpolicy.prepared.tags as {"compromised_actions": {"policy": "compromised_actions", "mode": "enforce", "approvable": "prepared"}}
		with data.internal.runpolicy.prepared.active as {"compromised_actions": "enforce"}
	[v.approvable | some v in d.violations] == ["prepared"]
}
