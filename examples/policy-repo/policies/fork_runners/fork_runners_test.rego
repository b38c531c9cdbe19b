package runpolicy.policies.fork_runners_test

import data.runpolicy.policies.fork_runners

# run builds a minimal input: only the fields the policy reads.
run(from_fork, head_repository, labels) := {
	"run": {"from_fork": from_fork, "head_repository": head_repository},
	"jobs": {"build": {"line": 9, "runs_on": {"labels": labels}}},
	"workflow_job": null,
}

test_fork_on_self_hosted_denied if {
	denials := fork_runners.deny with input as run(true, "mallory/api", ["self-hosted", "linux"])
	count(denials) == 1
	some d in denials
	d.job == "build"
	d.line == 9
	contains(d.message, "mallory/api")
	contains(d.message, `"self-hosted"`)
}

test_label_match_ignores_case if {
	count(fork_runners.deny) == 1 with input as run(true, "mallory/api", ["Self-Hosted"])
}

test_fork_on_github_hosted_allowed if {
	count(fork_runners.deny) == 0 with input as run(true, "mallory/api", ["ubuntu-latest"])
}

test_same_repository_on_self_hosted_allowed if {
	count(fork_runners.deny) == 0 with input as run(false, "octo-org/api", ["self-hosted"])
}

# data.yaml in this repository trusts the organization's own forks and adds
# its large-runner label; these two tests read those settings.
test_trusted_owner_fork_allowed if {
	count(fork_runners.deny) == 0 with input as run(true, "octo-org/api-experiments", ["self-hosted"])
}

test_organization_runner_label_from_data_yaml if {
	count(fork_runners.deny) == 1 with input as run(true, "mallory/api", ["octo-linux-xl"])
}

test_settings_override if {
	denials := fork_runners.deny with input as run(true, "octo-org/api-experiments", ["gpu"])
		with data.runpolicy.settings.fork_runners as {"self_hosted_labels": ["gpu"], "trusted_fork_owners": []}
	count(denials) == 1
}

test_queued_job_labels_judged if {
	queued := object.union(run(true, "mallory/api", ["${{ matrix.runner }}"]), {"workflow_job": {
		"id": 1, "name": "build", "labels": ["self-hosted", "x64"],
		"runner_name": "", "runner_group_name": "", "status": "queued",
	}})
	denials := fork_runners.deny with input as queued
	count(denials) == 1
	some d in denials
	contains(d.message, "was queued")
}

test_matrix_candidates_judged if {
	doc := object.union(run(true, "mallory/api", []), {"jobs": {"build": {"runs_on": {"candidates": [
		{"labels": ["ubuntu-latest"], "group": null},
		{"labels": ["self-hosted", "linux"], "group": null},
	]}}}})
	denials := fork_runners.deny with input as doc
	count(denials) == 1
}
