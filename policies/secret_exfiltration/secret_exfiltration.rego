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
#       description: enforce, dry_run or off.
#     - name: analyze_default_branch
#       default: false
#       description: Judge runs on the default branch too.
#     - name: bulk_secrets_only
#       default: false
#       description: |-
#         Count only bulk access to secrets (toJSON(secrets), secrets[expr],
#         secrets: inherit), not secrets read by name.
#     - name: exempt_actors
#       default: ["dependabot[bot]", "renovate[bot]"]
#       description: Logins whose runs pass when both actor and triggering actor are listed.
#     - name: ignored_secrets
#       default: [GITHUB_TOKEN]
#       description: Secrets that do not count.
#     - name: approved_workflow_sha256
#       default: []
#       description: |-
#         SHA-256 digests of workflow, reusable workflow and action metadata
#         files approved to run anywhere; a run passes when every modified
#         file it runs is approved.
#     - name: approvable
#       default: true
#       description: |-
#         A maintainer may approve one version of the workflow from a
#         cancelled run's check run, waiving these findings for it.
# schemas:
#   - input: schema.input
package runpolicy.policies.secret_exfiltration

import data.runpolicy.lib

settings := lib.settings("secret_exfiltration")

deny contains {
	"message": sprintf(
		"%s on branch %s reads %s and %s: an unreviewed workflow could send them anywhere. Merge the workflow change into %s first%s",
		[input.workflow.path, input.run.branch, concat(" and ", secrets_read), why_modified, input.repository.default_branch, approval],
	),
	"line": line,
	"secrets": named_secrets,
} if {
	# The cheap checks of the input come first, and the message parts are
	# only computed once there is a finding. Most workflows read no secret
	# at all: the input says so without a rule evaluated.
	input.workflow.modified != false # x != false is what a bare x tests, with fewer allocations in OPA
	true in [input.secrets.inherit, input.secrets.bulk, count(input.secrets.names) > 0]
	judged_branch != false
	count(secrets_read) > 0 # the secrets read by name may all be ignored
	not exempt_actor
	not approved_workflow
}

judged_branch if not input.run.is_default_branch

judged_branch if settings.analyze_default_branch

# approved_workflow: every modified file is approved in this version. None
# is by default: counting the setting spares reading its index and a
# lookup. A file that could not be read has no digest and is never approved.
approved_workflow if {
	count(settings.approved_workflow_sha256) > 0
	every digest in modified_digests {
		digest != null
		lib.in_patterns(approved, digest)
	}
}

# modified_digests are the digests of the modified files at the head commit:
# the workflow file alone when the document lists none (a document made
# before modified_files).
modified_digests := [input.workflow.sha256] if {
	count(input.workflow.modified_files) == 0
} else := [f.sha256 | some f in input.workflow.modified_files]

# approval tells how to approve what runs, when every modified file could be
# read.
approval := sprintf(", or approve this version by adding %s to secret_exfiltration.approved_workflow_sha256", modified_digests) if {
	count(modified_digests) == 1
	modified_digests[0] != null
} else := sprintf(", or approve these versions by adding %s to secret_exfiltration.approved_workflow_sha256", [concat(", ", modified_digests)]) if {
	every digest in modified_digests {
		digest != null
	}
} else := ""

approved := lib.patterns("secret_exfiltration", "approved_workflow_sha256")

ignored := lib.patterns("secret_exfiltration", "ignored_secrets")

exempt := lib.patterns("secret_exfiltration", "exempt_actors")

# named_secrets are the secrets read by name that count, sorted for the
# message; counted holds the same names as a set, for lookups.
named_secrets := sort(counted)

counted := set() if {
	settings.bulk_secrets_only != false
} else := {upper(name) |
	some name in input.secrets.names
	not lib.in_patterns(ignored, name)
}

# secrets_read describes what the workflow reads, for the message. The part
# for named secrets is a comprehension: in OPA a rule costs more.
secrets_read := array.concat(
	[sprintf("secrets %s", [concat(", ", named_secrets)]) | count(named_secrets) > 0],
	bulk_text,
)

# bulk_text starts with the usual case, no bulk read: one body evaluated,
# not three.
bulk_text := [] if {
	input.secrets.inherit == false
	input.secrets.bulk == false
} else := ["every secret (secrets: inherit)"] if {
	input.secrets.inherit != false
} else := ["every secret (toJSON(secrets) or secrets[…])"] if {
	input.secrets.bulk != false
} else := []

# why_modified says what changed: the workflow file, then each local action
# or reusable workflow it runs that is not the default branch's copy.
why_modified := concat(" and ", array.concat(file_change, callee_changes))

# file_change describes the workflow file itself, when it is modified; a
# document that lists no modified file (made before modified_files) means
# the file.
file_change := [] if {
	count(input.workflow.modified_files) > 0
	not workflow_file_modified
} else := ["is new on this branch"] if {
	input.workflow.default_branch_sha256 == null
} else := [sprintf("differs from %s", [input.repository.default_branch])]

workflow_file_modified if {
	some f in input.workflow.modified_files
	f.uses == ""
}

callee_changes := [sprintf("runs %s, which %s", [f.path, change(f)]) |
	some f in input.workflow.modified_files
	f.uses != ""
]

change(f) := sprintf("differs from %s", [input.repository.default_branch]) if {
	f.change == "differs"
} else := "is new on this branch" if {
	f.change == "new"
} else := sprintf("could not be compared with %s, so counts as modified (%s)", [input.repository.default_branch, f.reason])

# Exempt only when both the actor and the one who triggered this attempt
# are exempt: a re-run of a bot's run by someone else is not the bot's.
exempt_actor if {
	lib.in_patterns(exempt, input.run.actor)
	lib.in_patterns(exempt, triggering_actor)
}

triggering_actor := input.run.triggering_actor if {
	input.run.triggering_actor != ""
} else := input.run.actor

# line is the first place the workflow reads a secret that counts: in bulk,
# or by a name in counted, bound before the loop (a local costs less to
# look up than a rule). counted is a set: a lookup in it costs the same
# whatever its size, where one in the sorted array would scan it, making
# the rule quadratic in the number of secrets. Two sets, not a rule of two
# bodies: in OPA a rule costs more.
default line := 0

line := min({ref.line | some ref in input.secrets.refs; ref.bulk != false} | {ref.line |
	names := counted
	some ref in input.secrets.refs
	names[upper(ref.name)]
})
