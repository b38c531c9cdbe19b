# METADATA
# title: Allowed actions
# description: |-
#   Denies a run that uses an action, reusable workflow or docker image (a
#   docker:// step, a job container, a service) the allow list does not
#   allow, and, when pinning is required, one that is not pinned to a full
#   commit SHA (an image to its digest). A container or service image chosen
#   at run time gets a warning. The list takes GitHub's syntax: owner/*,
#   owner/repo (any ref), owner/repo@ref, owner/repo/path/to/workflow.yml@ref,
#   "*" wildcards inside names (space-org*/*), docker://image patterns; an
#   entry starting with "!" blocks and wins over every allow.
# related_resources:
#   - description: GitHub, allowing select actions and reusable workflows to run
#     ref: https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/enabling-features-for-your-repository/managing-github-actions-settings-for-a-repository#allowing-select-actions-and-reusable-workflows-to-run
# custom:
#   settings:
#     - name: mode
#       default: dry_run
#       description: enforce, dry_run or off; dry_run until the organization writes its own list.
#     - name: allow
#       default: [actions/*, github/*, step-security/harden-runner]
#       description: Allow-list patterns; "!" entries block.
#     - name: require_sha_pinning
#       default: false
#       description: Require a full 40-hex commit SHA as ref (an image digest for docker images).
#     - name: pinning_exempt
#       default: []
#       description: Patterns exempt from pinning; "!" entries take the exemption back; an entry that exempts every reference ("*/*", "*@*") is refused.
#     - name: allow_local
#       default: true
#       description: Allow local actions and workflows (./path).
#     - name: include_transitive
#       default: true
#       description: Also judge what composite actions and reusable workflows use.
#     - name: approvable
#       default: true
#       description: |-
#         A maintainer may approve one version of the workflow from a
#         cancelled run's check run, waiving these findings for it.
# schemas:
#   - input: schema.input
package runpolicy.policies.allowed_actions

import data.runpolicy.lib
import data.runpolicy.lib.actions

settings := lib.settings("allowed_actions")

# Every finding locates its reference as lib.finding does: step only when
# the reference is a step. The findings below always carry step (null for a
# job-level workflow call) and deny drops a null one: in OPA this second
# pass costs less than an object.remove or a lib.finding call per finding.
deny contains finding if {
	some finding in findings
	finding.step != null
}

deny contains object.remove(finding, ["step"]) if {
	some finding in findings
	finding.step == null
}

# Each body writes its finding out: [reference, message] pairs that deny
# would then turn into findings cost more per finding.
findings contains {"job": use.job, "step": use.step, "line": use.line, "uses": use.raw, "via": use.via, "message": sprintf(
	"%s is not on the allowed list: add it to allowed_actions.allow or replace it",
	[subject(use)],
)} if {
	some i in unlisted
	use := judged[i]
}

findings contains {"job": use.job, "step": use.step, "line": use.line, "uses": use.raw, "via": use.via, "message": sprintf(
	"%s is blocked by allowed_actions.allow: replace it",
	[subject(use)],
)} if {
	list_kind == "general"
	some i in blocked
	use := judged[i]
	use.kind != "local"
}

findings contains {"job": use.job, "step": use.step, "line": use.line, "uses": use.raw, "via": use.via, "message": sprintf(
	"%s is a local action or workflow and allowed_actions.allow_local is false: move it to an allowed repository",
	[trim_space(use.raw)],
)} if {
	object.get(settings, "allow_local", false) == false # allow_local false or unset: a comparison costs less than a `not`
	some use in input.uses
	use.kind == "local"
	count(use.via) == 0 # a local path inside another action belongs to that action
}

findings contains {"job": use.job, "step": use.step, "line": use.line, "uses": use.raw, "via": use.via, "message": sprintf(
	"%s is not pinned to a full commit SHA: pin it (%s@<40-hex SHA> # %s) or add it to allowed_actions.pinning_exempt",
	[subject(use), use_name(use), use.ref],
)} if {
	settings.require_sha_pinning != false # what a bare ref tests, with fewer allocations in OPA
	some i in unpinned
	use := judged[i]
	use.kind != "docker"
}

# A docker image (a docker:// step, a job container, a service) is pinned
# by its digest, not by a commit.
findings contains {"job": use.job, "step": use.step, "line": use.line, "uses": use.raw, "via": use.via, "message": sprintf(
	"%s is not pinned to an image digest: pin it by digest (docker://%s@sha256:<digest>) or add it to allowed_actions.pinning_exempt",
	[subject(use), use.name],
)} if {
	settings.require_sha_pinning != false
	some i in unpinned
	use := judged[i]
	use.kind == "docker"
}

# A job container or service image an expression chooses at run time
# cannot be judged from the file. (Matrix values the file lists are in
# input.uses, one reference per value.)
warn contains {"job": id, "line": job.line, "message": sprintf(
	"job %s runs container image %s, which is chosen at run time: allowed_actions cannot judge it from the file; write the image, or list its values in the matrix",
	[id, job.container],
)} if {
	some id, job in input.jobs
	job.container_dynamic == true
}

warn contains {"job": id, "line": service.line, "message": sprintf(
	"job %s runs service %s from image %s, which is chosen at run time: allowed_actions cannot judge it from the file; write the image, or list its values in the matrix",
	[id, name, service.image],
)} if {
	some id, job in input.jobs
	some name, service in job.services
	service.dynamic == true
}

# judged are the references this policy looks at: all of them, or with
# include_transitive false the workflow's own. Local ones are among them
# and are skipped where the list judges a reference: allow_local judges
# them. In the common case judged is input.uses itself, which costs
# nothing per reference, where a filtered copy would.
judged := input.uses if {
	settings.include_transitive != false
} else := [use | some use in input.uses; count(use.via) == 0]

# list_kind is "names" when the list only allows, and only by name (exact
# names, owner/*), as the default list and most lists do: a reference's
# names then decide. Any "!", name@ref or other "*" entry makes it
# "general". A string rather than a boolean rule so that neither path
# needs a `not`, which costs more in OPA than a comparison.
list_kind := "names" if {
	count(allow_list.allow.refs) == 0
	count(allow_list.allow.any_ref) + count(allow_list.allow.globs) == 0
	count(allow_list.block.names) == 0
	count(allow_list.block.refs) == 0
	count(allow_list.block.any_ref) + count(allow_list.block.globs) == 0
} else := "general"

# listed_by_name reports whether names, the names table of an index, lists
# one of a reference's names. `names[name] != false` is what a bare ref
# tests, with fewer allocations (see actions.listed_refs).
listed_by_name(names, use_names) if {
	some name in use_names
	names[name] != false
}

# unlisted are the remote references that no entry lists, by index in
# judged. With a list of names only (see list_kind), a reference is
# unlisted when none of its names is listed: one pass over the references,
# most of which end at the lookup of their names. listed_by_name is a call
# per reference, which OPA caches for a reference repeated across jobs: on
# large workflows this costs less than a comprehension per reference, or
# one over all references and their names.
unlisted contains i if {
	list_kind == "names"
	names := allow_list.allow.names
	some i, use in judged
	not listed_by_name(names, use.names)
	use.kind != "local" # tested second: most references are listed, and local ones have no names
}

# With any other list, each half of it is looked up once for all references
# (see actions.listed_refs); a "!" entry wins over every allow. Set
# differences cost less than a `not` per reference.
unlisted contains i if {
	list_kind == "general"
	some i in (({i | some i, use in judged; use.kind != "local"} - allowed) - blocked)
}

# allowed and blocked are the indexes in judged of the references that each
# half of the list lists.
allowed := actions.listed_refs(allow_list.allow, judged)

blocked := actions.listed_refs(allow_list.block, judged)

# unpinned are the allowed references not pinned to a commit SHA and not
# exempt from pinning. A "!" entry of pinning_exempt takes the exemption
# back, as a "!" entry of the allow list blocks.
unpinned := object.keys(unpinned_refs) - (actions.listed_refs(exempt.allow, unpinned_refs) - actions.listed_refs(exempt.block, unpinned_refs))

unpinned_refs := {i: use |
	some i in (allowed - blocked)
	use := judged[i]
	use.kind != "local"
	not use.pinned
}

# subject names a reference in a message: its chain, and for a job
# container or service image which of the two it is, since the file does
# not write it as docker://.
subject(use) := lib.chain(use) if {
	not use.source in {"container", "service"}
} else := sprintf("%s image %s", [use.source, use.raw]) if {
	count(use.via) == 0
} else := sprintf("%s → %s image %s", [concat(" → ", use.via), use.source, use.raw])

use_name(use) := trim_suffix(trim_space(use.raw), concat("", ["@", use.ref]))

# The allow list is indexed (see runpolicy.lib.patterns): a reference costs
# a few lookups whatever the length of the list.
allow_list := lib.patterns("allowed_actions", "allow")

exempt := lib.patterns("allowed_actions", "pinning_exempt")
