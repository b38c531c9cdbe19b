# METADATA
# title: Write tokens on events anyone can trigger
# description: |-
#   Denies a job of a workflow that anyone can trigger (pull_request_target,
#   issue_comment, issues, discussion, discussion_comment, workflow_run,
#   watch, fork) whose token can change the repository's code, releases,
#   packages or cloud identity: write-all, no permissions declared (the
#   repository's default, which is write-all unless the repository
#   restricts it), or write on contents, actions, packages, deployments,
#   pages, id-token, attestations or security-events, whether the job uses
#   that scope or not (the file cannot show which API calls its scripts and
#   actions make). A script injection or a compromised action in such a job
#   hands that token to an outsider. Writing issues, pull requests,
#   discussions, checks and statuses, which such workflows exist for,
#   passes; so do jobs on push, schedule or workflow_dispatch.
# related_resources:
#   - description: GitHub, controlling permissions for GITHUB_TOKEN
#     ref: https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/controlling-permissions-for-github_token
#   - description: zizmor, excessive-permissions
#     ref: https://docs.zizmor.sh/audits/#excessive-permissions
# custom:
#   severity: medium
#   settings:
#     - name: mode
#       default: dry_run
#       description: enforce, dry_run or off.
#     - name: allowed_write_scopes
#       type: strings
#       default: []
#       description: Scopes such jobs may write all the same (contents for a bot that pushes fixes, say).
# schemas:
#   - input: schema.input
package runpolicy.policies.write_all

import data.runpolicy.lib

deny contains {
	"job": id,
	"line": _line(job),
	"message": sprintf(
		"job %s runs on %s, which anyone can trigger, with %s: a script injection or a compromised action in the job could push code or publish with it. Declare only the scopes the job uses (permissions: {contents: read, issues: write, …}), and write code from workflows outsiders cannot start",
		[id, concat(" and ", sort(events)), token],
	),
} if {
	events := {e | some e in input.workflow.triggers; e in _anyone_can_trigger}
	count(events) > 0
	some id, job in input.jobs
	token := _token(job.permissions)
}

# Events anyone with a GitHub account can cause (starring a repository is
# watch, forking it fork), whose runs get the repository's token as
# configured, not the read-only one of a fork's pull_request.
_anyone_can_trigger := {"pull_request_target", "issue_comment", "issues", "discussion", "discussion_comment", "workflow_run", "watch", "fork"}

# The scopes that change what the repository ships.
_code_scopes := {"actions", "attestations", "contents", "deployments", "id-token", "packages", "pages", "security-events"}

_token(permissions) := "a write-all token" if {
	permissions.all == "write-all"
} else := "the repository's default token (no permissions: declared), which can write everything unless the repository restricts it" if {
	permissions.source == "default"
} else := sprintf("a token that can write %s", [concat(", ", sort(writes))]) if {
	allowed := lib.patterns("write_all", "allowed_write_scopes")
	writes := {scope |
		some scope, access in permissions.scopes
		access == "write"
		scope in _code_scopes
		not lib.in_patterns(allowed, scope)
	}
	count(writes) > 0
}

# The line of the permissions: that apply, else the job's.
_line(job) := job.permissions.line if {
	is_number(job.permissions.line)
} else := job.line
