# METADATA
# title: Fork runs on self-hosted runners
# description: |-
#   Denies a run whose code comes from a fork when one of its jobs would run
#   on a self-hosted runner. Anyone can open a pull request from a fork, and
#   a self-hosted runner keeps state, credentials and network access between
#   jobs: fork code belongs on GitHub-hosted runners. Forks owned by trusted
#   owners (the organization's own) pass.
# related_resources:
#   - description: GitHub, security hardening for self-hosted runners
#     ref: https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions#hardening-for-self-hosted-runners
# custom:
#   settings:
#     - name: mode
#       default: enforce
#       description: enforce, dry_run or off.
#     - name: self_hosted_labels
#       default: ["self-hosted"]
#       description: Runner labels (case ignored) that mean a self-hosted runner.
#     - name: trusted_fork_owners
#       default: []
#       description: Owners whose forks may use self-hosted runners.
# schemas:
#   - input: schema.input
package runpolicy.policies.fork_runners

# Settings come from data.runpolicy.settings.fork_runners (data.yaml at the
# root of this repository); the defaults below apply when a key is missing.
settings := object.union(
	{"self_hosted_labels": ["self-hosted"], "trusted_fork_owners": []},
	configured,
)

default configured := {}

configured := data.runpolicy.settings.fork_runners

# Lowercased sets, so a label or owner is looked up, not scanned.
self_hosted := {lower(l) | some l in settings.self_hosted_labels}

trusted_owners := {lower(o) | some o in settings.trusted_fork_owners}

fork_owner := lower(split(input.run.head_repository, "/")[0])

untrusted_fork if {
	input.run.from_fork
	not fork_owner in trusted_owners
}

# Labels written in the workflow file.
deny contains {
	"job": id,
	"line": job.line,
	"message": sprintf(
		"job %s would run code from fork %s on self-hosted runner label %q: run fork pull requests on GitHub-hosted runners",
		[id, input.run.head_repository, label],
	),
} if {
	untrusted_fork
	some id, job in input.jobs
	some label in labels(job)
	lower(label) in self_hosted
}

# labels are a job's labels as written and those of every runner its
# matrix values make (runs-on: ${{ matrix.os }}).
labels(job) := {label | some label in job.runs_on.labels} | {label |
	some candidate in object.get(job.runs_on, "candidates", [])
	some label in candidate.labels
}

# Labels GitHub resolved when the job was queued (workflow_job events), which
# also catches labels an expression chose at run time.
deny contains {
	"job": job.name,
	"message": sprintf(
		"job %s was queued from fork %s for self-hosted runner label %q: run fork pull requests on GitHub-hosted runners",
		[job.name, input.run.head_repository, label],
	),
} if {
	untrusted_fork
	job := input.workflow_job
	is_object(job)
	some label in job.labels
	lower(label) in self_hosted
}
