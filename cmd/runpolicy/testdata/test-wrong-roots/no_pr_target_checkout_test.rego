package runpolicy.policies.no_pr_target_checkout_test

import data.runpolicy.policies.no_pr_target_checkout

# Only the fields the policy reads; `opa test` does not check test inputs
# against the schema.
workflow(triggers, inputs) := {
	"workflow": {"triggers": triggers},
	"jobs": {"build": {"steps": [
		{"index": 0, "line": 12, "uses": null},
		{"index": 1, "line": 14, "uses": {"name": "actions/checkout", "raw": "actions/checkout@v4"}, "with": inputs},
	]}},
}

head_sha := {"ref": "${{ github.event.pull_request.head.sha }}"}

test_checkout_of_the_head_sha if {
	no_pr_target_checkout.deny == {{
		"job": "build", "step": 1, "line": 14, "uses": "actions/checkout@v4",
		"message": "job build checks out the pull request head (ref: ${{ github.event.pull_request.head.sha }}) in a pull_request_target workflow, where it runs with this repository's secrets: check out the base branch, or build the pull request in a pull_request workflow",
	}} with input as workflow(["pull_request_target"], head_sha)
}

test_other_ways_to_name_the_head if {
	every inputs in [
		{"ref": "${{ github.head_ref }}"},
		{"ref": "refs/pull/${{ github.event.number }}/merge"},
		{"repository": "${{ github.event.pull_request.head.repo.full_name }}"},
	] {
		count(no_pr_target_checkout.deny) == 1 with input as workflow(["pull_request_target"], inputs)
	}
}

test_base_branch_checkout_passes if {
	count(no_pr_target_checkout.deny) == 0 with input as workflow(["pull_request_target"], {})
	count(no_pr_target_checkout.deny) == 0 with input as workflow(["pull_request_target"], {"ref": "${{ github.event.pull_request.base.sha }}"})
}

test_pull_request_trigger_passes if {
	count(no_pr_target_checkout.deny) == 0 with input as workflow(["pull_request", "push"], head_sha)
}

# Through the aggregator: the policy is found with no registration and its
# mode comes from the settings. The aggregator judges a whole document.
document := {
	"schema_version": 1,
	"event": {"name": "local", "action": "", "delivery_id": ""},
	"repository": {"full_name": "acme/api", "owner": "acme", "name": "api", "default_branch": "main", "visibility": "private", "fork": false},
	"run": {
		"id": 1, "attempt": 1, "number": 1, "event": "pull_request_target", "branch": "main", "head_sha": "",
		"is_default_branch": true, "actor": "octocat", "triggering_actor": "octocat",
		"head_repository": "acme/api", "from_fork": false, "pull_requests": [],
	},
	"workflow": {
		"path": ".github/workflows/label.yml", "name": "Label", "triggers": ["pull_request_target"],
		"sha256": "", "default_branch_sha256": "", "modified": false, "parse_errors": [],
	},
	"jobs": {"build": object.union(workflow(["pull_request_target"], head_sha).jobs.build, {
		"name": "", "line": 8, "container": null, "container_dynamic": false, "services": {},
		"uses": null, "secrets_inherit": false, "secrets": [],
		"runs_on": {
			"labels": ["ubuntu-latest"], "group": null, "dynamic": false, "expression": null,
			"candidates": [{"labels": ["ubuntu-latest"], "group": null}],
		},
		"harden_runner": {"present": false, "first_step": false, "step": null, "egress_policy": null, "use_policy_store": false},
	})},
	"uses": [],
	"runner_labels": ["ubuntu-latest"],
	"secrets": {"names": [], "bulk": false, "inherit": false, "refs": []},
	"workflow_job": null,
	"resolution": null,
}

decision(settings) := d if {
	d := data.runpolicy.main.decision with input as document
		with data.runpolicy.settings.no_pr_target_checkout as settings
}

test_enforced_by_default if {
	d := decision({})
	d.allow == false
	some v in d.violations
	v.policy == "no_pr_target_checkout"
	v.mode == "enforce"
}

test_dry_run_reports_without_blocking if {
	d := decision({"mode": "dry_run"})
	d.allow == true
	some v in d.violations
	v.policy == "no_pr_target_checkout"
	v.mode == "dry_run"
}

test_off if {
	d := decision({"mode": "off"})
	every v in d.violations {
		v.policy != "no_pr_target_checkout"
	}
}
