package input

import "github.com/open-policy-agent/opa/v1/ast"

// Approval is a maintainer's approval of this version of the workflow
// (input.approvals): the server lists those of the repository and
// workflow path whose every file digest equals the run's, neither revoked
// nor expired. The built-in approvable policies waive the findings of the
// policies it names; custom policies may read it too.
type Approval struct {
	ID           string `json:"id"`
	WorkflowPath string `json:"workflow_path"`
	// Files maps each file the approval covers (the workflow, and the
	// modified files it runs) to its SHA-256.
	Files map[string]string `json:"files"`
	// Policies are the policies whose findings it waives.
	Policies []string `json:"policies"`
	Approver string   `json:"approver"`
	// CreatedAt and ExpiresAt are RFC 3339 times; ExpiresAt is "" when the
	// approval does not expire.
	CreatedAt string `json:"created_at"`
	ExpiresAt string `json:"expires_at"`
}

var approvalShape = newShape("id", "workflow_path", "files", "policies", "approver", "created_at", "expires_at")

// approvals is input.approvals, passed to Value only when there are
// approvals: the document has the key only then (omitempty), so that the
// documents of runs nothing approved keep their shape.
func (b *builder) approvals(as []Approval) *ast.Term {
	terms := make([]*ast.Term, len(as))
	for i, a := range as {
		terms[i] = b.object(approvalShape, b.str(a.ID), b.str(a.WorkflowPath), b.stringMap(a.Files), b.strings(a.Policies),
			b.str(a.Approver), b.str(a.CreatedAt), b.str(a.ExpiresAt))
	}
	return b.array(terms)
}
