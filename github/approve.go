package github

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"

	gh "github.com/google/go-github/v62/github"
)

// Roles are GitHub's repository roles, weakest first.
var Roles = []string{"read", "triage", "write", "maintain", "admin"}

// Permission returns a user's role on a repository, as GitHub's
// collaborator permission API names it (role_name: read, triage, write,
// maintain, admin); for a custom role, its base permission. "" when the
// user is no collaborator (GitHub answers 404).
func (c *Client) Permission(ctx context.Context, owner, repo, user string) (string, error) {
	// go-github v62 does not read role_name.
	var p struct {
		Permission string `json:"permission"`
		RoleName   string `json:"role_name"`
	}
	req, err := c.gh.NewRequest("GET", fmt.Sprintf("repos/%v/%v/collaborators/%v/permission", owner, repo, url.PathEscape(user)), nil)
	if err == nil {
		_, err = c.gh.Do(ctx, req, &p)
	}
	if err != nil {
		err = wrap(err, "permission of %s on %s/%s", user, owner, repo)
		if errors.Is(err, ErrNotFound) {
			return "", nil
		}
		return "", err
	}
	if slices.Contains(Roles, p.RoleName) {
		return p.RoleName, nil
	}
	switch p.Permission { // a custom role, named by its base permission
	case "admin", "write", "read":
		return p.Permission, nil
	}
	return "", nil
}

// RerunRun re-runs every job of a completed run (POST …/rerun).
func (c *Client) RerunRun(ctx context.Context, owner, repo string, id int64) error {
	_, err := c.gh.Actions.RerunWorkflowByID(ctx, owner, repo, id)
	var accepted *gh.AcceptedError
	if err != nil && !errors.As(err, &accepted) {
		return wrap(err, "re-run run %d of %s/%s", id, owner, repo)
	}
	return nil
}

// AtLeast reports whether role is role min or stronger.
func AtLeast(role, min string) bool {
	i, j := slices.Index(Roles, role), slices.Index(Roles, min)
	return i >= 0 && j >= 0 && i >= j
}
