package fakegithub

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The App's user authorization: GitHub's OAuth web flow for GitHub Apps
// (/login/oauth/authorize, /login/oauth/access_token) and the REST calls
// a user-to-server token makes (/user, /user/installations, memberships).
// On github.com the two OAuth paths live on the web host, not the API's;
// the fake serves both from one address.

// User is a GitHub user who may sign in to the App.
type User struct {
	Login string
	ID    int64
	Name  string
	// Repositories maps owner/name to the user's permission on it: read,
	// triage, write, maintain or admin. Anything else cannot be read.
	Repositories map[string]string
	// Organizations maps an organization to the user's role in it: admin
	// (an owner) or member.
	Organizations map[string]string
	// Teams are the org/team-slug teams the user is an active member of.
	Teams []string
}

// oauthState is the fake's side of user authorization.
type oauthState struct {
	clientID, clientSecret string
	callbacks              []string
	users                  map[string]*User // lower-case login →
	codes                  map[string]*authCode
}

type authCode struct {
	login, redirectURI, challenge string
	expires                       time.Time
}

// SetOAuthClient registers the App's client id and secret and its callback
// URLs (the first is where GitHub sends users when the authorize request
// names none).
func (s *Server) SetOAuthClient(clientID, clientSecret string, callbackURLs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.clientID, s.oauth.clientSecret, s.oauth.callbacks = clientID, clientSecret, callbackURLs
}

// AddUser adds or replaces a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == 0 {
		u.ID = int64(idOf(u.Login))
	}
	if s.oauth.users == nil {
		s.oauth.users = map[string]*User{}
	}
	s.oauth.users[strings.ToLower(u.Login)] = &u
}

// UserTokens returns every user access token handed out (for audits).
func (s *Server) UserTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for tok, t := range s.tokens {
		if t.user != "" {
			out = append(out, tok)
		}
	}
	return out
}

// RevokeUserTokens revokes every token of a user, as when they revoke the
// App's authorization.
func (s *Server) RevokeUserTokens(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok, t := range s.tokens {
		if strings.EqualFold(t.user, login) {
			delete(s.tokens, tok)
		}
	}
}

func idOf(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(s)))
	return h.Sum32() >> 1
}

var authorizePage = template.Must(template.New("authorize").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize application</title></head>
<body><main>
<h1>Sign in to GitHub to continue to the App</h1>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/login/oauth/authorize">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="code_challenge" value="{{.Challenge}}">
<input type="hidden" name="code_challenge_method" value="{{.Method}}">
<label for="login">Username or email address</label>
<input id="login" name="login" autocomplete="username" value="{{.Login}}">
<button type="submit" name="authorize" value="1" id="authorize">Authorize</button>
<button type="submit" name="authorize" value="0" id="cancel">Cancel</button>
</form></main></body></html>
`))

// authorize shows the sign-in and authorization page (GET) and, when the
// user authorizes (POST), sends them to the callback with a code.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	q := r.Form
	s.mu.Lock()
	o := s.oauth
	s.mu.Unlock()
	if o.clientID == "" || q.Get("client_id") != o.clientID {
		// github.com shows its 404 page for an unknown client.
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	callback := ""
	if len(o.callbacks) > 0 {
		callback = o.callbacks[0]
	}
	redirect := q.Get("redirect_uri")
	if redirect != "" && !slices.Contains(o.callbacks, redirect) {
		back(w, r, callback, url.Values{"error": {"redirect_uri_mismatch"},
			"error_description": {"The redirect_uri is not associated with this application."},
			"error_uri":         {"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch"},
			"state":             {q.Get("state")}})
		return
	}
	if redirect == "" {
		redirect = callback
	}
	method := q.Get("code_challenge_method")
	if q.Get("code_challenge") != "" && method != "S256" {
		http.Error(w, "code_challenge_method must be S256", http.StatusBadRequest)
		return
	}
	page := map[string]string{"ClientID": o.clientID, "RedirectURI": q.Get("redirect_uri"), "State": q.Get("state"),
		"Challenge": q.Get("code_challenge"), "Method": method, "Login": q.Get("login")}
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = authorizePage.Execute(w, page)
		return
	}
	if q.Get("authorize") != "1" {
		back(w, r, redirect, url.Values{"error": {"access_denied"},
			"error_description": {"The user has denied your application access."},
			"error_uri":         {"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied"},
			"state":             {q.Get("state")}})
		return
	}
	s.mu.Lock()
	u := o.users[strings.ToLower(q.Get("login"))]
	code := ""
	if u != nil {
		code = randomToken()[4:24] // GitHub's codes are 20 characters
		if s.oauth.codes == nil {
			s.oauth.codes = map[string]*authCode{}
		}
		s.oauth.codes[code] = &authCode{login: u.Login, redirectURI: q.Get("redirect_uri"),
			challenge: q.Get("code_challenge"), expires: time.Now().Add(10 * time.Minute)}
	}
	s.mu.Unlock()
	if u == nil {
		page["Error"] = "Incorrect username or password."
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_ = authorizePage.Execute(w, page)
		return
	}
	back(w, r, redirect, url.Values{"code": {code}, "state": {q.Get("state")}})
}

// back redirects to the callback with the given parameters.
func back(w http.ResponseWriter, r *http.Request, callback string, params url.Values) {
	u, err := url.Parse(callback)
	if err != nil || callback == "" {
		http.Error(w, "no callback URL", http.StatusBadRequest)
		return
	}
	q := u.Query()
	for k, v := range params {
		if v[0] != "" {
			q[k] = v
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// accessToken exchanges a code for a user access token. As on GitHub the
// errors are answered 200 with an error object, and the answer is JSON only
// when the request accepts it (form-encoded otherwise).
func (s *Server) userAccessToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	q := r.Form
	reply := func(v map[string]any) {
		if strings.Contains(r.Header.Get("Accept"), "json") {
			writeJSON(w, http.StatusOK, v)
			return
		}
		form := url.Values{}
		for k, val := range v {
			form.Set(k, fmt.Sprint(val))
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		_, _ = w.Write([]byte(form.Encode()))
	}
	fail := func(code, desc, anchor string) {
		reply(map[string]any{"error": code, "error_description": desc,
			"error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#" + anchor})
	}
	s.mu.Lock()
	o := s.oauth
	c := o.codes[q.Get("code")]
	delete(s.oauth.codes, q.Get("code")) // a code is good once
	s.mu.Unlock()
	switch {
	case o.clientID == "" || q.Get("client_id") != o.clientID || q.Get("client_secret") != o.clientSecret:
		fail("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.", "incorrect-client-credentials")
		return
	case c == nil || time.Now().After(c.expires):
		fail("bad_verification_code", "The code passed is incorrect or expired.", "bad-verification-code")
		return
	case q.Get("redirect_uri") != "" && q.Get("redirect_uri") != c.redirectURI:
		fail("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.", "redirect-uri-mismatch")
		return
	case c.challenge != "" && !pkceMatches(c.challenge, q.Get("code_verifier")):
		fail("bad_verification_code", "The code passed is incorrect or expired.", "bad-verification-code")
		return
	}
	tok := "ghu_" + randomToken()[4:40]
	s.mu.Lock()
	s.tokens[tok] = token{user: c.login, expires: time.Now().Add(8 * time.Hour)}
	s.mu.Unlock()
	reply(map[string]any{"access_token": tok, "expires_in": 28800, "refresh_token": "ghr_" + randomToken()[4:],
		"refresh_token_expires_in": 15811200, "token_type": "bearer", "scope": ""})
}

func pkceMatches(challenge, verifier string) bool {
	sum := sha256.Sum256([]byte(verifier))
	return verifier != "" && base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
}

// requireUser returns the user whose token r carries; a request without
// one is answered as GitHub does.
func (s *Server) requireUser(w http.ResponseWriter, r *http.Request) (*User, bool) {
	s.mu.Lock()
	t, known := s.tokens[credential(r)]
	var u *User
	if known {
		u = s.oauth.users[strings.ToLower(t.user)]
	}
	s.mu.Unlock()
	switch {
	case !known || time.Now().After(t.expires):
		writeError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return nil, false
	case u == nil:
		writeError(w, http.StatusForbidden, "Resource not accessible by integration", "https://docs.github.com/rest")
		return nil, false
	}
	cp := *u
	return &cp, true
}

// userOf is the user whose token r carries, nil for another token.
func (s *Server) userOf(r *http.Request) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[s.tokenOf(r)]
	if t.user == "" {
		return nil
	}
	return s.oauth.users[strings.ToLower(t.user)]
}

// permission is the user's permission on a repository, "" for none.
func (u *User) permission(repo string) string {
	for name, p := range u.Repositories {
		if strings.EqualFold(name, repo) {
			switch p {
			case "read", "triage", "write", "maintain", "admin":
				return p
			}
		}
	}
	return ""
}

func userJSON(u *User) map[string]any {
	return map[string]any{"login": u.Login, "id": u.ID, "node_id": fmt.Sprintf("U_%d", u.ID), "type": "User",
		"site_admin": false, "name": u.Name, "avatar_url": "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(u.ID, 10),
		"html_url": "https://github.com/" + u.Login}
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	if u, ok := s.requireUser(w, r); ok {
		writeJSON(w, http.StatusOK, userJSON(u))
	}
}

// installationsOf lists the App's installations the user can reach: those
// on accounts where they read a repository or belong to the organization.
func (s *Server) installationsOf(u *User) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	seen := map[int64]bool{}
	owners := make([]string, 0, len(s.installations))
	for owner := range s.installations {
		owners = append(owners, owner)
	}
	sort.Strings(owners)
	for _, owner := range owners {
		id := s.installations[owner]
		if seen[id] {
			continue // tests may install one id on several owners: listed once
		}
		reach := false
		for org := range u.Organizations {
			reach = reach || strings.EqualFold(org, owner)
		}
		for repo := range u.Repositories {
			o, _, _ := strings.Cut(repo, "/")
			reach = reach || (strings.EqualFold(o, owner) && u.permission(repo) != "")
		}
		if !reach {
			continue
		}
		seen[id] = true
		kind := "User"
		for _, other := range s.oauth.users {
			for org := range other.Organizations {
				if strings.EqualFold(org, owner) {
					kind = "Organization"
				}
			}
		}
		out = append(out, map[string]any{"id": id, "app_id": s.appID, "target_type": kind, "repository_selection": "all",
			"account": map[string]any{"login": owner, "id": idOf(owner), "type": kind},
			"permissions": map[string]string{"actions": "write", "checks": "write", "contents": "read", "metadata": "read",
				"pull_requests": "write", "members": "read"}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["id"].(int64) < out[j]["id"].(int64) })
	return out
}

func (s *Server) userInstallations(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	list := s.installationsOf(u)
	items, total := paginate(w, r, list)
	writeJSON(w, http.StatusOK, map[string]any{"total_count": total, "installations": items})
}

func (s *Server) userInstallationRepos(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	reachable := false
	for _, in := range s.installationsOf(u) {
		reachable = reachable || in["id"].(int64) == id
	}
	if !reachable {
		notFound(w)
		return
	}
	s.mu.Lock()
	var names []string
	for repo := range u.Repositories {
		if o, _, _ := strings.Cut(repo, "/"); s.installations[strings.ToLower(o)] == id && u.permission(repo) != "" {
			names = append(names, repo)
		}
	}
	s.mu.Unlock()
	sort.Strings(names)
	var list []map[string]any
	for _, repo := range names {
		p := u.permission(repo)
		rank := map[string]int{"read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}[p]
		o, name, _ := strings.Cut(repo, "/")
		list = append(list, map[string]any{"id": idOf(repo), "name": name, "full_name": repo, "private": true,
			"owner":       map[string]any{"login": o},
			"permissions": map[string]bool{"pull": rank >= 1, "triage": rank >= 2, "push": rank >= 3, "maintain": rank >= 4, "admin": rank >= 5}})
	}
	items, total := paginate(w, r, list)
	writeJSON(w, http.StatusOK, map[string]any{"total_count": total, "repository_selection": "all", "repositories": items})
}

// paginate cuts list to the requested page (per_page default 30, at most
// 100) and sets the Link header GitHub sends.
func paginate(w http.ResponseWriter, r *http.Request, list []map[string]any) ([]map[string]any, int) {
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	last := max(1, (len(list)+per-1)/per)
	link := func(n int, rel string) string {
		u := *r.URL
		q := u.Query()
		q.Set("per_page", strconv.Itoa(per))
		q.Set("page", strconv.Itoa(n))
		u.RawQuery = q.Encode()
		return fmt.Sprintf(`<http://%s%s>; rel="%s"`, r.Host, u.RequestURI(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := min((page-1)*per, len(list))
	end := min(start+per, len(list))
	items := list[start:end]
	if items == nil {
		items = []map[string]any{}
	}
	return items, len(list)
}

// orgMembership answers GET /user/memberships/orgs/{org}.
func (s *Server) orgMembership(w http.ResponseWriter, r *http.Request) {
	u, ok := s.requireUser(w, r)
	if !ok {
		return
	}
	org := r.PathValue("org")
	for name, role := range u.Organizations {
		if strings.EqualFold(name, org) {
			writeJSON(w, http.StatusOK, map[string]any{
				"url":   fmt.Sprintf("%s/orgs/%s/memberships/%s", s.URL(), name, u.Login),
				"state": "active", "role": role, "organization_url": fmt.Sprintf("%s/orgs/%s", s.URL(), name),
				"organization": map[string]any{"login": name, "id": idOf(name)}, "user": userJSON(u)})
			return
		}
	}
	notFound(w)
}

// teamMembership answers GET /orgs/{org}/teams/{team_slug}/memberships/{username}.
func (s *Server) teamMembership(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.requireUser(w, r); !ok {
		return
	}
	team := r.PathValue("org") + "/" + r.PathValue("team")
	s.mu.Lock()
	member := s.oauth.users[strings.ToLower(r.PathValue("username"))]
	s.mu.Unlock()
	if member != nil {
		for _, t := range member.Teams {
			if strings.EqualFold(t, team) {
				writeJSON(w, http.StatusOK, map[string]any{"role": "member", "state": "active",
					"url": fmt.Sprintf("%s/teams/%d/memberships/%s", s.URL(), idOf(team), member.Login)})
				return
			}
		}
	}
	notFound(w)
}
