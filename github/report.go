package github

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v62/github"
)

// CheckRun is what a check run shows.
type CheckRun struct {
	Name       string
	HeadSHA    string
	Conclusion string // success, neutral, failure, …
	ExternalID string
	Title      string
	Summary    string
	Text       string
	// Annotations are sent 50 at a time, as GitHub requires.
	Annotations []*gh.CheckRunAnnotation
	// Actions are the buttons GitHub shows on the check run (at most 3);
	// a click is a check_run requested_action delivery. An update without
	// any removes them.
	Actions []*gh.CheckRunAction
}

// maxAnnotations is GitHub's limit per request.
const maxAnnotations = 50

// CreateCheckRun creates a completed check run and returns its id.
func (c *Client) CreateCheckRun(ctx context.Context, owner, repo string, cr CheckRun) (int64, error) {
	first, rest := split(cr.Annotations)
	out, _, err := c.gh.Checks.CreateCheckRun(ctx, owner, repo, gh.CreateCheckRunOptions{
		Name: cr.Name, HeadSHA: cr.HeadSHA, Status: gh.String("completed"), Conclusion: gh.String(cr.Conclusion),
		ExternalID: gh.String(cr.ExternalID), Actions: cr.Actions,
		Output: &gh.CheckRunOutput{Title: gh.String(cr.Title), Summary: gh.String(cr.Summary), Text: optional(cr.Text), Annotations: first},
	})
	if err != nil {
		return 0, wrap(err, "create check run on %s/%s@%s", owner, repo, cr.HeadSHA)
	}
	id := out.GetID()
	return id, c.addAnnotations(ctx, owner, repo, id, cr, rest)
}

// UpdateCheckRun replaces a check run's conclusion and output.
func (c *Client) UpdateCheckRun(ctx context.Context, owner, repo string, id int64, cr CheckRun) error {
	first, rest := split(cr.Annotations)
	// go-github leaves an empty actions list out, which would keep the
	// buttons: the body says it outright (the outer field wins).
	body := struct {
		gh.UpdateCheckRunOptions
		Actions []*gh.CheckRunAction `json:"actions"`
	}{gh.UpdateCheckRunOptions{
		Name: cr.Name, Status: gh.String("completed"), Conclusion: gh.String(cr.Conclusion),
		Output: &gh.CheckRunOutput{Title: gh.String(cr.Title), Summary: gh.String(cr.Summary), Text: optional(cr.Text), Annotations: first},
	}, actions(cr.Actions)}
	req, err := c.gh.NewRequest(http.MethodPatch, fmt.Sprintf("repos/%s/%s/check-runs/%d", owner, repo, id), body)
	if err == nil {
		_, err = c.gh.Do(ctx, req, nil)
	}
	if err != nil {
		return wrap(err, "update check run %d on %s/%s", id, owner, repo)
	}
	return c.addAnnotations(ctx, owner, repo, id, cr, rest)
}

func (c *Client) addAnnotations(ctx context.Context, owner, repo string, id int64, cr CheckRun, rest []*gh.CheckRunAnnotation) error {
	for len(rest) > 0 {
		var batch []*gh.CheckRunAnnotation
		batch, rest = split(rest)
		_, _, err := c.gh.Checks.UpdateCheckRun(ctx, owner, repo, id, gh.UpdateCheckRunOptions{
			Name:   cr.Name,
			Output: &gh.CheckRunOutput{Title: gh.String(cr.Title), Summary: gh.String(cr.Summary), Annotations: batch},
		})
		if err != nil {
			return wrap(err, "annotate check run %d on %s/%s", id, owner, repo)
		}
	}
	return nil
}

// actions is never nil on an update: an empty list takes the buttons
// away, where a missing one would leave them.
func actions(a []*gh.CheckRunAction) []*gh.CheckRunAction {
	if a == nil {
		return []*gh.CheckRunAction{}
	}
	return a
}

func split(a []*gh.CheckRunAnnotation) (first, rest []*gh.CheckRunAnnotation) {
	if len(a) <= maxAnnotations {
		return a, nil
	}
	return a[:maxAnnotations], a[maxAnnotations:]
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// FindCheckRun returns the id of the check run with name (any name when
// empty) and externalID on a commit, 0 when there is none; it lets a retry after a crash find what
// the crashed attempt created.
func (c *Client) FindCheckRun(ctx context.Context, owner, repo, sha, name, externalID string) (int64, error) {
	opts := &gh.ListCheckRunsOptions{Filter: gh.String("all"), ListOptions: gh.ListOptions{PerPage: 100}}
	if name != "" {
		opts.CheckName = gh.String(name)
	}
	if c.app != nil {
		opts.AppID = gh.Int64(c.app.appID) // another App's check runs may use the same external ids
	}
	res, _, err := c.gh.Checks.ListCheckRunsForRef(ctx, owner, repo, sha, opts)
	if err != nil {
		return 0, wrap(err, "list check runs on %s/%s@%s", owner, repo, sha)
	}
	for _, cr := range res.CheckRuns {
		if cr.GetExternalID() == externalID {
			return cr.GetID(), nil
		}
	}
	return 0, nil
}

// CreateComment comments on a pull request and returns the comment id.
func (c *Client) CreateComment(ctx context.Context, owner, repo string, pr int, body string) (int64, error) {
	out, _, err := c.gh.Issues.CreateComment(ctx, owner, repo, pr, &gh.IssueComment{Body: gh.String(body)})
	if err != nil {
		return 0, wrap(err, "comment on %s/%s#%d", owner, repo, pr)
	}
	return out.GetID(), nil
}

// UpdateComment replaces a comment's body.
func (c *Client) UpdateComment(ctx context.Context, owner, repo string, id int64, body string) error {
	_, _, err := c.gh.Issues.EditComment(ctx, owner, repo, id, &gh.IssueComment{Body: gh.String(body)})
	if err != nil {
		return wrap(err, "update comment %d on %s/%s", id, owner, repo)
	}
	return nil
}

// FindComment returns the id of the first comment on a pull request whose
// body contains marker, 0 when there is none.
func (c *Client) FindComment(ctx context.Context, owner, repo string, pr int, marker string) (int64, error) {
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for page := 0; page < 10; page++ {
		list, resp, err := c.gh.Issues.ListComments(ctx, owner, repo, pr, opts)
		if err != nil {
			return 0, wrap(err, "list comments on %s/%s#%d", owner, repo, pr)
		}
		for _, cm := range list {
			if marker != "" && strings.Contains(cm.GetBody(), marker) {
				return cm.GetID(), nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return 0, nil
}

// FormatID formats a GitHub id for storage.
func FormatID(id int64) string { return strconv.FormatInt(id, 10) }
