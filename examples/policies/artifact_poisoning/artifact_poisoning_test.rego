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
