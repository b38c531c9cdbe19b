# METADATA
# title: Approvals
# description: |-
#   Which policies' findings a maintainer may waive by approving one version
#   of a workflow (the "Approve this version" button of a cancelled run's
#   check run), and which policies an approval of this version, listed in
#   input.approvals, waives. A policy is approvable when its settings say
#   approvable: true; compromised_actions and impostor_commits never are.
# related_resources:
#   - description: runpolicy policies, Approving a workflow version
#     ref: https://github.com/runpolicy/runpolicy/blob/main/policies/README.md
# schemas:
#   - input: schema.input
package runpolicy.lib.approvals

import data.runpolicy.lib

# never are the policies no approval waives, whatever their settings say: a
# compromised action or an impostor commit is never a legitimate change.
never := {"compromised_actions", "impostor_commits"}

# approvable reports a policy whose findings an approval may waive.
approvable(name) if {
	not never[name]
	lib.settings(name).approvable == true
}

# waived are the approvable policies an approval of this version of the
# workflow names. The server lists only approvals whose every file digest
# equals the run's: an edit to the workflow, or to a file it runs, is a
# version no approval covers. The key is absent when there is none.
waived contains name if {
	some approval in object.get(input, "approvals", [])
	some name in approval.policies
	approvable(name)
}
