package runpolicy.policies.runner_labels_test

import data.runpolicy.fixtures as fx
import data.runpolicy.policies.runner_labels

# runs_on is a document whose job "build" runs on labels.
runs_on(labels) := fx.patched({"jobs": {"build": fx.job(labels, [])}})

dynamic_job := object.union(fx.job([], []), {"runs_on": {"labels": [], "group": null, "dynamic": true, "expression": "${{ matrix.os }}"}})

queued(labels) := fx.patched({"workflow_job": {
	"id": 7, "name": "build", "labels": labels,
	"runner_name": "", "runner_group_name": "", "status": "queued",
}})

test_nothing_configured_allows_every_label if {
	count(runner_labels.deny) == 0 with input as runs_on(["self-hosted", "anything"])
}

test_disallowed if {
	runner_labels.deny == {{
		"job": "build", "line": 5,
		"message": "job build runs on \"Self-Hosted\", which runner_labels.disallowed forbids: choose another runner",
	}} with input as runs_on(["Self-Hosted", "linux"])
		with data.runpolicy.settings.runner_labels.disallowed as ["self-hosted"]
}

test_disallowed_patterns if {
	{v.message | some v in runner_labels.deny} == {"job build runs on \"gpu-a100\", which runner_labels.disallowed forbids: choose another runner"} with input as runs_on(["gpu-a100", "ubuntu-latest"])
		with data.runpolicy.settings.runner_labels.disallowed as ["gpu-*"]
}

test_allowed_list if {
	{v.message | some v in runner_labels.deny} == {"job build runs on \"windows-latest\", which is not in runner_labels.allowed (ubuntu-*, macos-14): choose an allowed runner or add the label"} with input as runs_on(["UBUNTU-22.04", "windows-latest", "macos-14"])
		with data.runpolicy.settings.runner_labels.allowed as ["ubuntu-*", "macos-14"]
}

test_dynamic_labels_warn if {
	runner_labels.warn == {{
		"job": "build", "line": 5,
		"message": "job build chooses its runner at run time (${{ matrix.os }}): runner_labels cannot judge it from the file, only when the job is queued",
	}} with input as fx.patched({"jobs": {"build": dynamic_job}})
		with data.runpolicy.settings.runner_labels.disallowed as ["self-hosted"]
	count(runner_labels.deny) == 0 with input as fx.patched({"jobs": {"build": dynamic_job}})
		with data.runpolicy.settings.runner_labels.allowed as ["ubuntu-latest"]
	count(runner_labels.warn) == 1 with input as fx.patched({"jobs": {"build": dynamic_job}})
		with data.runpolicy.settings.runner_labels.allowed as ["ubuntu-latest"]
}

test_dynamic_labels_without_label_settings_are_not_worth_a_warning if {
	count(runner_labels.warn) == 0 with input as fx.patched({"jobs": {"build": dynamic_job}})
}

test_dynamic_labels_without_whole_expression if {
	job := object.union(fx.job(["self-hosted", "pool=${{ inputs.pool }}"], []), {"runs_on": {"labels": ["self-hosted", "pool=${{ inputs.pool }}"], "group": null, "dynamic": true, "expression": null}})
	{v.message | some v in runner_labels.warn} == {"job build chooses its runner at run time (an expression in runs-on): runner_labels cannot judge it from the file, only when the job is queued"} with input as fx.patched({"jobs": {"build": job}})
		with data.runpolicy.settings.runner_labels.allowed as ["linux"]
	{v.message | some v in runner_labels.deny} == {"job build runs on \"self-hosted\", which is not in runner_labels.allowed (linux): choose an allowed runner or add the label"} with input as fx.patched({"jobs": {"build": job}})
		with data.runpolicy.settings.runner_labels.allowed as ["linux"]
}

test_queued_job_judges_resolved_labels if {
	doc := object.union(queued(["self-hosted", "k8s"]), {"jobs": {"build": dynamic_job}})
	runner_labels.deny == {{
		"job": "build",
		"message": "job build runs on \"k8s\", which runner_labels.disallowed forbids: choose another runner",
	}} with input as doc
		with data.runpolicy.settings.runner_labels.disallowed as ["k8s"]
	count(runner_labels.warn) == 0 with input as doc
		with data.runpolicy.settings.runner_labels.disallowed as ["k8s"]
}

test_queued_job_ignores_file_labels if {
	doc := object.union(queued(["ubuntu-latest"]), {"jobs": {"build": fx.job(["k8s"], [])}})
	count(runner_labels.deny) == 0 with input as doc
		with data.runpolicy.settings.runner_labels.disallowed as ["k8s"]
}
