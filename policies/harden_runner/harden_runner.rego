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
#     - name: target_labels
#       type: strings
#       default: []
#       description: >-
#         only jobs running on one of these labels (patterns; a matrix job when one of its runners does);
#         empty: every job
#     - name: equivalent_actions
#       type: strings
#       default: []
#       description: action name patterns that count as harden-runner
#     - name: require_first_step
#       type: boolean
#       default: false
#       description: >-
#         the hardening step must run before anything else: the first step, not in a parallel block, not
#         in the background
#     - name: require_policy_store
#       type: boolean
#       default: false
#       description: harden-runner must fetch its policy from the policy store
#     - name: block_job_container
#       type: boolean
#       default: false
#       description: deny targeted jobs with a job-level `container:`
#     - name: approvable
#       type: boolean
#       default: true
#       description: >-
#         a maintainer may approve one version of the workflow from a cancelled run's check run, waiving these
#         findings for it
# schemas:
#   - input: schema.input
package runpolicy.policies.harden_runner

import data.runpolicy.lib

# Findings about a job are found at the job; _findings holds them as
# [job id, message] pairs, so that this object is written once.
deny contains {"job": id, "line": job.line, "message": message} if {
	some finding in _findings
	id := finding[0]
	message := finding[1]
	job := input.jobs[id]
}

# A hardening step that is not first is found at the step.
deny contains {"job": id, "step": first, "line": line, "message": message} if {
	_settings.require_first_step
	some id, first in _first_hardening_step
	message := _not_first(id, first)
	line := input.jobs[id].steps[first].line
}

_settings := lib.settings("harden_runner")

_findings contains [id, sprintf(
	"job %s has no step-security/harden-runner step: add \"uses: step-security/harden-runner@<SHA>\" as its first step",
	[id],
)] if {
	some id in _unhardened
}

_findings contains [id, sprintf(
	"job %s runs harden-runner without the policy store: configure its with: inputs to fetch the egress policy from the StepSecurity policy store",
	[id],
)] if {
	_settings.require_policy_store
	some id, job in _targeted
	job.harden_runner.present
	not job.harden_runner.use_policy_store
}

_findings contains [id, sprintf(
	"job %s runs in container %q, where harden-runner cannot monitor its steps: run the steps on the runner, or start the container from a step",
	[id, job.container],
)] if {
	_settings.block_job_container
	some id, job in _targeted
	job.container != null
}

# _unhardened are the targeted jobs without a hardening step. The first
# body judges the default settings, where every job with steps is targeted
# and harden-runner is the only hardening step.
_unhardened contains id if {
	count(_settings.target_labels) + count(_settings.equivalent_actions) == 0
	with_harden_runner := {id |
		some id, job in input.jobs
		some step in job.steps
		step.uses.names[0] == "step-security/harden-runner" # lower case, full name first
	}
	some id, job in input.jobs
	not id in with_harden_runner
	count(job.steps) > 0
}

_unhardened contains id if {
	count(_settings.target_labels) + count(_settings.equivalent_actions) > 0
	some id, _ in _targeted
	not _first_hardening_step[id]
}

# _not_first says why a job's first hardening step does not run before
# everything else, and is undefined when it does: it must be at index 0 (steps
# are numbered flat, a parallel block before the steps it runs), neither
# inside a parallel block, whose steps start together, nor in the
# background, which the steps after it do not wait for.
_not_first(id, first) := sprintf(
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

# _targeted are the jobs with steps (a job that only calls a reusable
# workflow has none) whose runner matches target_labels, or all of them
# when target_labels is empty.
_targeted := {id: job |
	some id, job in input.jobs
	count(job.steps) > 0
} if {
	count(_settings.target_labels) == 0
} else := {id: job |
	some id, job in input.jobs
	count(job.steps) > 0
	_on_target(job)
}

_on_target(job) if {
	some label in job.runs_on.labels
	lib.in_patterns(lib.patterns("harden_runner", "target_labels"), label)
}

# A job whose runs-on reads matrix values is on target when one of the
# runners it can run on is.
_on_target(job) if {
	some candidate in job.runs_on.candidates
	some label in candidate.labels
	lib.in_patterns(lib.patterns("harden_runner", "target_labels"), label)
}

# _hardening_steps are [job, step index] pairs of the targeted jobs'
# harden-runner (or equivalent) steps.
_hardening_steps contains [id, step.index] if {
	some id, job in _targeted
	some step in job.steps
	step.uses.names[0] == "step-security/harden-runner" # lower case, full name first
}

_hardening_steps contains [id, step.index] if {
	count(_settings.equivalent_actions) > 0
	some id, job in _targeted
	some step in job.steps
	lib.in_patterns(lib.patterns("harden_runner", "equivalent_actions"), step.uses.name) # undefined for a run: step
}

# _first_hardening_step maps each hardened job to its first hardening step.
_first_hardening_step[id] := min({step | some [job, step] in _hardening_steps; job == id}) if {
	some [id, _] in _hardening_steps
}
