package console

import (
	"context"
	"strings"
	"time"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// access is what one signed-in user may see, as GitHub said with their
// token a moment ago (cached for Options.AccessTTL per session).
type access struct {
	at    time.Time
	scope store.Scope
	// admin may open the Policies page: a member of console_admins (who
	// sees everything) or an owner of an organization the App is on.
	admin bool
}

// access asks GitHub what the user may see: a member of the console_admins
// team sees everything; an organization owner sees every repository of
// the organization; anyone else the repositories they can read where the
// App is installed. Anything GitHub does not confirm is not seen.
func (c *Console) access(ctx context.Context, sess *session, token string) (*access, error) {
	if a, ok := c.cache.Get(sess.ID); ok && time.Since(a.at) < c.opts.AccessTTL {
		return a, nil
	}
	cl := c.user(token)
	a := &access{at: time.Now()}
	if c.opts.Admins != "" {
		member, err := inTeam(ctx, cl, c.opts.Admins, sess.Login)
		if err != nil {
			return nil, err
		}
		if member {
			a.scope.All, a.admin = true, true
		}
	}
	if !a.scope.All {
		repos, orgs, err := readable(ctx, cl)
		if err != nil {
			return nil, err
		}
		a.scope.Repositories = repos
		for _, org := range orgs {
			owner, err := ownerOf(ctx, cl, org)
			if err != nil {
				return nil, err
			}
			if owner {
				a.scope.Owners = append(a.scope.Owners, strings.ToLower(org))
			}
		}
		a.admin = len(a.scope.Owners) > 0
	}
	c.cache.Add(sess.ID, a)
	return a, nil
}

// administers reports whether the user may act on a repository's behalf
// (revoke its approvals): a console_admins member on every one, an
// organization owner on their organizations'. Reading it is not enough.
func (a *access) administers(repository string) bool {
	return a.scope.All || store.Scope{Owners: a.scope.Owners}.Allows(repository)
}
