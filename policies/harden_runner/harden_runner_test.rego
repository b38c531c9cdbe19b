package runpolicy.policies.harden_runner_test

import data.runpolicy.fixtures as fx
import data.runpolicy.policies.harden_runner

harden := fx.action("step-security/harden-runner@v2")

# hardened is job build with harden-runner as step 0 and a checkout as step 1.
hardened := object.union(fx.job(["ubuntu-latest"], [fx.step(0, harden), fx.step(1, fx.checkout)]), {"harden_runner": {
	"present": true, "first_step": true, "step": 0, "egress_policy": "audit", "use_policy_store": false,
}})

# late is job build with a checkout first and harden-runner second.
late := object.union(fx.job(["ubuntu-latest"], [fx.step(0, fx.checkout), fx.step(1, harden)]), {"harden_runner": {
	"present": true, "first_step": false, "step": 1, "egress_policy": "audit", "use_policy_store": false,
}})

plain := fx.job(["ubuntu-latest"], [fx.step(0, fx.checkout), fx.step(1, null)])

jobs(js) := fx.patched({"jobs": js})

missing(id) := sprintf("job %s has no step-security/harden-runner step: add \"uses: step-security/harden-runner@<SHA>\" as its first step", [id])

test_job_without_harden_runner if {
	harden_runner.deny == {{"job": "build", "line": 5, "message": missing("build")}} with input as jobs({"build": plain})
}

test_job_with_harden_runner if {
	count(harden_runner.deny) == 0 with input as jobs({"build": hardened})
	count(harden_runner.deny) == 0 with input as jobs({"build": late})
}

test_reusable_workflow_call_has_no_steps if {
	caller := object.union(fx.job([], []), {"uses": fx.action("acme/wf/.github/workflows/x.yml@v1")})
	count(harden_runner.deny) == 0 with input as jobs({"call": caller})
}

test_equivalent_actions if {
	custom := fx.job(["ubuntu-latest"], [fx.step(0, fx.action("acme/egress-guard@v1"))])
	harden_runner.deny == {{"job": "build", "line": 5, "message": missing("build")}} with input as jobs({"build": custom})
	count(harden_runner.deny) == 0 with input as jobs({"build": custom})
		with data.runpolicy.settings.harden_runner.equivalent_actions as ["acme/egress-*"]
}

test_precomputed_flag_alone_does_not_count if {
	flagged := object.union(plain, {"harden_runner": object.union(hardened.harden_runner, {"present": true})})
	count(harden_runner.deny) == 1 with input as jobs({"build": flagged})
}

test_target_labels if {
	doc := jobs({"linux": plain, "gpu": fx.job(["self-hosted", "GPU"], [fx.step(0, null)])})
	{v.message | some v in harden_runner.deny} == {missing("linux"), missing("gpu")} with input as doc
	{v.message | some v in harden_runner.deny} == {missing("gpu")} with input as doc
		with data.runpolicy.settings.harden_runner.target_labels as ["gpu"]
	{v.message | some v in harden_runner.deny} == {missing("linux")} with input as doc
		with data.runpolicy.settings.harden_runner.target_labels as ["ubuntu-*"]
}

test_require_first_step if {
	count(harden_runner.deny) == 0 with input as jobs({"build": late})
	harden_runner.deny == {{
		"job": "build", "step": 1, "line": 11,
		"message": "job build runs harden-runner as step 2, not first: move it to the top so it monitors every step",
	}} with input as jobs({"build": late})
		with data.runpolicy.settings.harden_runner.require_first_step as true
	count(harden_runner.deny) == 0 with input as jobs({"build": hardened})
		with data.runpolicy.settings.harden_runner.require_first_step as true
}

test_require_policy_store if {
	count(harden_runner.deny) == 0 with input as jobs({"build": hardened})
	harden_runner.deny == {{
		"job": "build", "line": 5,
		"message": "job build runs harden-runner without the policy store: configure its with: inputs to fetch the egress policy from the StepSecurity policy store",
	}} with input as jobs({"build": hardened})
		with data.runpolicy.settings.harden_runner.require_policy_store as true
	store := object.union(hardened, {"harden_runner": object.union(hardened.harden_runner, {"use_policy_store": true})})
	count(harden_runner.deny) == 0 with input as jobs({"build": store})
		with data.runpolicy.settings.harden_runner.require_policy_store as true
}

test_block_job_container if {
	boxed := object.union(hardened, {"container": "node:20"})
	count(harden_runner.deny) == 0 with input as jobs({"build": boxed})
	harden_runner.deny == {{
		"job": "build", "line": 5,
		"message": "job build runs in container \"node:20\", where harden-runner cannot monitor its steps: run the steps on the runner, or start the container from a step",
	}} with input as jobs({"build": boxed})
		with data.runpolicy.settings.harden_runner.block_job_container as true
	count(harden_runner.deny) == 0 with input as jobs({"build": hardened})
		with data.runpolicy.settings.harden_runner.block_job_container as true
}

# The default settings are judged by a body of their own; setting
# equivalent_actions to harden-runner itself takes the general body, which
# must find the same jobs: a job without steps or with harden-runner at any
# step passes, one with only run: steps or other actions is denied.
test_default_and_general_bodies_agree if {
	caller := object.union(fx.job([], []), {"uses": fx.action("acme/wf/.github/workflows/x.yml@v1")})
	doc := jobs({
		"plain": plain, "hardened": hardened, "late": late, "call": caller,
		"scripts": fx.job(["ubuntu-latest"], [fx.step(0, null)]),
	})
	expected := {missing("plain"), missing("scripts")}
	{v.message | some v in harden_runner.deny} == expected with input as doc
	{v.message | some v in harden_runner.deny} == expected with input as doc
		with data.runpolicy.settings.harden_runner.equivalent_actions as ["step-security/harden-runner"]
}

test_docker_image_of_the_same_name_does_not_count if {
	docker := fx.job(["ubuntu-latest"], [fx.step(0, fx.docker("docker://step-security/harden-runner"))])
	harden_runner.deny == {{"job": "build", "line": 5, "message": missing("build")}} with input as jobs({"build": docker})
}

# A missing equivalent_actions setting means none, as its default says.
# The effective settings are replaced: a `with` on
# data.runpolicy.settings.harden_runner is merged into the defaults that
# lib.settings reads.
test_missing_equivalent_actions_is_none if {
	harden_runner.deny == {{"job": "build", "line": 5, "message": missing("build")}} with input as jobs({"build": plain})
		with harden_runner.settings as {"target_labels": []}
}

# A job that starts with a parallel block: the block is step 0 and
# harden-runner inside it starts with its siblings, so it is not first.
test_require_first_step_parallel_block if {
	block := object.union(fx.step(0, null), {"run": false, "control": "parallel"})
	nested := object.union(fx.step(1, harden), {"parallel_group": 0})
	sibling := object.union(fx.step(2, fx.checkout), {"parallel_group": 0})
	job := fx.job(["ubuntu-latest"], [block, nested, sibling])
	count(harden_runner.deny) == 0 with input as jobs({"build": job})
	harden_runner.deny == {{
		"job": "build", "step": 1, "line": 11,
		"message": "job build runs harden-runner as step 2, inside the parallel block at step 1 whose other steps start with it: move it before the block, as the job's first step",
	}} with input as jobs({"build": job})
		with data.runpolicy.settings.harden_runner.require_first_step as true
}

# harden-runner first but in the background: the next steps do not wait.
test_require_first_step_background if {
	job := fx.job(["ubuntu-latest"], [object.union(fx.step(0, harden), {"background": true}), fx.step(1, fx.checkout)])
	harden_runner.deny == {{
		"job": "build", "step": 0, "line": 10,
		"message": "job build runs harden-runner in the background (step 1): the steps after it start before it is ready; remove background: true",
	}} with input as jobs({"build": job})
		with data.runpolicy.settings.harden_runner.require_first_step as true
}

# harden-runner before a parallel block is first.
test_first_step_before_a_parallel_block if {
	block := object.union(fx.step(1, null), {"run": false, "control": "parallel"})
	nested := object.union(fx.step(2, fx.checkout), {"parallel_group": 1})
	job := fx.job(["ubuntu-latest"], [fx.step(0, harden), block, nested])
	count(harden_runner.deny) == 0 with input as jobs({"build": job})
		with data.runpolicy.settings.harden_runner.require_first_step as true
}

# A job whose runs-on reads matrix values is targeted when one of the
# runners the matrix makes is.
test_target_labels_of_matrix_candidates if {
	matrix := object.union(fx.job([], [fx.step(0, null)]), {"runs_on": {"expression": "${{ matrix.os }}", "candidates": [
		{"labels": ["ubuntu-latest"], "group": null},
		{"labels": ["self-hosted", "gpu"], "group": null},
	]}})
	{v.message | some v in harden_runner.deny} == {missing("matrix")} with input as jobs({"matrix": matrix, "linux": plain})
		with data.runpolicy.settings.harden_runner.target_labels as ["gpu"]
}
