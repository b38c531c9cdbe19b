package github

import (
	"context"
	"fmt"
	"net/http"

	gh "github.com/google/go-github/v62/github"

	"github.com/runpolicy/runpolicy/resolve"
)

// refsPerPage is the most branches or tags GitHub returns a page.
const refsPerPage = 100

// Branches returns one page of a repository's branches (GET
// /repos/{owner}/{repo}/branches) and the next page from its Link header,
// 0 after the last.
func (c *Client) Branches(ctx context.Context, owner, repo string, page int) ([]resolve.Ref, int, error) {
	list, resp, err := c.gh.Repositories.ListBranches(ctx, owner, repo, &gh.BranchListOptions{ListOptions: gh.ListOptions{Page: page, PerPage: refsPerPage}})
	if err != nil {
		return nil, 0, wrap(err, "list branches of %s/%s (page %d)", owner, repo, page)
	}
	out := make([]resolve.Ref, 0, len(list))
	for _, b := range list {
		out = append(out, resolve.Ref{Name: b.GetName(), SHA: b.GetCommit().GetSHA()})
	}
	return out, resp.NextPage, nil
}

// Tags returns one page of a repository's tags (GET
// /repos/{owner}/{repo}/tags), each with the commit it points to, and the
// next page, 0 after the last.
func (c *Client) Tags(ctx context.Context, owner, repo string, page int) ([]resolve.Ref, int, error) {
	list, resp, err := c.gh.Repositories.ListTags(ctx, owner, repo, &gh.ListOptions{Page: page, PerPage: refsPerPage})
	if err != nil {
		return nil, 0, wrap(err, "list tags of %s/%s (page %d)", owner, repo, page)
	}
	out := make([]resolve.Ref, 0, len(list))
	for _, t := range list {
		out = append(out, resolve.Ref{Name: t.GetName(), SHA: t.GetCommit().GetSHA()})
	}
	return out, resp.NextPage, nil
}

// Compare returns the status of head against base (GET
// /repos/{owner}/{repo}/compare/{base}...{head}): ahead, behind, identical
// or diverged. GitHub answers 404 when the two share no history, which is
// ErrNotFound. One commit per page keeps the answer small.
func (c *Client) Compare(ctx context.Context, owner, repo, base, head string) (string, error) {
	cmp, resp, err := c.gh.Repositories.CompareCommits(ctx, owner, repo, base, head, &gh.ListOptions{PerPage: 1})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnprocessableEntity { // a commit GitHub does not know
			return "", fmt.Errorf("compare %s/%s %s...%s: %w", owner, repo, base, head, ErrNotFound)
		}
		return "", wrap(err, "compare %s/%s %s...%s", owner, repo, base, head)
	}
	return cmp.GetStatus(), nil
}

// TagObject returns what an annotated tag object points to, its SHA and
// type (GET /repos/{owner}/{repo}/git/tags/{tag_sha}); GitHub answers 404,
// ErrNotFound, when sha is no tag object (a commit, a tree, nothing).
func (c *Client) TagObject(ctx context.Context, owner, repo, sha string) (string, string, error) {
	tag, _, err := c.gh.Git.GetTag(ctx, owner, repo, sha)
	if err != nil {
		return "", "", wrap(err, "get tag object %s of %s/%s", sha, owner, repo)
	}
	return tag.GetObject().GetSHA(), tag.GetObject().GetType(), nil
}
