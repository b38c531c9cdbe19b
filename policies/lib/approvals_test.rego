package runpolicy.lib.approvals_test

import data.runpolicy.lib.approvals

approval(policies) := {
	"id": "d-1", "workflow_path": ".github/workflows/ci.yml", "files": {".github/workflows/ci.yml": "aa"},
	"policies": policies, "approver": "mona", "created_at": "2026-01-02T03:04:05Z", "expires_at": "",
}

test_approvable_by_default if {
	approvals.approvable("secret_exfiltration")
	approvals.approvable("harden_runner")
	approvals.approvable("allowed_actions")
	not approvals.approvable("runner_labels")
	not approvals.approvable("workflow_syntax")
}

test_never_approvable_whatever_the_settings if {
	not approvals.approvable("compromised_actions") with data.runpolicy.settings.compromised_actions.approvable as true
	not approvals.approvable("impostor_commits") with data.runpolicy.settings.impostor_commits.approvable as true
}

test_settings_turn_approvable_off if {
	not approvals.approvable("harden_runner") with data.runpolicy.settings.harden_runner.approvable as false
}

test_custom_policy_approvable_when_its_settings_say_so if {
	approvals.approvable("acme_rule") with data.runpolicy.settings.acme_rule.approvable as true
	not approvals.approvable("acme_rule")
}

test_waived_are_approvable_policies_an_approval_names if {
	w := approvals.waived with input as {"approvals": [approval(["secret_exfiltration", "compromised_actions", "runner_labels"])]}
	w == {"secret_exfiltration"}
}

test_nothing_waived_without_approvals if {
	count(approvals.waived) == 0 with input as {}
}
