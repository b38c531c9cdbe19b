# METADATA
# title: Artifact poisoning
# description: |-
#   Denies a workflow_run job that downloads the artifacts of the run that
#   triggered it into the workspace and then runs a script or a local
#   action. A fork's pull request triggers that run and decides what its
#   artifacts hold; unpacked over the workspace they can replace the
#   scripts, configuration and dependencies the privileged job then runs.
#   Into a folder of the workspace, they count once a script unpacks an
#   archive or runs a file from that folder; outside the workspace
#   (${{ runner.temp }}, /tmp), once a script unpacks an archive from there
#   into the workspace or runs a file from there. gh run download counts as
#   a download.
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
		"job %s, step %d downloads the triggering run's artifacts %s (path: %s), then %s: a fork's pull request decides what those files are, and can replace what the job runs. Download into ${{ runner.temp }}/artifacts and read the files as data",
		[id, download.index + 1, _into(place), shown, then],
	),
} if {
	"workflow_run" in input.workflow.triggers
	some id, job in input.jobs
	some download in job.steps
	[place, shown] := _destination(download)
	then := _then(download, place, job)
}

_into(place) := "to a folder outside the workspace" if _outside(place)

_into(place) := "into the workspace" if not _outside(place)

# _then names what uses the files: the rest of the downloading script, else
# the first later step.
_then(download, place, job) := what if {
	_script_uses(_after_gh_download(download.script.text), place)
	what := sprintf("step %d %s in the same script", [download.index + 1, _verb(place)])
} else := sprintf("step %d %s", [min(uses) + 1, _verb(place)]) if {
	uses := {s.index | some s in job.steps; s.index > download.index; _uses(s, place)}
	count(uses) > 0
}

_verb(place) := "unpacks them into the workspace or runs one of them" if _outside(place)

_verb(place) := "runs or unpacks what is there" if not _outside(place)

# _destination is where a step downloads another run's artifacts, with the
# path as written: "" for the workspace, a folder of it ("dist"), or a place
# outside it ("$RUNNER_TEMP/pr", "/tmp/pr"). Without run-id,
# actions/download-artifact reads the current run's own artifacts, and so
# does gh run download $GITHUB_RUN_ID.
_destination(step) := [_place(path), _shown(path)] if {
	lower(step.uses.name) == "actions/download-artifact"
	step.with["run-id"]
	path := object.get(step.with, "path", "")
} else := [_place(path), _shown(path)] if {
	lower(step.uses.name) == "dawidd6/action-download-artifact"
	path := object.get(step.with, "path", "")
} else := [_place(path), "not set"] if {
	lower(step.uses.name) == "actions/github-script"
	contains(step.with.script, "downloadArtifact")
	path := _github_script_path(step.with.script)
} else := [_place(path), _shown(path)] if {
	[command] := regex.find_n(`\bgh\s+run\s+download\b([^\n;&|\\]|\\(.|\n))*`, _norm(step.script.text), 1)
	not regex.match(`github\.run_id|GITHUB_RUN_ID`, command)
	path := _gh_dir(command)
}

_shown("") := "not set"

_shown(path) := path if path != ""

_github_script_path(script) := "$RUNNER_TEMP" if {
	regex.match(`runner\.temp|RUNNER_TEMP`, script)
} else := ""

# gh run download -D DIR, --dir DIR or --dir=DIR; the working directory without.
_gh_dir(command) := dir if {
	[[_, _, dir]] := regex.find_all_string_submatch_n(`\s(-D|--dir)(?:\s+|=)["']?([^\s"';&|]+)`, command, 1)
} else := ""

# _place is a path as this policy compares it: the workspace folder it names,
# "" for the workspace itself; outside it, the path with
# ${{ runner.temp }} and ${RUNNER_TEMP} written $RUNNER_TEMP.
_place(path) := _folder(path) if {
	not _outside(path)
} else := trim_suffix(_norm(trim_space(path)), "/")

_outside(path) if regex.match(`runner\.temp|RUNNER_TEMP|^\s*[/~]`, path)

_norm(text) := regex.replace(text, `\$\{\{\s*(?i:runner\.temp)\s*\}\}|\$\{RUNNER_TEMP\}|\$env:RUNNER_TEMP\b`, "$$RUNNER_TEMP")

_folder(path) := "" if {
	_relative(path) in {"", ".", "./"}
} else := trim_suffix(trim_prefix(_relative(path), "./"), "/")

_relative(path) := regex.replace(trim_space(path), `^(\$\{\{\s*github\.workspace\s*\}\}|\$\{?GITHUB_WORKSPACE\}?)/?`, "")

# _after_gh_download is the script after its gh run download command.
_after_gh_download(text) := substring(text, indexof(text, command) + count(command), -1) if {
	[command] := regex.find_n(`\bgh\s+run\s+download\b([^\n;&|\\]|\\(.|\n))*`, text, 1)
}

# In the workspace itself, the files can replace whatever a script or a
# local action runs.
_uses(step, "") if step.run

_uses(step, "") if step.uses.kind == "local"

_uses(step, place) if {
	place != ""
	_script_uses(step.script.text, place)
}

# A local action from the folder.
_uses(step, folder) if {
	folder != ""
	not _outside(folder)
	step.uses.kind == "local"
	startswith(trim_prefix(step.uses.name, "./"), concat("", [folder, "/"]))
}

# The rest of the downloading script: any command, in the workspace.
_script_uses(text, "") if regex.match(`[^\s;&|]`, regex.replace(text, `(?m)(^|\s)#.*$`, ""))

# In a folder of it, they matter when a script unpacks an archive or runs a
# file from there.
_script_uses(text, folder) if {
	folder != ""
	not _outside(folder)
	contains(text, folder)
	regex.match(`\b(unzip|7z\s+x|tar\s+(-?[a-zA-Z]*x|--extract))`, text)
}

_script_uses(text, place) if {
	place != ""
	some word in regex.split(`[\s;&|()"'=<>]+`, _norm(text))
	_at(trim_prefix(word, "./"), place)
	regex.match(`\.(sh|bash|js|mjs|cjs|ts|py|rb|pl|ps1)$`, word)
}

# Outside the workspace, when a script unpacks an archive from there into
# the workspace (unzip "$RUNNER_TEMP/a/pr.zip" -d .; the working directory
# unless -d, -C or -o names a place outside it) or runs a file from there,
# with an extension or not (bash "$RUNNER_TEMP/a/build", . /tmp/a/env).
_script_uses(text, place) if {
	_outside(place)
	some [command, tool] in regex.find_all_string_submatch_n(`\b(unzip|7z\s+x|tar\s+(?:-?[a-zA-Z]*x|--extract))(?:[^\n;&|\\]|\\(?:.|\n))*`, _norm(text), -1)
	some word in regex.split(`[\s;&|()"'=<>]+`, command)
	_at(word, place)
	not _extracts_outside(command, tool)
}

_script_uses(text, place) if {
	_outside(place)
	some [_, word] in regex.find_all_string_submatch_n(_command_word, _norm(text), -1)
	_at(word, place)
}

# The word a command runs: first in its line or after ;, &, |, (, $( or {,
# past then, do, else, sudo, exec and interpreters (bash, sh, source, .,
# node, python, …) with their options.
_command_word := concat("", [
	`(?m)(?:^|[;&|({]|\$\()\s*`,
	`(?:(?:then|do|else|sudo|exec|bash|sh|zsh|dash|source|\.|node|python3?|ruby|perl|pwsh|deno|bun)\s+(?:-\S+\s+)*)*`,
	`["']?([^\s;&|()"'<>]+)`,
])

_extracts_outside(command, tool) if {
	startswith(tool, "unzip")
	regex.match(`\s-d\s*["']?(\$RUNNER_TEMP|/|~)`, command)
}

_extracts_outside(command, tool) if {
	startswith(tool, "tar")
	regex.match(`(\s-C\s*|--directory(=|\s+))["']?(\$RUNNER_TEMP|/|~)`, command)
}

_extracts_outside(command, tool) if {
	startswith(tool, "7z")
	regex.match(`\s-o["']?(\$RUNNER_TEMP|/|~)`, command)
}

_at(word, place) if word == place

_at(word, place) if startswith(word, concat("", [place, "/"]))
