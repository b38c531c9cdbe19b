package console

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"
)

// The GitHub side of the console: the OAuth web flow of the App (web host)
// and the REST calls made with the user's token (API host).

// errSignedOut is a user token GitHub no longer accepts (revoked or
// expired): the user signs in again.
var errSignedOut = errors.New("the GitHub token is no longer valid")

// webURL is the GitHub web host that serves the OAuth pages for an API URL:
// https://api.github.com → https://github.com, https://HOST/api/v3 →
// https://HOST, https://api.SUB.ghe.com → https://SUB.ghe.com; any other
// (a test's fake) serves both.
func webURL(api string) (string, error) {
	u, err := url.Parse(strings.TrimRight(api, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("github api url %q: want an http(s) URL", api)
	}
	switch {
	case strings.HasSuffix(u.Path, "/api/v3"):
		u.Path = strings.TrimSuffix(u.Path, "/api/v3")
	case u.Path == "" && strings.HasPrefix(u.Host, "api."):
		u.Host = strings.TrimPrefix(u.Host, "api.")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// pkceChallenge is the S256 code challenge of a verifier.
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeURL is where the browser goes to sign in. Without redirect_uri
// GitHub sends the user back to the App's first callback URL.
func (c *Console) authorizeURL(state, verifier string) string {
	q := url.Values{"client_id": {c.opts.ClientID}, "state": {state},
		"code_challenge": {pkceChallenge(verifier)}, "code_challenge_method": {"S256"}, "allow_signup": {"false"}}
	return c.web + "/login/oauth/authorize?" + q.Encode()
}

// userToken is GitHub's answer to the code exchange.
type userToken struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	Error       string `json:"error"`
}

// exchange trades the callback's code for the user's access token.
func (c *Console) exchange(ctx context.Context, code, verifier string) (userToken, error) {
	form := url.Values{"client_id": {c.opts.ClientID}, "client_secret": {c.opts.ClientSecret},
		"code": {code}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.web+"/login/oauth/access_token", strings.NewReader(form.Encode()))
	if err != nil {
		return userToken{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return userToken{}, fmt.Errorf("github: exchange the sign-in code: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return userToken{}, fmt.Errorf("github: exchange the sign-in code: %w", err)
	}
	var t userToken
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &t) != nil {
		return userToken{}, fmt.Errorf("github: exchange the sign-in code: HTTP %d", resp.StatusCode)
	}
	if t.Error != "" || t.AccessToken == "" {
		// GitHub answers 200 with an error code (bad_verification_code,
		// incorrect_client_credentials, …); the code alone is logged.
		return userToken{}, fmt.Errorf("github: exchange the sign-in code: %s", cmp.Or(t.Error, "no token"))
	}
	return t, nil
}

// user is a go-github client acting as the signed-in user.
func (c *Console) user(token string) *gh.Client {
	cl := gh.NewClient(c.http).WithAuthToken(token)
	cl.BaseURL, cl.UploadURL = c.api, c.api
	cl.UserAgent = "runpolicy-console"
	return cl
}

// ghError turns a go-github error into errSignedOut for a 401, and into a
// one-line error naming the call otherwise; notFound reports a 404 (or a
// 403, which GitHub answers when the App lacks a permission).
func ghError(err error, what string) (notFound bool, _ error) {
	var re *gh.ErrorResponse
	if errors.As(err, &re) && re.Response != nil {
		switch re.Response.StatusCode {
		case http.StatusUnauthorized:
			return false, errSignedOut
		case http.StatusNotFound, http.StatusForbidden:
			return true, fmt.Errorf("github: %s: HTTP %d", what, re.Response.StatusCode)
		}
		return false, fmt.Errorf("github: %s: HTTP %d", what, re.Response.StatusCode)
	}
	return false, fmt.Errorf("github: %s: %w", what, err)
}

// maxPages bounds the pages of 100 read from one list: a user who reads
// more than 10,000 repositories of one installation sees the first 10,000.
const maxPages = 100

// readable lists the repositories (owner/name) the user can read where the
// App is installed, and the organization accounts of those installations.
func readable(ctx context.Context, cl *gh.Client) (repos, orgs []string, err error) {
	var installations []*gh.Installation
	opt := &gh.ListOptions{PerPage: 100}
	for range maxPages {
		page, resp, err := cl.Apps.ListUserInstallations(ctx, opt)
		if err != nil {
			_, err = ghError(err, "list the user's installations")
			return nil, nil, err
		}
		installations = append(installations, page...)
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	for _, in := range installations {
		if in.GetAccount().GetType() == "Organization" {
			orgs = append(orgs, in.GetAccount().GetLogin())
		}
		opt := &gh.ListOptions{PerPage: 100}
		for range maxPages {
			list, resp, err := cl.Apps.ListUserRepos(ctx, in.GetID(), opt)
			if err != nil {
				_, err = ghError(err, fmt.Sprintf("list the repositories of installation %d", in.GetID()))
				return nil, nil, err
			}
			for _, r := range list.Repositories {
				if r.GetPermissions()["pull"] && r.GetFullName() != "" {
					repos = append(repos, r.GetFullName())
				}
			}
			if resp.NextPage == 0 {
				break
			}
			opt.Page = resp.NextPage
		}
	}
	return repos, orgs, nil
}

// ownerOf reports whether the user is an owner (an active admin member)
// of org.
func ownerOf(ctx context.Context, cl *gh.Client, org string) (bool, error) {
	m, _, err := cl.Organizations.GetOrgMembership(ctx, "", org)
	if err != nil {
		// Not a member (404), or the App may not read memberships (403):
		// not an owner either way.
		nf, err := ghError(err, "membership in "+org)
		if nf {
			return false, nil
		}
		return false, err
	}
	return m.GetState() == "active" && m.GetRole() == "admin", nil
}

// inTeam reports whether login is an active member of team (org/slug).
func inTeam(ctx context.Context, cl *gh.Client, team, login string) (bool, error) {
	org, slug, _ := strings.Cut(team, "/")
	m, _, err := cl.Teams.GetTeamMembershipBySlug(ctx, org, slug, login)
	if err != nil {
		nf, err := ghError(err, "membership in team "+team)
		if nf {
			return false, nil
		}
		return false, err
	}
	return m.GetState() == "active", nil
}

// maxSource bounds a workflow file shown beside findings.
const maxSource = 1 << 20

// source reads a file at a commit with the user's token: what the user
// could read on GitHub themselves, and nothing else.
func source(ctx context.Context, cl *gh.Client, repo, path, ref string) ([]byte, error) {
	owner, name, _ := strings.Cut(repo, "/")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	f, _, _, err := cl.Repositories.GetContents(ctx, owner, name, path, &gh.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		_, err = ghError(err, "read "+repo+"/"+path)
		return nil, err
	}
	if f == nil || f.GetSize() > maxSource {
		return nil, fmt.Errorf("github: read %s/%s: not a file of at most 1 MB", repo, path)
	}
	s, err := f.GetContent()
	if err != nil {
		return nil, fmt.Errorf("github: read %s/%s: %w", repo, path, err)
	}
	return []byte(s), nil
}
