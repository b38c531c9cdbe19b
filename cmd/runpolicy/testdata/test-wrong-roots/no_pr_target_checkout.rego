# METADATA
# title: No pull request checkout in pull_request_target
# description: |-
#   Denies a pull_request_target workflow that checks out the pull request's
#   head. pull_request_target runs with the base repository's secrets and a
#   write token, so building or running the pull request's code there hands
#   both to whoever opened the pull request ("pwn request").
# related_resources:
#   - description: GitHub Security Lab, preventing pwn requests
#     ref: https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/
# custom:
#   settings:
#     - name: mode
#       default: enforce
#       description: enforce, dry_run or off, from data.runpolicy.settings.no_pr_target_checkout.mode.
# schemas:
#   - input: schema.input
package runpolicy.policies.no_pr_target_checkout

# A user policy needs no registration: runpolicy.main collects the deny
# rules of every package under runpolicy.policies, and reads its mode from
# data.runpolicy.settings.<package name>.mode (enforce when unset).

deny contains {
	"job": id,
	"step": step.index,
	"line": step.line,
	"uses": step.uses.raw,
	"message": sprintf(
		"job %s checks out the pull request head (%s: %s) in a pull_request_target workflow, where it runs with this repository's secrets: check out the base branch, or build the pull request in a pull_request workflow",
		[id, input_name, value],
	),
} if {
	"pull_request_target" in input.workflow.triggers
	some id, job in input.jobs
	some step in job.steps
	lower(step.uses.name) == "actions/checkout"
	some input_name in ["ref", "repository"]
	value := step.with[input_name]
	pull_request_head(value)
}

# pull_request_head reports whether an expression names code from the pull
# request rather than the base branch.
pull_request_head(value) if regex.match(
	`github\.event\.pull_request\.head\.|github\.head_ref|refs/pull/`,
	value,
)
