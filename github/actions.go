package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	gh "github.com/google/go-github/v62/github"
)

// CancelResult says how a cancel request ended.
type CancelResult string

const (
	// CancelAccepted: GitHub accepted the request (202).
	CancelAccepted CancelResult = "accepted"
	// CancelFinished: the run had already finished (409).
	CancelFinished CancelResult = "already_finished"
)

// Run returns a workflow run.
func (c *Client) Run(ctx context.Context, owner, repo string, id int64) (*gh.WorkflowRun, error) {
	run, _, err := c.gh.Actions.GetWorkflowRunByID(ctx, owner, repo, id)
	if err != nil {
		return nil, wrap(err, "get run %d of %s/%s", id, owner, repo)
	}
	return run, nil
}

// RunJSON returns a workflow run as GitHub sends it: the same object as a
// workflow_run delivery's, with fields go-github's type drops (path).
func (c *Client) RunJSON(ctx context.Context, owner, repo string, id int64) (json.RawMessage, error) {
	req, err := c.gh.NewRequest("GET", fmt.Sprintf("repos/%v/%v/actions/runs/%v", owner, repo, id), nil)
	if err != nil {
		return nil, fmt.Errorf("get run %d of %s/%s: %w", id, owner, repo, err)
	}
	var raw json.RawMessage
	if _, err := c.gh.Do(ctx, req, &raw); err != nil {
		return nil, wrap(err, "get run %d of %s/%s", id, owner, repo)
	}
	return raw, nil
}

// CancelRun asks GitHub to cancel a run.
func (c *Client) CancelRun(ctx context.Context, owner, repo string, id int64) (CancelResult, error) {
	if err := c.token(ctx); err != nil {
		return "", wrap(err, "cancel run %d of %s/%s", id, owner, repo)
	}
	_, err := c.gh.Actions.CancelWorkflowRunByID(ctx, owner, repo, id)
	return cancelResult(err, "cancel run %d of %s/%s", owner, repo, id)
}

// ForceCancelRun cancels a run that ignored the cancel (its jobs' always()
// steps keep it going), as POST …/force-cancel does.
func (c *Client) ForceCancelRun(ctx context.Context, owner, repo string, id int64) (CancelResult, error) {
	if err := c.token(ctx); err != nil {
		return "", wrap(err, "force-cancel run %d of %s/%s", id, owner, repo)
	}
	req, err := c.gh.NewRequest("POST", fmt.Sprintf("repos/%v/%v/actions/runs/%v/force-cancel", owner, repo, id), nil)
	if err != nil {
		return "", fmt.Errorf("force-cancel run %d of %s/%s: %w", id, owner, repo, err)
	}
	_, err = c.gh.Do(ctx, req, nil)
	return cancelResult(err, "force-cancel run %d of %s/%s", owner, repo, id)
}

// cancelResult maps the answer: go-github reports 202 as *AcceptedError,
// which is success; 409 means the run is already over.
func cancelResult(err error, format, owner, repo string, id int64) (CancelResult, error) {
	var accepted *gh.AcceptedError
	var er *gh.ErrorResponse
	switch {
	case err == nil, errors.As(err, &accepted):
		return CancelAccepted, nil
	case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusConflict:
		return CancelFinished, nil
	}
	return "", wrap(err, format, id, owner, repo)
}
