# METADATA
# title: Impostor commits
# description: |-
#   Denies a run that uses an action or reusable workflow pinned to a commit
#   SHA that no branch and no tag of the named repository contains. GitHub
#   serves a commit of any fork under the parent's name, so
#   owner/repo@<sha> looks pinned while it runs a fork's code: the
#   technique of the tj-actions, reviewdog and trivy compromises. The
#   resolver checks each pinned commit through the GitHub API
#   (uses[].impostor); when it could not finish (uses[].impostor_unverified)
#   the policy warns, or denies with block_unverified.
# related_resources:
#   - description: zizmor impostor-commit audit
#     ref: https://docs.zizmor.sh/audits/#impostor-commit
#   - description: tj-actions/changed-files compromise (GHSA-mrrh-fwg8-r2c3)
#     ref: https://github.com/advisories/GHSA-mrrh-fwg8-r2c3
# custom:
#   settings:
#     - name: mode
#       default: enforce
#     - name: block_unverified
#       type: boolean
#       default: false
#       description: >-
#         deny (instead of warn) when the resolver could not tell whether a pinned commit belongs to the
#         repository
# schemas:
#   - input: schema.input
package runpolicy.policies.impostor_commits

import data.runpolicy.lib

deny contains lib.finding(use, sprintf(
	"%s is pinned to %s, which is on no branch and no tag of %s/%s: it comes from a fork (an impostor commit) and runs code the repository never published. Pin a commit of %s/%s itself",
	[lib.chain(use), _pinned_to(use), use.owner, use.repo, use.owner, use.repo],
)) if {
	some use in input.uses
	use.impostor == true
}

# _pinned_to names what the SHA is: the resolver sets resolved_sha on a
# SHA pin when it is an annotated tag object, to the commit it points to.
_pinned_to(use) := sprintf("annotated tag object %s of commit %s", [lower(use.ref), lower(use.resolved_sha)]) if {
	is_string(use.resolved_sha)
} else := sprintf("commit %s", [lower(use.ref)])

deny contains _unverified(use) if {
	some use in input.uses
	use.impostor_unverified != ""
	lib.settings("impostor_commits").block_unverified
}

warn contains _unverified(use) if {
	some use in input.uses
	use.impostor_unverified != ""
	not lib.settings("impostor_commits").block_unverified
}

_unverified(use) := lib.finding(use, sprintf(
	"could not verify that %s is a commit of %s/%s (%s): an impostor commit from a fork would run unnoticed",
	[lib.chain(use), use.owner, use.repo, use.impostor_unverified],
))
