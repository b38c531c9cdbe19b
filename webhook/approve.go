package webhook

import "fmt"

// The approve action of a cancelled run's check run. GitHub bounds a
// label to 20 characters, a description to 40 and an identifier to 20.
const (
	approveLabel       = "Approve this version"
	approveDescription = "Approve this workflow version"
	approveIdentifier  = "approve"
)

// approvalText says, in Markdown, who approved the workflow version, that
// a click was refused and who may approve, or how to approve; "" when the
// run cannot be approved.
func approvalText(v *verdict) string {
	role := v.approveRole
	if role == "" {
		role = DefaultConfig().ApprovePermission
	}
	switch {
	case v.approval != nil && v.approval.Approver != "":
		return fmt.Sprintf(":white_check_mark: **Approved by @%s**: this version of the workflow and the files it runs may run "+
			"despite the findings above, and the run was re-run. An edit to any of them needs a new approval.", v.approval.Approver)
	case !v.approvable():
		return ""
	case v.approval != nil && v.approval.Refused != "":
		return fmt.Sprintf("@%s asked to approve this workflow version but has less than the **%s** permission on the repository. "+
			"Someone with %s may approve it with **%s** on the check run.", v.approval.Refused, role, rolesFrom(role), approveLabel)
	default:
		return fmt.Sprintf("Someone with %s may approve this exact version of the workflow (and of the files it runs) with **%s** "+
			"on the check run: the run is then re-run and allowed.", rolesFrom(role), approveLabel)
	}
}

// rolesFrom names the repository roles at least role: "the maintain or
// admin permission".
func rolesFrom(role string) string {
	for i, r := range approvePermissions {
		if r != role {
			continue
		}
		if i == len(approvePermissions)-1 {
			return "the " + r + " permission"
		}
		rest := approvePermissions[i:]
		return "the " + joinOr(rest) + " permission"
	}
	return "the " + role + " permission"
}

func joinOr(s []string) string {
	if len(s) < 2 {
		return fmt.Sprint(s[0])
	}
	out := s[0]
	for _, x := range s[1 : len(s)-1] {
		out += ", " + x
	}
	return out + " or " + s[len(s)-1]
}
