# METADATA
# title: Runner labels
# description: |-
#   Denies a job whose runner labels or runner group are disallowed, or,
#   when an allow list is set, not on it. A job's runner is judged on every
#   candidate the file lists (a matrix of literal values gives several).
#   What the file cannot show gets a finding rather than a pass: labels or a
#   group an expression chooses at run time get a warning and are judged
#   when the job is queued (workflow_job event); a runner that names only a
#   group while a label list is set, or only labels while a group list is
#   set, is denied when the list that cannot check it is an allow list and
#   warned about when it is a deny list, unless an allow list of the other
#   kind vouches for it.
# related_resources:
#   - description: GitHub, choosing the runner for a job
#     ref: https://docs.github.com/en/actions/writing-workflows/choosing-where-your-workflow-runs/choosing-the-runner-for-a-job
#   - description: GitHub, running jobs on a runner group
#     ref: https://docs.github.com/en/actions/writing-workflows/choosing-where-your-workflow-runs/choosing-the-runner-for-a-job#choosing-runners-in-a-group
# custom:
#   settings:
#     - name: mode
#       default: enforce
#     - name: disallowed
#       type: strings
#       default: []
#       description: labels no job may run on
#     - name: allowed
#       type: strings
#       default: []
#       description: when non-empty, the only labels a job may run on
#     - name: disallowed_groups
#       type: strings
#       default: []
#       description: >-
#         runner groups no job may run in (`runs-on: {group: …}`, or the group GitHub names for a queued
#         job)
#     - name: allowed_groups
#       type: strings
#       default: []
#       description: when non-empty, the only runner groups a job may run in
# schemas:
#   - input: schema.input
package runpolicy.policies.runner_labels

import data.runpolicy.lib

# With no list set there is nothing to judge: runpolicy.main skips the policy.
idle if {
	not _label_lists
	not _group_lists
}

deny contains _finding(where, sprintf(
	"job %s runs on %q, which runner_labels.disallowed forbids: choose another runner",
	[where.job, label],
)) if {
	some [where, label] in _labels
	lib.in_patterns(lib.patterns("runner_labels", "disallowed"), label)
}

deny contains _finding(where, sprintf(
	"job %s runs on %q, which is not in runner_labels.allowed (%s): choose an allowed runner or add the label",
	[where.job, label, concat(", ", _allowed)],
)) if {
	count(_allowed) > 0
	some [where, label] in _labels
	not lib.in_patterns(lib.patterns("runner_labels", "allowed"), label)
}

deny contains _finding(runner.where, sprintf(
	"job %s runs in runner group %q, which runner_labels.disallowed_groups forbids: choose another runner group",
	[runner.where.job, runner.group],
)) if {
	some runner in _runners
	is_string(runner.group)
	lib.in_patterns(lib.patterns("runner_labels", "disallowed_groups"), runner.group)
}

deny contains _finding(runner.where, sprintf(
	"job %s runs in runner group %q, which is not in runner_labels.allowed_groups (%s): choose an allowed runner group or add it",
	[runner.where.job, runner.group, concat(", ", _allowed_groups)],
)) if {
	count(_allowed_groups) > 0
	some runner in _runners
	is_string(runner.group)
	not lib.in_patterns(lib.patterns("runner_labels", "allowed_groups"), runner.group)
}

# A runner named by its group alone can be any runner of the group, with
# any labels: a label list cannot check it. Only a group allow list vouches
# for the runners of a group; a group deny list says nothing of them.
deny contains _finding(runner.where, sprintf(
	"job %s runs in runner group %q without labels, so runner_labels.allowed cannot check its runner: name allowed labels in runs-on, or set runner_labels.allowed_groups",
	[runner.where.job, runner.group],
)) if {
	count(_allowed) > 0
	count(_allowed_groups) == 0
	some runner in _runners
	runner.unknown == "labels"
}

# A runner named by its labels alone can be in any runner group: a group
# list cannot check it. Only a label allow list vouches for it. When the
# job is queued GitHub may already name the group (runner_group_name).
deny contains _finding(runner.where, sprintf(
	"job %s names no runner group, so runner_labels.allowed_groups cannot check its runner: give runs-on a group, or set runner_labels.allowed (labels)",
	[runner.where.job],
)) if {
	count(_allowed_groups) > 0
	count(_allowed) == 0
	some runner in _runners
	runner.unknown == "group"
	not runner.queued
}

# The same under a deny list: it cannot tell either, which is worth a
# warning.
warn contains _finding(runner.where, sprintf(
	"job %s runs in runner group %q without labels: runner_labels.disallowed cannot check its runner's labels",
	[runner.where.job, runner.group],
)) if {
	count(_allowed) == 0
	count(_disallowed) > 0
	count(_allowed_groups) == 0
	some runner in _runners
	runner.unknown == "labels"
}

warn contains _finding(runner.where, sprintf(
	"job %s names no runner group: runner_labels cannot check it against the group lists; give runs-on a group, or set runner_labels.allowed (labels)",
	[runner.where.job],
)) if {
	count(_allowed_groups) == 0
	count(_disallowed_groups) > 0
	count(_allowed) == 0
	some runner in _runners
	runner.unknown == "group"
	not runner.queued
}

# The group of a queued job is judged when GitHub names it; the group its
# file wrote was judged when the run was requested.
warn contains _finding(runner.where, sprintf(
	"job %s was queued without a runner group: runner_labels cannot check it against the group lists; set runner_labels.allowed (labels) to judge its labels",
	[runner.where.job],
)) if {
	_group_lists
	count(_allowed) == 0
	some runner in _runners
	runner.unknown == "group"
	runner.queued
}

warn contains {"job": id, "line": job.line, "message": sprintf(
	"job %s chooses its runner at run time (%s): runner_labels cannot judge it from the file, only when the job is queued",
	[id, _expression(job)],
)} if {
	input.workflow_job == null
	some id, job in input.jobs
	job.runs_on.dynamic
	not idle
}

_settings := lib.settings("runner_labels")

_disallowed := object.get(_settings, "disallowed", [])

_allowed := object.get(_settings, "allowed", [])

_disallowed_groups := object.get(_settings, "disallowed_groups", [])

_allowed_groups := object.get(_settings, "allowed_groups", [])

_label_lists if count(_disallowed) + count(_allowed) > 0

_group_lists if count(_disallowed_groups) + count(_allowed_groups) > 0

_finding(where, message) := object.union(where, {"message": message})

# _runners are the runners to judge: the one GitHub resolved for a queued
# job when there is one, else every runner each job of the file can run on.
# group is null when unknown; unknown names what the runner leaves open
# ("labels", "group" or "" when both are named). A label list judges a
# runner that names labels; a group list one that names a group.
_runners contains {
	"where": {"job": input.workflow_job.name},
	"labels": input.workflow_job.labels,
	"group": _queued_group,
	"unknown": _unknown(input.workflow_job.labels, _queued_group),
	"queued": true,
} if {
	is_object(input.workflow_job)
}

# A candidate's label or group holding ${{ is decided at run time (the job
# is dynamic and warned about): the rest of the runner is judged.
_runners contains {
	"where": {"job": id, "line": job.line},
	"labels": [label | some label in candidate.labels; not contains(label, "${{")],
	"group": _static_group(candidate.group),
	"unknown": _candidate_unknown(candidate),
	"queued": false,
} if {
	input.workflow_job == null
	some id, job in input.jobs
	some candidate in job.runs_on.candidates
}

# A runner an expression decides at run time is warned about as a whole
# (see warn); the labels and group written out beside the expression are
# still judged.
_runners contains {
	"where": {"job": id, "line": job.line},
	"labels": [label | some label in job.runs_on.labels; not contains(label, "${{")],
	"group": _static_group(job.runs_on.group),
	"unknown": "",
	"queued": false,
} if {
	input.workflow_job == null
	some id, job in input.jobs
	job.runs_on.dynamic
}

default _queued_group := null

_queued_group := input.workflow_job.runner_group_name if input.workflow_job.runner_group_name != ""

# _static_group is a group written as it is, else null.
_static_group(group) := group if {
	is_string(group)
	not contains(group, "${{")
} else := null

_candidate_unknown(candidate) := "" if {
	_run_time(candidate)
} else := _unknown(candidate.labels, candidate.group)

_run_time(candidate) if {
	some label in candidate.labels
	contains(label, "${{")
}

_run_time(candidate) if {
	is_string(candidate.group)
	contains(candidate.group, "${{")
}

_unknown(labels, group) := "group" if {
	group == null
	count(labels) > 0
} else := "labels" if {
	group != null
	count(labels) == 0
} else := ""

# _labels are [where, label] pairs to judge: the labels of every runner,
# which for a queued job are the ones GitHub resolved (see _runners).
_labels contains [runner.where, label] if {
	some runner in _runners
	some label in runner.labels
}

_expression(job) := job.runs_on.expression if {
	is_string(job.runs_on.expression)
} else := "an expression in runs-on"
