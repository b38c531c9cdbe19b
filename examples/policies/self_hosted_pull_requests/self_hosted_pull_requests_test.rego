package runpolicy.policies.self_hosted_pull_requests_test

import data.runpolicy.policies.self_hosted_pull_requests

# Only the fields the policy reads, in the input document's shape.
workflow(visibility, triggers, labels) := {
	"event": {"name": "workflow_run"},
	"repository": {"full_name": "acme/api", "visibility": visibility},
	"workflow": {"triggers": triggers},
	"jobs": {"test": job(labels)},
}

job(labels) := {"line": 7, "if": null, "runs_on": {
	"labels": labels, "group": null, "dynamic": false, "expression": null,
	"candidates": [{"labels": labels, "group": null}],
}}

test_self_hosted_on_a_public_pull_request if {
	self_hosted_pull_requests.deny == {{
		"job": "test", "line": 7,
		"message": "job test runs pull_request of public repository acme/api on linux, self-hosted, a runner GitHub does not host: a fork's pull request can run its code there and leave something behind for the next job. Run pull requests on GitHub-hosted runners, or only for branches of the repository (if: github.event.pull_request.head.repo.full_name == github.repository); list the organization's larger runners in self_hosted_pull_requests.hosted_runners",
	}} with input as workflow("public", ["pull_request", "push"], ["self-hosted", "linux"])
}

test_labels if {
	every labels in [["self-hosted"], ["1ES.Pool=vscode"], ["linux.2xlarge"], ["ubuntu-latest", "gpu"], ["Self-Hosted", "${{ inputs.pool }}"]] {
		count(self_hosted_pull_requests.deny) == 1 with input as workflow("public", ["pull_request_target"], labels)
	}
	every labels in [
		["ubuntu-latest"], ["ubuntu-24.04"], ["ubuntu-22.04-arm"], ["ubuntu-slim"], ["Windows-2022"], ["windows-11-arm"],
		["macos-15"], ["macos-latest-xlarge"], ["macos-13-large"], ["${{ matrix.os }}"], [],
		["depot-ubuntu-24.04-4"], ["blacksmith-4vcpu-ubuntu-2404"], ["namespace-profile-default"],
	] {
		count(self_hosted_pull_requests.deny) == 0 with input as workflow("public", ["pull_request"], labels)
	}
}

test_matrix_values_and_groups if {
	doc := json.patch(workflow("public", ["pull_request"], ["${{ matrix.os }}"]), [{"op": "replace", "path": "/jobs/test/runs_on/candidates", "value": [
		{"labels": ["ubuntu-latest"], "group": null},
		{"labels": ["arm64"], "group": null},
	]}])
	some finding in self_hosted_pull_requests.deny with input as doc
	contains(finding.message, " on arm64, a runner")
	group := json.patch(workflow("public", ["pull_request"], []), [{"op": "replace", "path": "/jobs/test/runs_on/candidates/0/group", "value": "gpu-pool"}])
	count(self_hosted_pull_requests.deny) == 1 with input as group
}

test_hosted_runners_setting if {
	count(self_hosted_pull_requests.deny) == 0 with input as workflow("public", ["pull_request"], ["ubuntu-latest-16-cores"])
		with data.runpolicy.settings.self_hosted_pull_requests.hosted_runners as ["ubuntu-latest-*"]
}

test_private_repositories if {
	count(self_hosted_pull_requests.deny) == 0 with input as workflow("private", ["pull_request"], ["self-hosted"])
	count(self_hosted_pull_requests.deny) == 0 with input as workflow("internal", ["pull_request"], ["self-hosted"])
	some finding in self_hosted_pull_requests.deny with input as workflow("internal", ["pull_request"], ["self-hosted"])
		with data.runpolicy.settings.self_hosted_pull_requests.private_repositories as true
	contains(finding.message, "of internal repository acme/api on")
}

test_command_line_judges_as_public if {
	doc := json.patch(workflow("private", ["pull_request"], ["self-hosted"]), [{"op": "replace", "path": "/event/name", "value": "local"}])
	some finding in self_hosted_pull_requests.deny with input as doc
	contains(finding.message, "of this repository (judged as public: the command line cannot tell) on")
}

test_other_triggers_pass if {
	every trigger in ["push", "workflow_dispatch", "issue_comment", "merge_group"] {
		count(self_hosted_pull_requests.deny) == 0 with input as workflow("public", [trigger], ["self-hosted"])
	}
}

test_same_repository_pull_requests_only if {
	doc := json.patch(workflow("public", ["pull_request"], ["self-hosted"]), [{"op": "replace", "path": "/jobs/test/if", "value": "github.event.pull_request.head.repo.full_name == github.repository"}])
	count(self_hosted_pull_requests.deny) == 0 with input as doc
}

test_runner_chosen_at_run_time_warns if {
	doc := json.patch(workflow("public", ["pull_request"], []), [{"op": "replace", "path": "/jobs/test/runs_on", "value": {
		"labels": [], "group": null, "dynamic": true, "expression": "${{ inputs.runner }}", "candidates": [],
	}}])
	self_hosted_pull_requests.warn == {{
		"job": "test", "line": 7,
		"message": "job test runs pull requests on a runner an expression chooses (${{ inputs.runner }}): self_hosted_pull_requests cannot judge it from the file",
	}} with input as doc
	count(self_hosted_pull_requests.deny) == 0 with input as doc
}

# Job negated_guard of cmd/runpolicy/testdata/examples/audit__self_hosted_pull_requests.yml
# as `runpolicy input` writes it (the command line's event and repository,
# judged as public).
negated_guard := {
	"event": {"name": "local", "action": "", "delivery_id": ""},
	"repository": {"full_name": "local/local", "owner": "local", "name": "local", "default_branch": "main", "visibility": "private", "fork": false},
	"workflow": {"triggers": ["pull_request"]},
	"jobs": {
		"negated_guard": {
			"line": 8,
			"if": "!(github.event.pull_request.head.repo.full_name == github.repository)",
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "none", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 5},
			"secrets": [],
			"expressions": [{"field": "if", "text": "!(github.event.pull_request.head.repo.full_name == github.repository)", "contexts": ["github.event.pull_request.head.repo.full_name", "github.repository"], "line": 9}],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 11, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "make", "truncated": false, "shell": null, "working_directory": null, "line": 11}, "if": null, "env": {}, "expressions": []},
			],
			"runs_on": {"labels": ["self-hosted", "linux"], "group": null, "dynamic": false, "expression": null, "candidates": [{"labels": ["self-hosted", "linux"], "group": null}]},
		},
	},
}

# A guard passes the job only when nothing can negate it or let forks in
# beside it. Each if: is written as the normalizer keeps it (raw, ${{ }} and
# a block scalar's newline included). The same lists as pwn_request's test.
test_same_repository_guard if {
	count(self_hosted_pull_requests.deny) == 1 with input as negated_guard
	every condition in same_repository_only {
		count(self_hosted_pull_requests.deny) == 0 with input as json.patch(negated_guard, [{"op": "replace", "path": "/jobs/negated_guard/if", "value": condition}])
	}
	every condition in forks_too {
		count(self_hosted_pull_requests.deny) == 1 with input as json.patch(negated_guard, [{"op": "replace", "path": "/jobs/negated_guard/if", "value": condition}])
	}
}

same_repository_only := [
	"github.event.pull_request.head.repo.full_name == github.repository",
	"${{ github.event.pull_request.head.repo.full_name == github.repository }}",
	"github.repository == github.event.pull_request.head.repo.full_name",
	"GitHub.Event.Pull_Request.Head.Repo.Full_Name == github.repository",
	"${{ github.event.pull_request.head.repo.full_name == github.repository && github.actor != 'dependabot[bot]' }}",
	"(github.event.pull_request.head.repo.full_name == github.repository) && contains(github.event.pull_request.labels.*.name, 'ok')",
	"always() && ((github.event.pull_request.head.repo.full_name == github.repository)) && !startsWith(github.head_ref, 'x[') && github.run_attempt < 3",
	"github.event.pull_request.head.repo.full_name == github.repository && fromJSON(needs.a.outputs.n) > 1",
	# Another event's object is null, and null == 'acme/api' is false: the
	# job never runs.
	"github.event.workflow_run.head_repository.full_name == github.repository",
]

forks_too := [
	"!(github.event.pull_request.head.repo.full_name == github.repository)",
	"${{ !(github.event.pull_request.head.repo.full_name == github.repository) }}",
	"github.event.pull_request.head.repo.full_name != github.repository",
	"(github.event.pull_request.head.repo.full_name == github.repository) == false",
	"!(github.actor == 'x' && github.event.pull_request.head.repo.full_name == github.repository)",
	"github.event.pull_request.head.repo.full_name == github.repository || github.actor == 'x'",
	"${{ github.event.pull_request.head.repo.full_name == github.repository }}\n",
	"${{ github.event.pull_request.head.repo.full_name == github.repository }} && ${{ true }}",
	"github.actor != 'a && github.event.pull_request.head.repo.full_name == github.repository && b'",
	"${{ github.actor != 'a && github.event.pull_request.head.repo.full_name == github.repository && b' }}",
	"${{ true }} && github.event.pull_request.head.repo.full_name == github.repository && ${{ true }}",
	"github.actor == 'x' || github.event_name == 'y' && github.event.pull_request.head.repo.full_name == github.repository",
	"github.event.pull_request.head.repo.fork",
	"github.event.pull_request.head.repo.fork == true",
	"!!github.event.pull_request.head.repo.fork",
	"github.repository == 'acme/app'",
	# The fork flag fails open: a deleted fork's head.repo is null, another
	# event's object too, and !null and null == false are true.
	"!github.event.pull_request.head.repo.fork",
	"github.event.pull_request.head.repo.fork == false",
	"false == github.event.pull_request.head.repo.fork",
	"${{ !github.event.workflow_run.head_repository.fork }}",
	"github.event.workflow_run.head_repository.fork == false",
	# An index holds && of its own: fromJSON('[true,true]')[x] is true
	# whatever x is.
	"${{ fromJSON('[true,true]')[1 && github.event.pull_request.head.repo.full_name == github.repository && 1] }}",
	"fromJSON('[1]')[github.event.pull_request.head.repo.full_name == github.repository && 0]",
	# What the text is not read far enough to judge is refused, even where
	# it would be safe: an index, a string left open, || in parentheses.
	"github.event.pull_request.head.repo.full_name == github.repository && github.event.pull_request.labels[0]",
	"github.actor != 'a && github.event.pull_request.head.repo.full_name == github.repository",
	"github.event.pull_request.head.repo.full_name == github.repository && (github.actor == 'x' || true)",
]
