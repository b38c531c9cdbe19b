package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// approvalLister lists the active approvals of a workflow (*store.Store).
type approvalLister interface {
	ApprovalsFor(ctx context.Context, repository, workflowPath string, now time.Time) ([]store.Approval, error)
}

// approved evaluates a denied run again with the approvals of its
// workflow's version in input.approvals, when every enforced finding is
// approvable and there is such an approval. Only such runs ask the store:
// most runs are allowed, and none of them pays for a lookup. A store that
// cannot answer fails the judging, which the queue retries: an approval
// runpolicy cannot read must not turn into a cancel it cannot take back.
func (j *judge) approved(ctx context.Context, doc *input.Document, result *engine.Decision, timers map[string]int64) (*engine.Decision, error) {
	if j.approvals == nil || result.Allow || !allApprovable(result) {
		return result, nil
	}
	list, err := j.approvals.ApprovalsFor(ctx, doc.Repository.FullName, doc.Workflow.Path, time.Now())
	if err != nil {
		return nil, fmt.Errorf("approvals of %s: %w", doc.Workflow.Path, err)
	}
	matching := coveringApprovals(doc, list)
	if len(matching) == 0 {
		return result, nil
	}
	doc.Approvals = matching
	timers["counter_approvals"] = int64(len(matching))
	return j.eval(ctx, doc, timers)
}

// allApprovable reports whether every enforced finding of d carries
// approvable: true.
func allApprovable(d *engine.Decision) bool {
	for _, x := range d.Enforced() {
		if !x.Approvable {
			return false
		}
	}
	return true
}

// versionFiles are the files a decision on the document covers, each with
// its digest at the head commit: the workflow and every modified file it
// runs. ok is false when one could not be read (no digest): no approval
// covers what runpolicy did not read.
func versionFiles(doc *input.Document) (files map[string]string, ok bool) {
	files = map[string]string{doc.Workflow.Path: doc.Workflow.SHA256}
	if doc.Workflow.SHA256 == "" {
		return nil, false
	}
	for _, f := range doc.Workflow.ModifiedFiles {
		if f.SHA256 == nil || *f.SHA256 == "" {
			return nil, false
		}
		files[f.Path] = *f.SHA256
	}
	return files, true
}

// coveringApprovals are the approvals whose file digests equal the run's
// for every file the decision covers: an edit to any of them is a version
// no earlier approval covers.
func coveringApprovals(doc *input.Document, list []store.Approval) []input.Approval {
	files, ok := versionFiles(doc)
	if !ok {
		return nil
	}
	var out []input.Approval
	for _, a := range list {
		if a.Repository != doc.Repository.FullName || a.WorkflowPath != doc.Workflow.Path || !covers(a.Files, files) {
			continue
		}
		ia := input.Approval{ID: a.ID, WorkflowPath: a.WorkflowPath, Files: a.Files, Policies: a.Policies,
			Approver: a.Approver, CreatedAt: a.CreatedAt.UTC().Format(time.RFC3339)}
		if !a.ExpiresAt.IsZero() {
			ia.ExpiresAt = a.ExpiresAt.UTC().Format(time.RFC3339)
		}
		if ia.Policies == nil {
			ia.Policies = []string{}
		}
		out = append(out, ia)
	}
	return out
}

func covers(approved, current map[string]string) bool {
	for path, sum := range current {
		if approved[path] != sum {
			return false
		}
	}
	return true
}
