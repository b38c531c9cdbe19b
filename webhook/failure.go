package webhook

import (
	"context"
	"errors"
	"fmt"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/github"
)

// errSkipRun says a run is not runpolicy's to judge (GitHub's own
// workflow, found once a job's run is fetched).
var errSkipRun = errors.New("not judged")

// evalError is a failure of one judging step that is not GitHub's.
type evalError struct {
	code string
	err  error
}

func (e *evalError) Error() string { return e.err.Error() }
func (e *evalError) Unwrap() error { return e.err }

// errorCode names the kind of failure for the decision log.
func errorCode(err error) string {
	var ee *evalError
	switch {
	case errors.Is(err, github.ErrNotFound):
		return "workflow_not_found"
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, github.ErrTooLarge):
		return "too_large"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	if temporary, _ := github.Temporary(err); temporary {
		return "github_unavailable"
	}
	var se *github.StatusError
	if errors.As(err, &se) {
		return "github_error"
	}
	return "error" // the store, or what no code names: never the author's
}

// authored reports the failures a workflow's author controls, which fail
// closed whatever on_error says: bytes runpolicy cannot read (size and
// structure limits, invalid UTF-8, NUL bytes, YAML it cannot parse; a
// file, the workflow or one it uses, over the fetch limit), an
// event it cannot read, an evaluation the document makes fail or run past
// eval_timeout, and a workflow file missing at the head commit: the head
// commit and the fork it lives in are the author's, who can delete the
// fork, or point the run at a path that is no file, once the run is
// requested. Everything else (GitHub unreachable or refusing the App, the
// store, the job's own deadline) is outside the author's control and
// on_error decides it.
func authored(err error) bool {
	_, ok := authoredWhy[errorCode(err)]
	return ok
}

// authoredWhy names, for each failure code its author controls, why the
// run is denied.
var authoredWhy = map[string]string{
	"bad_workflow":       "runpolicy cannot read this workflow",
	"too_large":          "the workflow, or a file it uses, is larger than runpolicy reads",
	"bad_payload":        "runpolicy cannot read this run's event",
	"evaluation_error":   "the policies cannot be evaluated on this workflow",
	"eval_timeout":       "evaluating the policies on this workflow took longer than eval_timeout",
	"workflow_not_found": "the workflow file is not at the run's head commit",
}

// PolicyUnreadable is the policy name of the finding that denies a run
// whose workflow runpolicy cannot judge for a reason its author controls.
const PolicyUnreadable = "runpolicy"

// unreadable is the decision on such a run: one enforced finding saying
// why, so that the run is cancelled and reported like any other deny.
func unreadable(err error) *engine.Decision {
	code := errorCode(err)
	why := authoredWhy[code]
	return &engine.Decision{
		Violations: []engine.Violation{{
			Policy:  PolicyUnreadable,
			Mode:    engine.ModeEnforce,
			Message: fmt.Sprintf("%s (%s), so it is denied: %s", why, code, err),
			Details: map[string]any{"code": code},
		}},
		Warnings: []engine.Violation{},
	}
}
