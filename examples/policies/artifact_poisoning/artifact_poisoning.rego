# METADATA
# title: Artifact poisoning
# description: |-
#   Denies a workflow_run job that downloads the artifacts of the run that
#   triggered it into the workspace and then runs a script or a local
#   action. A fork's pull request triggers that run and decides what its
#   artifacts hold; unpacked over the workspace they can replace the
#   scripts, configuration and dependencies the privileged job then runs.
#   Downloading into a folder outside the workspace (${{ runner.temp }})
#   passes.
# related_resources:
#   - description: GitHub Security Lab, preventing pwn requests (workflow_run and artifacts)
#     ref: https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/
#   - description: CodeQL, artifact poisoning
#     ref: https://codeql.github.com/codeql-query-help/actions/actions-artifact-poisoning-critical/
# custom:
#   severity: high
#   settings:
#     - name: mode
#       default: dry_run
#       description: enforce, dry_run or off.
# schemas:
#   - input: schema.input
package runpolicy.policies.artifact_poisoning

deny contains {
	"job": id,
	"step": download.index,
	"line": download.line,
	"message": sprintf(
		"job %s, step %d downloads the triggering run's artifacts into the workspace (%s), then step %d runs code there: a fork's pull request decides what those files are, and can replace what the job runs. Download into ${{ runner.temp }}/artifacts and read the files as data",
		[id, download.index + 1, where, min(runs) + 1],
	),
} if {
	"workflow_run" in input.workflow.triggers
	some id, job in input.jobs
	some download in job.steps
	where := _into_workspace(download)
	runs := {s.index | some s in job.steps; s.index > download.index; _runs_code(s)}
	count(runs) > 0
}

# Without run-id, actions/download-artifact reads the current run's own
# artifacts; dawidd6/action-download-artifact reads other runs'.
_into_workspace(step) := _path(step.with) if {
	lower(step.uses.name) == "actions/download-artifact"
	step.with["run-id"]
} else := _path(step.with) if {
	lower(step.uses.name) == "dawidd6/action-download-artifact"
} else := "a file the script writes" if {
	lower(step.uses.name) == "actions/github-script"
	contains(step.with.script, "downloadArtifact")
	not _outside_workspace(step.with.script)
}

_path(inputs) := "path: not set" if {
	not inputs.path
} else := sprintf("path: %s", [inputs.path]) if {
	not _outside_workspace(inputs.path)
}

# ${{ runner.temp }}, $RUNNER_TEMP, process.env.RUNNER_TEMP or /tmp.
_outside_workspace(path) if regex.match(`runner\.temp|RUNNER_TEMP|^\s*/tmp\b`, path)

_runs_code(step) if step.run

_runs_code(step) if step.uses.kind == "local"
