# METADATA
# title: Runner labels
# description: |-
#   Denies a job whose runner labels or runner group are disallowed, or,
#   when an allow list is set, not on it. A job's runner is judged on every
#   candidate the file lists (a matrix of literal values gives several).
#   What the file cannot show gets a finding rather than a pass: labels or a
#   group an expression chooses at run time get a warning and are judged
#   when the job is queued (workflow_job event); a runner that names only a
#   group while only label lists are set, or only labels while an allowed
#   group list is set, is denied, since the allow list cannot check it.
# related_resources:
#   - description: GitHub, choosing the runner for a job
#     ref: https://docs.github.com/en/actions/writing-workflows/choosing-where-your-workflow-runs/choosing-the-runner-for-a-job
#   - description: GitHub, running jobs on a runner group
#     ref: https://docs.github.com/en/actions/writing-workflows/choosing-where-your-workflow-runs/choosing-the-runner-for-a-job#choosing-runners-in-a-group
# custom:
#   settings:
#     - name: mode
#       default: enforce
#       description: enforce, dry_run or off.
#     - name: disallowed
#       default: []
#       description: Label patterns no job may run on ("*" wildcards, case ignored).
#     - name: allowed
#       default: []
#       description: When non-empty, the only label patterns a job may run on.
#     - name: disallowed_groups
#       default: []
#       description: Runner group patterns no job may run in ("*" wildcards, case ignored).
#     - name: allowed_groups
#       default: []
#       description: When non-empty, the only runner group patterns a job may run in.
# schemas:
#   - input: schema.input
package runpolicy.policies.runner_labels

import data.runpolicy.lib

settings := lib.settings("runner_labels")

disallowed := lib.patterns("runner_labels", "disallowed")

allowed := lib.patterns("runner_labels", "allowed")

disallowed_groups := lib.patterns("runner_labels", "disallowed_groups")

allowed_groups := lib.patterns("runner_labels", "allowed_groups")

# The lists in effect, [] when a setting is absent.
setting(key) := object.get(settings, key, [])

deny contains object.union(where, {"message": sprintf(
	"job %s runs on %q, which runner_labels.disallowed forbids: choose another runner",
	[where.job, label],
)}) if {
	count(setting("disallowed")) > 0 # no list: no label needs looking up
	some [where, label] in labels
	lib.in_patterns(disallowed, label)
}

deny contains object.union(where, {"message": sprintf(
	"job %s runs on %q, which is not in runner_labels.allowed (%s): choose an allowed runner or add the label",
	[where.job, label, concat(", ", setting("allowed"))],
)}) if {
	count(setting("allowed")) > 0
	some [where, label] in labels
	not lib.in_patterns(allowed, label)
}

deny contains object.union(runner.where, {"message": sprintf(
	"job %s runs in runner group %q, which runner_labels.disallowed_groups forbids: choose another runner group",
	[runner.where.job, runner.group],
)}) if {
	count(setting("disallowed_groups")) > 0
	some runner in runners
	is_string(runner.group)
	lib.in_patterns(disallowed_groups, runner.group)
}

deny contains object.union(runner.where, {"message": sprintf(
	"job %s runs in runner group %q, which is not in runner_labels.allowed_groups (%s): choose an allowed runner group or add it",
	[runner.where.job, runner.group, concat(", ", setting("allowed_groups"))],
)}) if {
	count(setting("allowed_groups")) > 0
	some runner in runners
	is_string(runner.group)
	not lib.in_patterns(allowed_groups, runner.group)
}

# A runner named by its group alone can be any runner of the group, with
# any labels: a label allow list cannot check it, unless the group lists do.
deny contains object.union(runner.where, {"message": sprintf(
	"job %s runs in runner group %q without labels, so runner_labels.allowed cannot check its runner: name allowed labels in runs-on, or set runner_labels.allowed_groups",
	[runner.where.job, runner.group],
)}) if {
	count(setting("allowed")) > 0
	not group_lists
	some runner in runners
	runner.unknown == "labels"
}

# A runner named by its labels alone can be in any runner group: a group
# allow list cannot check it, unless the label lists do. When the job is
# queued GitHub may already name the group (runner_group_name).
deny contains object.union(runner.where, {"message": sprintf(
	"job %s names no runner group, so runner_labels.allowed_groups cannot check its runner: give runs-on a group, or set runner_labels.allowed (labels)",
	[runner.where.job],
)}) if {
	count(setting("allowed_groups")) > 0
	not label_lists
	some runner in runners
	runner.unknown == "group"
	not runner.queued
}

# The same without an allow list: a deny list cannot tell either, which is
# worth a warning. So is a queued job whose group GitHub did not name.
warn contains object.union(runner.where, {"message": sprintf(
	"job %s runs in runner group %q without labels: runner_labels.disallowed cannot check its runner's labels",
	[runner.where.job, runner.group],
)}) if {
	count(setting("allowed")) == 0
	count(setting("disallowed")) > 0
	not group_lists
	some runner in runners
	runner.unknown == "labels"
}

warn contains object.union(runner.where, {"message": sprintf(
	"job %s names no runner group: runner_labels cannot check it against the group lists; give runs-on a group, or set runner_labels.allowed (labels)",
	[runner.where.job],
)}) if {
	count(setting("allowed_groups")) == 0
	count(setting("disallowed_groups")) > 0
	not label_lists
	some runner in runners
	runner.unknown == "group"
	not runner.queued
}

# The group of a queued job is judged when GitHub names it; the group its
# file wrote was judged when the run was requested.
warn contains object.union(runner.where, {"message": sprintf(
	"job %s was queued without a runner group: runner_labels cannot check it against the group lists; set runner_labels.allowed (labels) to judge its labels",
	[runner.where.job],
)}) if {
	group_lists
	not label_lists
	some runner in runners
	runner.unknown == "group"
	runner.queued
}

warn contains {"job": id, "line": job.line, "message": sprintf(
	"job %s chooses its runner at run time (%s): runner_labels cannot judge it from the file, only when the job is queued",
	[id, expression(job)],
)} if {
	input.workflow_job == null
	some id, job in input.jobs
	job.runs_on.dynamic != false # most jobs name their runner: no settings read
	configured
}

# configured: there is a list to judge against, so a runner the file cannot
# show is worth a warning.
configured if label_lists

configured if group_lists

label_lists if count(setting("disallowed")) > 0

label_lists if count(setting("allowed")) > 0

group_lists if count(setting("disallowed_groups")) > 0

group_lists if count(setting("allowed_groups")) > 0

# runners are the runners to judge: the one GitHub resolved for a queued
# job when there is one, else every runner each job of the file can run on.
# group is null when unknown; unknown names what the runner leaves open
# ("labels", "group" or "" when both are named). A label list judges a
# runner that names labels; a group list one that names a group.
runners contains {
	"where": {"job": input.workflow_job.name},
	"labels": input.workflow_job.labels,
	"group": group,
	"unknown": unknown(input.workflow_job.labels, group),
	"queued": true,
} if {
	is_object(input.workflow_job)
	group := queued_group
}

queued_group := input.workflow_job.runner_group_name if {
	input.workflow_job.runner_group_name != ""
} else := null

runners contains {
	"where": {"job": id, "line": job.line},
	"labels": candidate.labels,
	"group": candidate.group,
	"unknown": unknown(candidate.labels, candidate.group),
	"queued": false,
} if {
	input.workflow_job == null
	some id, job in input.jobs
	some candidate in job.runs_on.candidates
}

# A runner an expression decides at run time is warned about as a whole
# (see warn); the labels and group written out beside the expression are
# still judged.
runners contains {
	"where": {"job": id, "line": job.line},
	"labels": [label | some label in job.runs_on.labels; not contains(label, "${{")],
	"group": static_group(job.runs_on.group),
	"unknown": "",
	"queued": false,
} if {
	input.workflow_job == null
	some id, job in input.jobs
	job.runs_on.dynamic != false
}

# static_group is a group written as it is, else null.
static_group(group) := group if {
	is_string(group)
	not contains(group, "${{")
} else := null

unknown(labels, group) := "group" if {
	group == null
	count(labels) > 0
} else := "labels" if {
	group != null
	count(labels) == 0
} else := ""

# labels are [where, label] pairs to judge: the labels of every runner, which
# for a queued job are the ones GitHub resolved (see runners).
labels contains [runner.where, label] if {
	some runner in runners
	some label in runner.labels
}

expression(job) := job.runs_on.expression if {
	is_string(job.runs_on.expression)
} else := "an expression in runs-on"
