# METADATA
# title: Artifact poisoning
# description: |-
#   Denies a workflow_run job that downloads the artifacts of the run that
#   triggered it into the workspace and then runs a script or a local
#   action. A fork's pull request triggers that run and decides what its
#   artifacts hold; unpacked over the workspace they can replace the
#   scripts, configuration and dependencies the privileged job then runs.
#   Into a folder of the workspace, they count once a script unpacks an
#   archive or runs a file from that folder. Downloading outside the
#   workspace (${{ runner.temp }}) passes.
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
		"job %s, step %d downloads the triggering run's artifacts into the workspace (path: %s), then step %d runs or unpacks what is there: a fork's pull request decides what those files are, and can replace what the job runs. Download into ${{ runner.temp }}/artifacts and read the files as data",
		[id, download.index + 1, object.get(download.with, "path", "not set"), min(runs) + 1],
	),
} if {
	"workflow_run" in input.workflow.triggers
	some id, job in input.jobs
	some download in job.steps
	folder := _destination(download)
	runs := {s.index | some s in job.steps; s.index > download.index; _runs_from(s, folder)}
	count(runs) > 0
}

# _destination is the workspace folder a step downloads another run's
# artifacts into, "" for the workspace itself. Without run-id,
# actions/download-artifact reads the current run's own artifacts.
_destination(step) := _folder(object.get(step.with, "path", "")) if {
	lower(step.uses.name) == "actions/download-artifact"
	step.with["run-id"]
} else := _folder(object.get(step.with, "path", "")) if {
	lower(step.uses.name) == "dawidd6/action-download-artifact"
} else := "" if {
	lower(step.uses.name) == "actions/github-script"
	contains(step.with.script, "downloadArtifact")
	not regex.match(`runner\.temp|RUNNER_TEMP`, step.with.script)
}

# _folder is the workspace folder a path names, "" for the workspace
# itself; undefined outside it (${{ runner.temp }}, $RUNNER_TEMP, /tmp, any
# absolute path).
_folder(path) := "" if {
	_relative(path) in {"", ".", "./"}
} else := trim_suffix(trim_prefix(_relative(path), "./"), "/")

_relative(path) := regex.replace(trim_space(path), `^(\$\{\{\s*github\.workspace\s*\}\}|\$\{?GITHUB_WORKSPACE\}?)/?`, "") if {
	not regex.match(`runner\.temp|RUNNER_TEMP|^\s*[/~]`, path)
}

# In the workspace itself, the files can replace whatever a script or a
# local action runs.
_runs_from(step, "") if step.run

_runs_from(step, "") if step.uses.kind == "local"

# In a folder of it, they matter when a script unpacks an archive or runs a
# file from there.
_runs_from(step, folder) if {
	folder != ""
	contains(step.script.text, folder)
	regex.match(`\b(unzip|7z\s+x|tar\s+(-?[a-zA-Z]*x|--extract))`, step.script.text)
}

_runs_from(step, folder) if {
	folder != ""
	some word in regex.split(`[\s;&|()"'=<>]+`, step.script.text)
	startswith(trim_prefix(word, "./"), concat("", [folder, "/"]))
	regex.match(`\.(sh|bash|js|mjs|cjs|ts|py|rb|pl|ps1)$`, word)
}

_runs_from(step, folder) if {
	folder != ""
	step.uses.kind == "local"
	startswith(trim_prefix(step.uses.name, "./"), concat("", [folder, "/"]))
}
