# METADATA
# title: Workflow syntax
# description: |-
#   Reports each shape of a workflow file that runpolicy cannot model
#   (input.workflow.unmodeled): a step that runs neither an action, a script
#   nor a known control (parallel, wait, wait-all, cancel), a parallel: that
#   is not a list of steps, unknown keys that hold steps. The other policies
#   still judge what can be read inside them; this one says that GitHub may
#   run something runpolicy did not understand. A warning, or with strict a
#   violation.
# related_resources:
#   - description: GitHub, workflow syntax
#     ref: https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax
# custom:
#   settings:
#     - name: mode
#       default: enforce
#     - name: strict
#       type: boolean
#       default: false
#       description: deny (instead of warn) each shape runpolicy cannot model
# schemas:
#   - input: schema.input
package runpolicy.policies.workflow_syntax

import data.runpolicy.lib

deny contains _finding(shape) if {
	input.workflow.unmodeled[0] # OPA's rule index skips the rule when there is none
	some shape in input.workflow.unmodeled
	lib.settings("workflow_syntax").strict
}

warn contains _finding(shape) if {
	input.workflow.unmodeled[0]
	some shape in input.workflow.unmodeled
	not lib.settings("workflow_syntax").strict
}

_finding(shape) := {"job": shape.job, "step": shape.step, "line": shape.line, "message": sprintf(
	"%s, line %d: %s. runpolicy judged what it could read there, but GitHub may run it otherwise: write it in the documented workflow syntax",
	[_place(shape), shape.line, shape.message],
)}

_place(shape) := sprintf("job %s, step %d", [shape.job, shape.step + 1]) if { # people count steps from 1
	shape.step != null
} else := sprintf("job %s", [shape.job]) if {
	shape.job != ""
} else := "the workflow"
