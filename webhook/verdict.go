package webhook

import (
	"time"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
)

// verdict is a decision on a run attempt, as the judge makes it and the
// actor acts on it. It stays in memory; record.go makes it the store's
// decision log entry (a typed value the store encodes), and reads it back.
type verdict struct {
	ID         string
	DeliveryID string
	Event      string
	Run        target
	// Outcome is store.OutcomeAllow, OutcomeDeny or OutcomeError.
	Outcome string
	// Cancel says the run is to be cancelled: an enforced violation, or an
	// error with on_error: cancel.
	Cancel bool
	// Result is the policies' decision, nil when the run could not be
	// judged (Error says why).
	Result *engine.Decision
	Error  *judgeError
	// Revisions are the policy bundles' revisions, by bundle name.
	Revisions map[string]string
	// Instance names the process that decided.
	Instance  string
	Timestamp time.Time
	Metrics   map[string]int64
	// Input is the document the policies judged; nil when there was none.
	Input *input.Document

	// receivedAt is when the delivery arrived, for the time-to-cancel
	// metric; not recorded.
	receivedAt time.Time
	// cancelResult and forceResult are what the cancel and the
	// force-cancel came to (github.CancelResult, or the refs of cancel.go),
	// "" when not done; approval is a click on the approve action;
	// approveRole is approve_permission. The actor sets them for the
	// report; not recorded.
	cancelResult, forceResult string
	approval                  *approvalNote
	approveRole               string
}

// approvalNote is what a click on the approve action came to, for the
// report: who approved, or who asked without the permission.
type approvalNote struct {
	Approver string
	Refused  string
}

// judgeError says why a run could not be judged and what on_error made of
// it.
type judgeError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	OnError string `json:"on_error"`
}

// violations returns the findings, enforced ones first.
func (v *verdict) violations() []engine.Violation {
	if v.Result == nil {
		return nil
	}
	var enforced, other []engine.Violation
	for _, x := range v.Result.Violations {
		if x.Enforced() {
			enforced = append(enforced, x)
		} else {
			other = append(other, x)
		}
	}
	return append(enforced, other...)
}

// warnings returns the findings that never block.
func (v *verdict) warnings() []engine.Violation {
	if v.Result == nil {
		return nil
	}
	return v.Result.Warnings
}

// approvable reports a cancelled run whose enforced findings a maintainer
// may all waive by approving the workflow version: each carries
// approvable true (runpolicy.main sets it from the policy's settings). A
// run not judged, or denied for a cause its author controls, never is.
func (v *verdict) approvable() bool {
	if !v.Cancel || v.Error != nil || v.Result == nil || v.enforced() == 0 {
		return false
	}
	return allApprovable(v.Result)
}

// enforced counts the findings that cancel the run.
func (v *verdict) enforced() int {
	if v.Result == nil {
		return 0
	}
	return len(v.Result.Enforced())
}
