package runpolicy.policies.artifact_poisoning_test

import data.runpolicy.policies.artifact_poisoning

# Only the fields the policy reads, in the input document's shape: job
# "comment" downloads with a step, then runs a script.
workflow(trigger, download) := {
	"workflow": {"triggers": [trigger]},
	"jobs": {"comment": {"steps": [
		object.union({"index": 0, "line": 9, "run": false}, download),
		run(1, "npm ci && npm run deploy"),
	]}},
}

run(index, text) := {"index": index, "line": 14, "run": true, "uses": null, "script": {"text": text}}

download(name, inputs) := {"uses": {"name": name, "kind": "action"}, "with": inputs}

from_pr := {"name": "pr", "run-id": "${{ github.event.workflow_run.id }}", "github-token": "${{ github.token }}"}

test_download_into_the_workspace if {
	artifact_poisoning.deny == {{
		"job": "comment", "step": 0, "line": 9,
		"message": "job comment, step 1 downloads the triggering run's artifacts into the workspace (path: not set), then step 2 runs or unpacks what is there: a fork's pull request decides what those files are, and can replace what the job runs. Download into ${{ runner.temp }}/artifacts and read the files as data",
	}} with input as workflow("workflow_run", download("actions/download-artifact", from_pr))
}

test_downloads if {
	every case in [
		[download("actions/download-artifact", object.union(from_pr, {"path": "."})), "(path: .)"],
		[download("actions/download-artifact", object.union(from_pr, {"path": "${{ github.workspace }}"})), "(path: ${{ github.workspace }})"],
		[download("dawidd6/action-download-artifact", {"run_id": "${{ github.event.workflow_run.id }}"}), "(path: not set)"],
		[download("dawidd6/action-download-artifact", {"path": "./"}), "(path: ./)"],
		[download("actions/github-script", {"script": "await github.rest.actions.downloadArtifact({…}); fs.writeFileSync(`${process.env.GITHUB_WORKSPACE}/pr.zip`, …)"}), "(path: not set)"],
	] {
		[step, where] := case
		some finding in artifact_poisoning.deny with input as workflow("workflow_run", step)
		contains(finding.message, where)
	}
}

# A folder of the workspace holds the files apart from the job's own, until
# a script unpacks them or runs one.
test_downloads_into_a_folder if {
	into_dist := download("actions/download-artifact", object.union(from_pr, {"path": "./dist/"}))
	every script in ["unzip dist/pr.zip", "tar -xzvf dist/site.tar.gz -C site", "bash ./dist/deploy.sh", "node dist/index.js"] {
		count(artifact_poisoning.deny) == 1 with input as json.patch(workflow("workflow_run", into_dist), [{"op": "replace", "path": "/jobs/comment/steps/1/script/text", "value": script}])
	}
	every script in ["npm ci && npm run deploy", "echo \"id=$(<dist/pr-id.txt)\" >> $GITHUB_OUTPUT", "tar -czf out.tgz dist"] {
		count(artifact_poisoning.deny) == 0 with input as json.patch(workflow("workflow_run", into_dist), [{"op": "replace", "path": "/jobs/comment/steps/1/script/text", "value": script}])
	}
}

test_downloads_outside_the_workspace_pass if {
	every path in ["${{ runner.temp }}/artifacts", "${{runner.temp}}", "$RUNNER_TEMP/pr", "/tmp/pr", "~/pr"] {
		count(artifact_poisoning.deny) == 0 with input as workflow("workflow_run", download("actions/download-artifact", object.union(from_pr, {"path": path})))
	}
	script := "fs.writeFileSync(`${process.env.RUNNER_TEMP}/pr.zip`, (await github.rest.actions.downloadArtifact({…})).data)"
	count(artifact_poisoning.deny) == 0 with input as workflow("workflow_run", download("actions/github-script", {"script": script}))
}

test_own_artifacts_pass if {
	# Without run-id, download-artifact reads this run's artifacts.
	count(artifact_poisoning.deny) == 0 with input as workflow("workflow_run", download("actions/download-artifact", {"name": "dist"}))
}

test_other_triggers_pass if {
	every trigger in ["push", "pull_request", "pull_request_target", "workflow_dispatch"] {
		count(artifact_poisoning.deny) == 0 with input as workflow(trigger, download("actions/download-artifact", from_pr))
	}
}

test_nothing_runs_after_the_download if {
	doc := {
		"workflow": {"triggers": ["workflow_run"]},
		"jobs": {"comment": {"steps": [
			run(0, "make"),
			object.union({"index": 1, "line": 12, "run": false}, download("actions/download-artifact", from_pr)),
			{"index": 2, "line": 16, "run": false, "uses": {"name": "actions/upload-artifact", "kind": "action"}},
		]}},
	}
	count(artifact_poisoning.deny) == 0 with input as doc
	local := json.patch(doc, [{"op": "replace", "path": "/jobs/comment/steps/2/uses/kind", "value": "local"}])
	count(artifact_poisoning.deny) == 1 with input as local
}

# The jobs of cmd/runpolicy/testdata/examples/audit__artifact_poisoning.yml
# as `runpolicy input` writes them (workflow triggers and the job fields the
# policy reads; steps whole): the uses of a pull request's artifacts that the
# policy once missed.
bypass := {
	"event": {"name": "local", "action": "", "delivery_id": ""},
	"repository": {"full_name": "local/local", "owner": "local", "name": "local", "default_branch": "main", "visibility": "private", "fork": false},
	"workflow": {"triggers": ["workflow_run"]},
	"jobs": {
		"gh_same_script": {
			"line": 46,
			"if": null,
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "none", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 8},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 49, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "gh run download ${{ github.event.workflow_run.id }} --dir \"${{ runner.temp }}/pr\"\n. \"$RUNNER_TEMP/pr/env.sh\"\n", "truncated": false, "shell": null, "working_directory": null, "line": 49}, "if": null, "env": {"GH_TOKEN": "${{ github.token }}"}, "expressions": [{"field": "run", "text": "github.event.workflow_run.id", "contexts": ["github.event.workflow_run.id"], "line": 50}, {"field": "run", "text": "runner.temp", "contexts": ["runner.temp"], "line": 50}, {"field": "env.GH_TOKEN", "text": "github.token", "contexts": ["github.token"], "line": 52}]},
			],
		},
		"gh_then_step": {
			"line": 40,
			"if": null,
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "none", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 8},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 43, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "gh run download ${{ github.event.workflow_run.id }} -n pr", "truncated": false, "shell": null, "working_directory": null, "line": 43}, "if": null, "env": {"GH_TOKEN": "${{ github.token }}"}, "expressions": [{"field": "run", "text": "github.event.workflow_run.id", "contexts": ["github.event.workflow_run.id"], "line": 43}, {"field": "env.GH_TOKEN", "text": "github.token", "contexts": ["github.token"], "line": 44}]},
				{"index": 1, "id": "", "name": "", "line": 45, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "npm test", "truncated": false, "shell": null, "working_directory": null, "line": 45}, "if": null, "env": {}, "expressions": []},
			],
		},
		"ok_gh_own_run": {
			"line": 69,
			"if": null,
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "none", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 8},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 72, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "gh run download ${{ github.run_id }} -n dist && npm test", "truncated": false, "shell": null, "working_directory": null, "line": 72}, "if": null, "env": {"GH_TOKEN": "${{ github.token }}"}, "expressions": [{"field": "run", "text": "github.run_id", "contexts": ["github.run_id"], "line": 72}, {"field": "env.GH_TOKEN", "text": "github.token", "contexts": ["github.token"], "line": 73}]},
			],
		},
		"ok_gh_temp": {
			"line": 62,
			"if": null,
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "none", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 8},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 65, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "gh run download ${{ github.event.workflow_run.id }} -D \"$RUNNER_TEMP/pr\" && jq . \"$RUNNER_TEMP/pr/report.json\"", "truncated": false, "shell": null, "working_directory": null, "line": 65}, "if": null, "env": {"GH_TOKEN": "${{ github.token }}"}, "expressions": [{"field": "run", "text": "github.event.workflow_run.id", "contexts": ["github.event.workflow_run.id"], "line": 65}, {"field": "env.GH_TOKEN", "text": "github.token", "contexts": ["github.token"], "line": 66}]},
				{"index": 1, "id": "", "name": "", "line": 67, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "npm test", "truncated": false, "shell": null, "working_directory": null, "line": 67}, "if": null, "env": {}, "expressions": []},
			],
		},
		"ok_temp_data": {
			"line": 54,
			"if": null,
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "none", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 8},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 57, "uses": {"raw": "actions/download-artifact@v4", "kind": "action", "name": "actions/download-artifact", "owner": "actions", "repo": "download-artifact", "path": "", "names": ["actions/download-artifact", "actions/*"], "ref": "v4", "ref_type": "tag_or_branch", "pinned": false, "resolved_sha": null, "job": "ok_temp_data", "step": 0, "line": 57, "source": "step", "via": []}, "run": false, "with": {"github-token": "${{ github.token }}", "path": "${{ runner.temp }}/a", "run-id": "${{ github.event.workflow_run.id }}"}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": null, "if": null, "env": {}, "expressions": [{"field": "with.run-id", "text": "github.event.workflow_run.id", "contexts": ["github.event.workflow_run.id"], "line": 58}, {"field": "with.github-token", "text": "github.token", "contexts": ["github.token"], "line": 58}, {"field": "with.path", "text": "runner.temp", "contexts": ["runner.temp"], "line": 58}]},
				{"index": 1, "id": "", "name": "", "line": 59, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "unzip \"$RUNNER_TEMP/a/pr.zip\" -d \"$RUNNER_TEMP/a\"", "truncated": false, "shell": null, "working_directory": null, "line": 59}, "if": null, "env": {}, "expressions": []},
				{"index": 2, "id": "", "name": "", "line": 60, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "echo \"number=$(cat \"$RUNNER_TEMP/a/pr_number\")\" >> \"$GITHUB_OUTPUT\"", "truncated": false, "shell": null, "working_directory": null, "line": 60}, "if": null, "env": {}, "expressions": []},
				{"index": 3, "id": "", "name": "", "line": 61, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "npm test", "truncated": false, "shell": null, "working_directory": null, "line": 61}, "if": null, "env": {}, "expressions": []},
			],
		},
		"temp_binary": {
			"line": 31,
			"if": null,
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "none", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 8},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 34, "uses": {"raw": "actions/download-artifact@v4", "kind": "action", "name": "actions/download-artifact", "owner": "actions", "repo": "download-artifact", "path": "", "names": ["actions/download-artifact", "actions/*"], "ref": "v4", "ref_type": "tag_or_branch", "pinned": false, "resolved_sha": null, "job": "temp_binary", "step": 0, "line": 34, "source": "step", "via": []}, "run": false, "with": {"github-token": "${{ github.token }}", "path": "${{ runner.temp }}/a", "run-id": "${{ github.event.workflow_run.id }}"}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": null, "if": null, "env": {}, "expressions": [{"field": "with.run-id", "text": "github.event.workflow_run.id", "contexts": ["github.event.workflow_run.id"], "line": 35}, {"field": "with.github-token", "text": "github.token", "contexts": ["github.token"], "line": 35}, {"field": "with.path", "text": "runner.temp", "contexts": ["runner.temp"], "line": 35}]},
				{"index": 1, "id": "", "name": "", "line": 36, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "chmod +x \"${RUNNER_TEMP}/a/build\"\n\"${RUNNER_TEMP}/a/build\" --release\n", "truncated": false, "shell": null, "working_directory": null, "line": 36}, "if": null, "env": {}, "expressions": []},
			],
		},
		"temp_script": {
			"line": 25,
			"if": null,
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "none", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 8},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 28, "uses": {"raw": "actions/download-artifact@v4", "kind": "action", "name": "actions/download-artifact", "owner": "actions", "repo": "download-artifact", "path": "", "names": ["actions/download-artifact", "actions/*"], "ref": "v4", "ref_type": "tag_or_branch", "pinned": false, "resolved_sha": null, "job": "temp_script", "step": 0, "line": 28, "source": "step", "via": []}, "run": false, "with": {"github-token": "${{ github.token }}", "path": "${{ runner.temp }}/a", "run-id": "${{ github.event.workflow_run.id }}"}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": null, "if": null, "env": {}, "expressions": [{"field": "with.run-id", "text": "github.event.workflow_run.id", "contexts": ["github.event.workflow_run.id"], "line": 29}, {"field": "with.github-token", "text": "github.token", "contexts": ["github.token"], "line": 29}, {"field": "with.path", "text": "runner.temp", "contexts": ["runner.temp"], "line": 29}]},
				{"index": 1, "id": "", "name": "", "line": 30, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "bash \"$RUNNER_TEMP/a/script.sh\"", "truncated": false, "shell": null, "working_directory": null, "line": 30}, "if": null, "env": {}, "expressions": []},
			],
		},
		"temp_tar": {
			"line": 18,
			"if": null,
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "none", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 8},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 21, "uses": {"raw": "dawidd6/action-download-artifact@v6", "kind": "action", "name": "dawidd6/action-download-artifact", "owner": "dawidd6", "repo": "action-download-artifact", "path": "", "names": ["dawidd6/action-download-artifact", "dawidd6/*"], "ref": "v6", "ref_type": "tag_or_branch", "pinned": false, "resolved_sha": null, "job": "temp_tar", "step": 0, "line": 21, "source": "step", "via": []}, "run": false, "with": {"path": "/tmp/pr", "workflow": "ci.yml"}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": null, "if": null, "env": {}, "expressions": []},
				{"index": 1, "id": "", "name": "", "line": 23, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "tar -xzf /tmp/pr/site.tgz", "truncated": false, "shell": null, "working_directory": null, "line": 23}, "if": null, "env": {}, "expressions": []},
			],
		},
		"temp_unzip": {
			"line": 11,
			"if": null,
			"permissions": {"source": "workflow", "scopes": {"actions": "none", "artifact-metadata": "none", "attestations": "none", "checks": "none", "contents": "none", "deployments": "none", "discussions": "none", "id-token": "none", "issues": "none", "models": "none", "packages": "none", "pages": "none", "pull-requests": "none", "repository-projects": "none", "security-events": "none", "statuses": "none"}, "all": null, "line": 8},
			"secrets": [],
			"expressions": [],
			"steps": [
				{"index": 0, "id": "", "name": "", "line": 14, "uses": {"raw": "actions/download-artifact@v4", "kind": "action", "name": "actions/download-artifact", "owner": "actions", "repo": "download-artifact", "path": "", "names": ["actions/download-artifact", "actions/*"], "ref": "v4", "ref_type": "tag_or_branch", "pinned": false, "resolved_sha": null, "job": "temp_unzip", "step": 0, "line": 14, "source": "step", "via": []}, "run": false, "with": {"github-token": "${{ github.token }}", "path": "${{ runner.temp }}/a", "run-id": "${{ github.event.workflow_run.id }}"}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": null, "if": null, "env": {}, "expressions": [{"field": "with.run-id", "text": "github.event.workflow_run.id", "contexts": ["github.event.workflow_run.id"], "line": 15}, {"field": "with.github-token", "text": "github.token", "contexts": ["github.token"], "line": 15}, {"field": "with.path", "text": "runner.temp", "contexts": ["runner.temp"], "line": 15}]},
				{"index": 1, "id": "", "name": "", "line": 16, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "unzip -o \"$RUNNER_TEMP/a/pr.zip\" -d .", "truncated": false, "shell": null, "working_directory": null, "line": 16}, "if": null, "env": {}, "expressions": []},
				{"index": 2, "id": "", "name": "", "line": 17, "uses": null, "run": true, "with": {}, "control": "", "parallel_group": null, "background": false, "targets": [], "script": {"text": "npm test", "truncated": false, "shell": null, "working_directory": null, "line": 17}, "if": null, "env": {}, "expressions": []},
			],
		},
	},
}

bypass_job(name) := {"workflow": bypass.workflow, "jobs": {name: bypass.jobs[name]}}

with_script(name, step, text) := json.patch(bypass_job(name), [{"op": "replace", "path": sprintf("/jobs/%s/steps/%d/script/text", [name, step]), "value": text}])

# Outside the workspace, the files count once a script unpacks them into it
# or runs one of them.
test_downloads_outside_the_workspace if {
	every case in [
		["temp_unzip", "(path: ${{ runner.temp }}/a), then step 2 unpacks"],
		["temp_tar", "(path: /tmp/pr), then step 2 unpacks"],
		["temp_script", "(path: ${{ runner.temp }}/a), then step 2 unpacks"],
		["temp_binary", "(path: ${{ runner.temp }}/a), then step 2 unpacks"],
	] {
		[name, what] := case
		some finding in artifact_poisoning.deny with input as bypass_job(name)
		contains(finding.message, concat("", ["step 1 downloads the triggering run's artifacts to a folder outside the workspace ", what]))
	}
	count(artifact_poisoning.deny) == 0 with input as bypass_job("ok_temp_data")
}

test_scripts_after_a_download_outside_the_workspace if {
	every script in [
		`unzip "$RUNNER_TEMP/a/pr.zip"`,
		"unzip ${{ runner.temp }}/a/pr.zip -d site",
		`tar -xf "${RUNNER_TEMP}/a/x.tar" -C .`,
		"7z x $RUNNER_TEMP/a/x.7z",
		`node "$RUNNER_TEMP/a"`,
		"sudo bash $RUNNER_TEMP/a/install",
		"python3 -u $RUNNER_TEMP/a/x.py",
		`cd app && "$RUNNER_TEMP/a/run"`,
		"if true; then $RUNNER_TEMP/a/x; fi",
		"echo start\n. $RUNNER_TEMP/a/env",
	] {
		count(artifact_poisoning.deny) == 1 with input as with_script("temp_unzip", 1, script)
	}
	every script in [
		`unzip "$RUNNER_TEMP/a/pr.zip" -d "$RUNNER_TEMP/a"`,
		`tar -xzf "$RUNNER_TEMP/a/x.tgz" -C /tmp/x`,
		"tar -xzf $RUNNER_TEMP/a/x.tgz --directory=$RUNNER_TEMP/x",
		"7z x $RUNNER_TEMP/a/x.7z -o$RUNNER_TEMP/x",
		`jq . "$RUNNER_TEMP/a/report.json"`,
		`echo "n=$(cat $RUNNER_TEMP/a/n)" >> "$GITHUB_OUTPUT"`,
		"unzip $RUNNER_TEMP/ab/x.zip",
	] {
		count(artifact_poisoning.deny) == 0 with input as with_script("temp_unzip", 1, script)
	}
}

# gh run download is a download; the rest of its script and later steps
# count as for the actions.
test_gh_run_download if {
	some finding in artifact_poisoning.deny with input as bypass_job("gh_then_step")
	contains(finding.message, "step 1 downloads the triggering run's artifacts into the workspace (path: not set), then step 2 runs")
	some same in artifact_poisoning.deny with input as bypass_job("gh_same_script")
	contains(same.message, "to a folder outside the workspace (path: $RUNNER_TEMP/pr), then step 1 unpacks them into the workspace or runs one of them in the same script")
	every script in [
		"gh run download 1 && npm test",
		"gh run download 1 -D out\nbash out/x.sh",
		"gh run download 1 --dir=$RUNNER_TEMP/pr; $RUNNER_TEMP/pr/run",
	] {
		count(artifact_poisoning.deny) == 1 with input as with_script("gh_same_script", 0, script)
	}
	every script in [
		"gh run download ${{ github.run_id }} && npm test",
		`gh run download 1 -D "$RUNNER_TEMP/pr"`,
		"gh run download 1 -D /tmp/pr && cat /tmp/pr/n",
		"gh run download 1 -D out\ncat out/n",
	] {
		count(artifact_poisoning.deny) == 0 with input as with_script("gh_same_script", 0, script)
	}
	count(artifact_poisoning.deny) == 0 with input as bypass_job("ok_gh_temp")
	count(artifact_poisoning.deny) == 0 with input as bypass_job("ok_gh_own_run")
}
