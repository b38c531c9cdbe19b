package runpolicy.policies.workflow_syntax_test

import data.runpolicy.fixtures as fx
import data.runpolicy.policies.workflow_syntax

# with_shapes is the fixture document with these unmodeled shapes.
with_shapes(shapes) := fx.patched({"workflow": object.union(fx.doc.workflow, {"unmodeled": shapes})})

bare_step := {"job": "build", "step": 2, "line": 14, "message": "step has neither uses, run nor parallel, wait, wait-all, cancel: runpolicy cannot tell what it runs"}

pre_steps := {"job": "build", "step": null, "line": 20, "message": "job key \"pre-steps\" is not workflow syntax runpolicy knows and holds steps: they are judged as steps of the job"}

test_nothing_unmodeled_reports_nothing if {
	count(workflow_syntax.warn) == 0 with input as with_shapes([])
	count(workflow_syntax.deny) == 0 with input as with_shapes([])
		with data.runpolicy.settings.workflow_syntax.strict as true
}

test_unmodeled_shapes_warn_by_default if {
	workflow_syntax.warn == {
		{
			"job": "build", "step": 2, "line": 14,
			"message": "job build, step 3, line 14: step has neither uses, run nor parallel, wait, wait-all, cancel: runpolicy cannot tell what it runs. runpolicy judged what it could read there, but GitHub may run it otherwise: write it in the documented workflow syntax",
		},
		{
			"job": "build", "step": null, "line": 20,
			"message": "job build, line 20: job key \"pre-steps\" is not workflow syntax runpolicy knows and holds steps: they are judged as steps of the job. runpolicy judged what it could read there, but GitHub may run it otherwise: write it in the documented workflow syntax",
		},
	} with input as with_shapes([bare_step, pre_steps])
	count(workflow_syntax.deny) == 0 with input as with_shapes([bare_step, pre_steps])
}

test_strict_denies_each_shape if {
	{[v.job, v.step, v.line] | some v in workflow_syntax.deny} == {["build", 2, 14], ["build", null, 20]} with input as with_shapes([bare_step, pre_steps])
		with data.runpolicy.settings.workflow_syntax.strict as true
	count(workflow_syntax.warn) == 0 with input as with_shapes([bare_step, pre_steps])
		with data.runpolicy.settings.workflow_syntax.strict as true
}

test_strict_false_warns if {
	count(workflow_syntax.warn) == 1 with input as with_shapes([bare_step])
		with data.runpolicy.settings.workflow_syntax.strict as false
	count(workflow_syntax.deny) == 0 with input as with_shapes([bare_step])
		with data.runpolicy.settings.workflow_syntax.strict as false
}

test_workflow_level_shape if {
	{v.message | some v in workflow_syntax.warn} == {"the workflow, line 3: odd. runpolicy judged what it could read there, but GitHub may run it otherwise: write it in the documented workflow syntax"} with input as with_shapes([{"job": "", "step": null, "line": 3, "message": "odd"}])
}

test_repository_override_makes_it_strict if {
	count(workflow_syntax.deny) == 1 with input as with_shapes([bare_step])
		with data.runpolicy.settings.repositories as {"acme/*": {"workflow_syntax": {"strict": true}}}
}
