# METADATA
# title: Harden-Runner
# description: |-
#   Denies a targeted job that does not run step-security/harden-runner (or a
#   configured equivalent), which monitors and limits the job's network
#   egress, file and process activity. Optionally it must be the first step,
#   must use the StepSecurity policy store, and the job must not run wholly
#   in a container, where the agent cannot see the steps.
# related_resources:
#   - description: step-security/harden-runner
#     ref: https://github.com/step-security/harden-runner
# custom:
#   settings:
#     - name: mode
#       default: dry_run
#       description: enforce, dry_run or off.
#     - name: target_labels
#       default: []
#       description: Only jobs on a runner with one of these label patterns; empty means every job.
#     - name: equivalent_actions
#       default: []
#       description: Action name patterns that count as harden-runner.
#     - name: require_first_step
#       default: false
#       description: The hardening step must run before anything else - the first step, not in a parallel block, not in the background.
#     - name: require_policy_store
#       default: false
#       description: harden-runner must read its policy from the policy store.
#     - name: block_job_container
#       default: false
#       description: Deny targeted jobs with a job-level container.
#     - name: approvable
#       default: true
#       description: |-
#         A maintainer may approve one version of the workflow from a
#         cancelled run's check run, waiving these findings for it.
# schemas:
#   - input: schema.input
package runpolicy.policies.harden_runner

import data.runpolicy.lib

settings := lib.settings("harden_runner")

equivalents := lib.patterns("harden_runner", "equivalent_actions")

targets := lib.patterns("harden_runner", "target_labels")

deny contains {"job": id, "line": input.jobs[id].line, "message": sprintf(
	"job %s has no step-security/harden-runner step: add \"uses: step-security/harden-runner@<SHA>\" as its first step",
	[id],
)} if {
	some id in unhardened
}

# unhardened are the targeted jobs without a hardening step. Under the
# default settings every job with steps is targeted and harden-runner is
# the only hardening step: the first body judges that case alone, with a
# local set instead of the targeted and hardened rules, which in OPA cost
# more than the loops they wrap, the more so the more jobs. The second body
# judges any other settings. (Without an equivalent_actions setting there
# are none, as in hardening_steps: hence object.get.)
unhardened contains id if {
	count(settings.target_labels) == 0
	count(object.get(settings, "equivalent_actions", [])) == 0
	with_harden_runner := {id |
		some id, job in input.jobs
		some step in job.steps
		step.uses.names[0] == "step-security/harden-runner" # undefined for a run: step, so no `!= null` test per step
	}
	some id, job in input.jobs
	hardened_job := id in with_harden_runner # a membership test and a comparison cost less than a `not` per job
	hardened_job == false
	count(job.steps) > 0
}

unhardened contains id if {
	count(settings.target_labels) + count(object.get(settings, "equivalent_actions", [])) > 0
	some id, _ in targeted
	not hardened[id]
}

deny contains {"job": id, "step": first, "line": input.jobs[id].steps[first].line, "message": message} if {
	settings.require_first_step != false # what a bare ref tests, with fewer allocations in OPA
	some id, first in first_hardening_step
	message := not_first(id, first)
}

# not_first says why a job's first hardening step does not run before
# everything else, and is undefined when it does: it must be at index 0 (steps
# are numbered flat, a parallel block before the steps it runs), neither
# inside a parallel block, whose steps start together, nor in the
# background, which the steps after it do not wait for.
not_first(id, first) := sprintf(
	"job %s runs harden-runner as step %d, inside the parallel block at step %d whose other steps start with it: move it before the block, as the job's first step",
	[id, first + 1, group + 1], # people count steps from 1; index counts from 0
) if {
	group := input.jobs[id].steps[first].parallel_group
	group != null
} else := sprintf(
	"job %s runs harden-runner in the background (step 1): the steps after it start before it is ready; remove background: true",
	[id],
) if {
	first == 0
	input.jobs[id].steps[0].background == true
} else := sprintf(
	"job %s runs harden-runner as step %d, not first: move it to the top so it monitors every step",
	[id, first + 1],
) if {
	first != 0
}

deny contains {"job": id, "line": job.line, "message": sprintf(
	"job %s runs harden-runner without the policy store: configure its with: inputs to fetch the egress policy from the StepSecurity policy store",
	[id],
)} if {
	settings.require_policy_store != false
	some id, job in targeted
	job.harden_runner.present
	not job.harden_runner.use_policy_store
}

deny contains {"job": id, "line": job.line, "message": sprintf(
	"job %s runs in container %q, where harden-runner cannot monitor its steps: run the steps on the runner, or start the container from a step",
	[id, job.container],
)} if {
	settings.block_job_container != false
	some id, job in targeted
	job.container != null
}

# targeted are the jobs with steps (a job that only calls a reusable
# workflow has none) whose runner matches target_labels, or all of them
# when target_labels is empty.
targeted := {id: job |
	some id, job in input.jobs
	count(job.steps) > 0
} if {
	count(settings.target_labels) == 0
} else := {id: job |
	some id, job in input.jobs
	count(job.steps) > 0
	on_target(job)
}

on_target(job) if {
	some label in job.runs_on.labels
	lib.in_patterns(targets, label)
}

# A job whose runs-on reads matrix values is on target when one of the
# runners it can run on is.
on_target(job) if {
	some candidate in job.runs_on.candidates
	some label in candidate.labels
	lib.in_patterns(targets, label)
}

# hardening_steps are [job, step index] pairs of the targeted jobs'
# harden-runner (or equivalent) steps. Like every rule here, each looks at
# all jobs and steps at once: in OPA that costs far less than a function
# call per job or step.
hardening_steps contains [id, step.index] if {
	some id, job in targeted
	some step in job.steps
	step.uses.names[0] == "step-security/harden-runner" # lower case, full name first
}

hardening_steps contains [id, step.index] if {
	count(settings.equivalent_actions) > 0
	some id, job in targeted
	some step in job.steps
	lib.in_patterns(equivalents, step.uses.name) # undefined for a run: step
}

# hardened are the targeted jobs with a hardening step.
hardened := {id | some [id, _] in hardening_steps}

# first_hardening_step maps each hardened job to its first hardening step.
first_hardening_step[id] := min({step | some [job, step] in hardening_steps; job == id}) if {
	some [id, _] in hardening_steps
}
