package runpolicy.policies.write_all_test

import data.runpolicy.policies.write_all

# Only the fields the policy reads, in the input document's shape.
workflow(triggers, permissions) := {
	"workflow": {"triggers": triggers},
	"jobs": {"label": {"line": 8, "permissions": permissions}},
}

declared(all, scopes) := {"source": "job", "all": all, "scopes": scopes, "line": 10}

undeclared := {"source": "default", "all": null, "scopes": null, "line": null}

test_write_all_on_issue_comment if {
	write_all.deny == {{
		"job": "label", "line": 10,
		"message": "job label runs on issue_comment, which anyone can trigger, with a write-all token: a script injection or a compromised action in the job could push code or publish with it. Declare only the scopes the job uses (permissions: {contents: read, issues: write, …}), and write code from workflows outsiders cannot start",
	}} with input as workflow(["issue_comment"], declared("write-all", {"contents": "write", "issues": "write"}))
}

test_tokens if {
	every case in [
		[undeclared, 8, "with the repository's default token (no permissions: declared), which can write everything unless the repository restricts it:"],
		[declared(null, {"contents": "write", "id-token": "write", "issues": "write"}), 10, "with a token that can write contents, id-token:"],
		[declared(null, {"packages": "write"}), 10, "with a token that can write packages:"],
	] {
		[permissions, line, says] := case
		some finding in write_all.deny with input as workflow(["pull_request_target"], permissions)
		finding.line == line
		contains(finding.message, says)
	}
}

test_scopes_such_workflows_exist_for_pass if {
	every scopes in [
		{"issues": "write", "pull-requests": "write"},
		{"checks": "write", "statuses": "write", "discussions": "write"},
		{"contents": "read", "packages": "read"},
		{},
	] {
		count(write_all.deny) == 0 with input as workflow(["issues", "pull_request_target"], declared(null, scopes))
	}
	count(write_all.deny) == 0 with input as workflow(["issues"], declared("read-all", {"contents": "read"}))
}

test_events_anyone_can_trigger if {
	every event in ["pull_request_target", "issue_comment", "issues", "discussion", "discussion_comment", "workflow_run", "watch", "fork"] {
		count(write_all.deny) == 1 with input as workflow(["push", event], undeclared)
	}
}

test_other_events_pass if {
	every event in ["push", "pull_request", "schedule", "workflow_dispatch", "release", "workflow_call", "merge_group"] {
		count(write_all.deny) == 0 with input as workflow([event], declared("write-all", {}))
		count(write_all.deny) == 0 with input as workflow([event], undeclared)
	}
}

test_allowed_write_scopes if {
	permissions := declared(null, {"contents": "write", "id-token": "write"})
	some finding in write_all.deny with input as workflow(["issue_comment"], permissions)
		with data.runpolicy.settings.write_all.allowed_write_scopes as ["contents"]
	contains(finding.message, "can write id-token:")
	count(write_all.deny) == 0 with input as workflow(["issue_comment"], permissions)
		with data.runpolicy.settings.write_all.allowed_write_scopes as ["contents", "id-token"]
}

# cmd/runpolicy/testdata/examples/audit__write_all.yml as `runpolicy input`
# writes it (workflow triggers and the job fields the policy reads).
stars_and_forks := {
	"event": {"name": "local", "action": "", "delivery_id": ""},
	"repository": {"full_name": "local/local", "owner": "local", "name": "local", "default_branch": "main", "visibility": "private", "fork": false},
	"workflow": {"triggers": ["fork", "watch"]},
	"jobs": {
		"ok_read_only": {
			"line": 9,
			"if": null,
			"permissions": {"source": "job", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "read", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "none", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 11},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 12, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "echo thanks", "truncated": false, "shell": null, "working_directory": null, "line": 12}, "if": null, "env": {}, "expressions": []},
			],
		},
		"thank": {
			"line": 6,
			"if": null,
			"permissions": {"source": "default", "scopes": null, "all": null, "line": null},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 8, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "echo thanks", "truncated": false, "shell": null, "working_directory": null, "line": 8}, "if": null, "env": {}, "expressions": []},
			],
		},
	},
}

# Starring (watch) and forking (fork) a public repository start a run with
# the repository's token as configured: anyone can.
test_stars_and_forks if {
	some finding in write_all.deny with input as stars_and_forks
	startswith(finding.message, "job thank runs on fork and watch, which anyone can trigger, with the repository's default token")
	count(write_all.deny) == 1 with input as stars_and_forks
}
