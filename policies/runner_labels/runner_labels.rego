# METADATA
# title: Runner labels
# description: |-
#   Denies a job whose runner labels are disallowed, or, when an allow list
#   is set, not on it. Labels an expression chooses at run time cannot be
#   judged from the workflow file: they get a warning, and the labels GitHub
#   resolved are judged when the job is queued (workflow_job event).
# related_resources:
#   - description: GitHub, choosing the runner for a job
#     ref: https://docs.github.com/en/actions/writing-workflows/choosing-where-your-workflow-runs/choosing-the-runner-for-a-job
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
# schemas:
#   - input: schema.input
package runpolicy.policies.runner_labels

import data.runpolicy.lib

settings := lib.settings("runner_labels")

disallowed := lib.patterns("runner_labels", "disallowed")

allowed := lib.patterns("runner_labels", "allowed")

deny contains object.union(where, {"message": sprintf(
	"job %s runs on %q, which runner_labels.disallowed forbids: choose another runner",
	[where.job, label],
)}) if {
	count(settings.disallowed) > 0 # no list: no label needs looking up
	some [where, label] in labels
	lib.in_patterns(disallowed, label)
}

deny contains object.union(where, {"message": sprintf(
	"job %s runs on %q, which is not in runner_labels.allowed (%s): choose an allowed runner or add the label",
	[where.job, label, concat(", ", settings.allowed)],
)}) if {
	count(settings.allowed) > 0
	some [where, label] in labels
	not lib.in_patterns(allowed, label)
}

warn contains {"job": id, "line": job.line, "message": sprintf(
	"job %s chooses its runner at run time (%s): runner_labels cannot judge it from the file, only when the job is queued",
	[id, expression(job)],
)} if {
	input.workflow_job == null
	some id, job in input.jobs
	job.runs_on.dynamic != false # most jobs name their labels: no settings read
	configured
}

# configured: there is a label list to judge against, so a label the file
# cannot show is worth a warning.
configured if count(settings.disallowed) > 0

configured if count(settings.allowed) > 0

# labels are [where, label] pairs to judge: the labels GitHub resolved for a
# queued job when there is one, else the static labels of every job.
labels contains [{"job": input.workflow_job.name}, label] if {
	some label in input.workflow_job.labels
}

labels contains [{"job": id, "line": job.line}, label] if {
	input.workflow_job == null
	some id, job in input.jobs
	some label in job.runs_on.labels
	not contains(label, "${{")
}

expression(job) := job.runs_on.expression if {
	is_string(job.runs_on.expression)
} else := "an expression in runs-on"
