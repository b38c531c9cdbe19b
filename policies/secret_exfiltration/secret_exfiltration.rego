# METADATA
# title: Secret exfiltration
# description: |-
#   Denies a run on a branch other than the default branch when its workflow
#   reads secrets and the workflow file, or a local action or reusable
#   workflow of the repository it runs (./ or $/), differs from the default
#   branch's copy (or does not exist there, or could not be compared):
#   whoever can push a branch could otherwise edit what runs to send the
#   repository's secrets anywhere, before any review. Exempt actors and
#   approved file versions pass.
# related_resources:
#   - description: GitHub, security hardening for GitHub Actions
#     ref: https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions
# custom:
#   settings:
#     - name: mode
#       default: enforce
#     - name: analyze_default_branch
#       type: boolean
#       default: false
#       description: judge runs on the default branch too
#     - name: bulk_secrets_only
#       type: boolean
#       default: false
#       description: >-
#         count only `toJSON(secrets)`, `secrets[expr]` and `secrets: inherit`
#     - name: exempt_actors
#       type: strings
#       default: ["dependabot[bot]", "renovate[bot]"]
#       description: logins (patterns) that pass when both the actor and the triggering actor are listed
#     - name: ignored_secrets
#       type: strings
#       default: [GITHUB_TOKEN]
#       description: secret names (patterns, case ignored) that do not count
#     - name: approved_workflow_sha256
#       type: strings
#       default: []
#       description: >-
#         SHA-256 digests of workflow, reusable workflow and action metadata files allowed to run with
#         secrets anywhere; a run passes when every modified file is approved (an unreadable one never is)
#     - name: approvable
#       type: boolean
#       default: true
#       description: >-
#         a maintainer may approve one version of the workflow from a cancelled run's check run, waiving these
#         findings for it
# schemas:
#   - input: schema.input
package runpolicy.policies.secret_exfiltration

import data.runpolicy.lib
import data.runpolicy.lib.approvals

deny contains {
	"message": sprintf(
		"%s on branch %s reads %s and %s: an unreviewed workflow could send them anywhere. Merge the workflow change into %s first%s",
		[
			input.workflow.path, input.run.branch, concat(" and ", _secrets_read), _why_modified,
			input.repository.default_branch, _approval,
		],
	),
	"line": _line,
	"secrets": sort(_counted),
} if {
	input.workflow.modified == true
	true in [input.secrets.inherit, input.secrets.bulk, count(input.secrets.names) > 0]
	_judged_branch
	count(_secrets_read) > 0 # the secrets read by name may all be ignored
	not _exempt_actor
	not _approved_workflow
}

_settings := lib.settings("secret_exfiltration")

_judged_branch if not input.run.is_default_branch

_judged_branch if _settings.analyze_default_branch

# _approved_workflow: every modified file is approved in this version. A
# file that could not be read has no digest and is never approved.
_approved_workflow if {
	count(_settings.approved_workflow_sha256) > 0
	every digest in _modified_digests {
		digest != null
		lib.in_patterns(lib.patterns("secret_exfiltration", "approved_workflow_sha256"), digest)
	}
}

# _modified_digests are the digests of the modified files at the head
# commit: the workflow file alone when the document lists none (a document
# made before modified_files).
_modified_digests := [input.workflow.sha256] if {
	count(input.workflow.modified_files) == 0
} else := [f.sha256 | some f in input.workflow.modified_files]

# _approval tells how to approve what runs, when every modified file could
# be read: with the check run's button when this policy is approvable, or
# in the settings.
default _approval := ""

_approval := sprintf(
	", or approve this version (%sadd %s to secret_exfiltration.approved_workflow_sha256)",
	[_button, _modified_digests[0]],
) if {
	count(_modified_digests) == 1
	_modified_digests[0] != null
} else := sprintf(
	", or approve these versions (%sadd %s to secret_exfiltration.approved_workflow_sha256)",
	[_button, concat(", ", _modified_digests)],
) if {
	every digest in _modified_digests {
		digest != null
	}
}

default _button := ""

_button := "a maintainer clicks \"Approve this version\" in the check run of a run it stopped, or " if {
	approvals.approvable("secret_exfiltration")
}

# _counted are the secrets read by name that count.
_counted := set() if {
	_settings.bulk_secrets_only
} else := {upper(name) |
	ignored := lib.patterns("secret_exfiltration", "ignored_secrets")
	some name in input.secrets.names
	not lib.in_patterns(ignored, name)
}

# _secrets_read describes what the workflow reads, for the message.
_secrets_read := array.concat(
	[sprintf("secrets %s", [concat(", ", sort(_counted))]) | count(_counted) > 0],
	_bulk_text,
)

default _bulk_text := []

_bulk_text := ["every secret (secrets: inherit)"] if {
	input.secrets.inherit
} else := ["every secret (toJSON(secrets) or secrets[…])"] if {
	input.secrets.bulk
}

# _why_modified says what changed: the workflow file, then each local
# action or reusable workflow it runs that is not the default branch's copy.
_why_modified := concat(" and ", array.concat(_file_change, _callee_changes))

# _file_change describes the workflow file itself, when it is modified; a
# document that lists no modified file (made before modified_files) means
# the file.
_file_change := [] if {
	count(input.workflow.modified_files) > 0
	not _workflow_file_modified
} else := ["is new on this branch"] if {
	input.workflow.default_branch_sha256 == null
} else := [sprintf("differs from %s", [input.repository.default_branch])]

_workflow_file_modified if {
	some f in input.workflow.modified_files
	f.uses == ""
}

_callee_changes := [sprintf("runs %s, which %s", [f.path, _change(f)]) |
	some f in input.workflow.modified_files
	f.uses != ""
]

_change(f) := sprintf("differs from %s", [input.repository.default_branch]) if {
	f.change == "differs"
} else := "is new on this branch" if {
	f.change == "new"
} else := sprintf(
	"could not be compared with %s, so counts as modified (%s)",
	[input.repository.default_branch, f.reason],
)

# Exempt only when both the actor and the one who triggered this attempt
# are exempt: a re-run of a bot's run by someone else is not the bot's.
_exempt_actor if {
	exempt := lib.patterns("secret_exfiltration", "exempt_actors")
	lib.in_patterns(exempt, input.run.actor)
	lib.in_patterns(exempt, _triggering_actor)
}

_triggering_actor := input.run.triggering_actor if {
	input.run.triggering_actor != ""
} else := input.run.actor

# _line is the first place the workflow reads a secret that counts: in
# bulk, or by a name in _counted.
default _line := 0

_line := min({ref.line | some ref in input.secrets.refs; ref.bulk} | {ref.line |
	some ref in input.secrets.refs
	_counted[upper(ref.name)]
})
