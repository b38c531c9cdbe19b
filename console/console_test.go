package console

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/runpolicy/runpolicy/test/fakegithub"
)

func testLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func fakegithubUser(login string, repos map[string]string) fakegithub.User {
	return fakegithub.User{Login: login, Repositories: repos, Organizations: map[string]string{"acme": "member"}}
}

func TestSignIn(t *testing.T) {
	e := newEnv(t, nil)
	base := e.con.Path()
	c := noRedirects()

	// A page without a session sends the browser to the sign-in page,
	// keeping where it was going.
	resp := e.do(c, "GET", e.srv.URL+base+"evaluations/"+e.ids["api-deny"], nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != base+"login?next=%2Fevaluations%2Fdec-api-deny" {
		t.Fatalf("no session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = e.do(c, "GET", e.srv.URL+resp.Header.Get("Location"), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.body, `href="/login/github?next=%2fevaluations%2fdec-api-deny"`) {
		t.Fatalf("sign-in page: %d\n%s", resp.StatusCode, resp.body)
	}
	resp = e.do(c, "GET", e.srv.URL+base+"login/github?next=%2Fevaluations%2Fdec-api-deny", nil)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	if resp.StatusCode != http.StatusFound || loc.Path != "/login/oauth/authorize" || q.Get("client_id") != clientID ||
		q.Get("state") == "" || q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") != "" {
		t.Fatalf("to GitHub: %d %s", resp.StatusCode, loc)
	}
	flow := cookieNamed(resp.Response, oauthCookie)
	if flow == nil || !flow.HttpOnly || !flow.Secure || flow.SameSite != http.SameSiteLaxMode || flow.MaxAge != 600 {
		t.Errorf("sign-in flow cookie = %+v", flow)
	}
	// GitHub's page, then its redirect to the callback.
	page := e.do(c, "GET", loc.String(), nil)
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, `name="login"`) {
		t.Fatalf("authorize page: %d", page.StatusCode)
	}
	q.Set("login", "alice")
	q.Set("authorize", "1")
	resp = e.do(c, "POST", e.gh.URL()+"/login/oauth/authorize", q)
	callback, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || callback.Path != base+"auth/callback" || callback.Query().Get("code") == "" {
		t.Fatalf("back from GitHub: %d %s", resp.StatusCode, callback)
	}
	resp = e.do(c, "GET", callback.String(), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/evaluations/dec-api-deny" {
		t.Fatalf("callback: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), e.logs)
	}
	sess := cookieNamed(resp.Response, sessionCookie)
	if sess == nil || !sess.HttpOnly || !sess.Secure || sess.SameSite != http.SameSiteLaxMode || sess.Path != base || sess.MaxAge <= 0 {
		t.Errorf("session cookie = %+v", sess)
	}
	if f := cookieNamed(resp.Response, oauthCookie); f == nil || f.MaxAge >= 0 {
		t.Errorf("the sign-in flow cookie is not cleared: %+v", f)
	}
	status, body := e.get(c, "/evaluations/dec-api-deny")
	if status != http.StatusOK || !strings.Contains(body, "Signed in as <strong>alice</strong>") {
		t.Errorf("signed in: %d", status)
	}
	// The code is good once: the callback again is refused (its flow
	// cookie is spent too).
	if resp := e.do(c, "GET", callback.String(), nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("callback replayed: %d", resp.StatusCode)
	}
	// The user's token never reaches a page or a cookie in the clear.
	tokens := e.gh.UserTokens()
	if len(tokens) == 0 {
		t.Fatal("no user token issued")
	}
	for _, tok := range tokens {
		if strings.Contains(body, tok) || strings.Contains(sess.Value, tok) || strings.Contains(e.logs.String(), tok) {
			t.Errorf("the user token %s… is in a page, the cookie or the log", tok[:8])
		}
		raw, _ := json.Marshal(sess.Value)
		if strings.Contains(string(raw), tok) {
			t.Error("token in the cookie")
		}
	}
	for _, secret := range []string{clientSecret, sessionKey} {
		if strings.Contains(body, secret) || strings.Contains(e.logs.String(), secret) {
			t.Errorf("a secret is in a page or the log")
		}
	}
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Sign-ins that must not end in a session.
func TestSignInRefused(t *testing.T) {
	e := newEnv(t, nil)
	base := e.con.Path()
	start := func(c *http.Client) url.Values {
		resp := e.do(c, "GET", e.srv.URL+base+"login/github", nil)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return loc.Query()
	}
	t.Run("state from another browser", func(t *testing.T) {
		victim, attacker := noRedirects(), noRedirects()
		q := start(attacker)
		q.Set("login", "dave")
		q.Set("authorize", "1")
		resp := e.do(attacker, "POST", e.gh.URL()+"/login/oauth/authorize", q)
		// The attacker's callback URL, opened in the victim's browser
		// (login CSRF): the victim started no flow.
		start(victim)
		resp = e.do(victim, "GET", resp.Header.Get("Location"), nil)
		if resp.StatusCode != http.StatusBadRequest || cookieNamed(resp.Response, sessionCookie) != nil {
			t.Errorf("callback with another browser's state: %d", resp.StatusCode)
		}
	})
	t.Run("cancelled on GitHub", func(t *testing.T) {
		c := noRedirects()
		q := start(c)
		q.Set("login", "alice")
		q.Set("authorize", "0")
		resp := e.do(c, "POST", e.gh.URL()+"/login/oauth/authorize", q)
		resp = e.do(c, "GET", resp.Header.Get("Location"), nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.body, "the authorization was cancelled") {
			t.Errorf("cancelled: %d", resp.StatusCode)
		}
	})
	t.Run("forged code", func(t *testing.T) {
		c := noRedirects()
		q := start(c)
		resp := e.do(c, "GET", e.srv.URL+base+"auth/callback?code=forged&state="+url.QueryEscape(q.Get("state")), nil)
		if resp.StatusCode != http.StatusBadGateway || cookieNamed(resp.Response, sessionCookie) != nil {
			t.Errorf("forged code: %d", resp.StatusCode)
		}
		if !strings.Contains(e.logs.String(), "bad_verification_code") {
			t.Errorf("the log does not say why:\n%s", e.logs)
		}
	})
	t.Run("wrong client secret", func(t *testing.T) {
		e := newEnv(t, func(o *Options) { o.ClientSecret = "not-the-secret" })
		c := noRedirects()
		resp := e.do(c, "GET", e.srv.URL+base+"login/github", nil)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		q := loc.Query()
		q.Set("login", "alice")
		q.Set("authorize", "1")
		resp = e.do(c, "POST", e.gh.URL()+"/login/oauth/authorize", q)
		resp = e.do(c, "GET", resp.Header.Get("Location"), nil)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(e.logs.String(), "incorrect_client_credentials") {
			t.Errorf("wrong secret: %d\n%s", resp.StatusCode, e.logs)
		}
	})
	t.Run("next leads off the console", func(t *testing.T) {
		for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "/login", "/auth/callback"} {
			if got := e.con.next(next); got != base {
				t.Errorf("next(%q) = %q, want %q", next, got, base)
			}
		}
		if got := e.con.next("/?outcome=deny"); got != "/?outcome=deny" {
			t.Errorf("next kept = %q", got)
		}
	})
}

func TestSessionCookie(t *testing.T) {
	e := newEnv(t, nil)
	base := e.con.Path()
	c := e.signIn("alice")
	u, _ := url.Parse(e.srv.URL + base)
	ck := c.Jar.Cookies(u)[0]
	body, sig, _ := strings.Cut(ck.Value, ".")
	for name, value := range map[string]string{
		"signature of another body": strings.Replace(body, body[len(body)-4:], "AAAA", 1) + "." + sig,
		"no signature":              body,
		"empty":                     "",
		"another key":               mustEncode(t, deriveKeys([]byte(strings.Repeat("x", 32))), sessionCookie),
		"another cookie's value":    mustEncode(t, e.con.keys, oauthCookie),
	} {
		t.Run(name, func(t *testing.T) {
			forged := noRedirects()
			forged.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: value, Path: base}})
			resp := e.do(forged, "GET", e.srv.URL+base, nil)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), base+"login") {
				t.Errorf("forged session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

func mustEncode(t *testing.T, k keys, name string) string {
	t.Helper()
	sealed, err := k.sealToken("sid", "ghu_x")
	if err != nil {
		t.Fatal(err)
	}
	v, err := k.encode(name, session{ID: "sid", Login: "carol", Token: sealed, Expires: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func TestSignOutNeedsTheFormsToken(t *testing.T) {
	e := newEnv(t, nil)
	base := e.con.Path()
	c := e.signIn("alice")
	_, body := e.get(c, base)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token in the sign-out form")
	}
	for name, form := range map[string]url.Values{"no token": {}, "another token": {"csrf": {e.con.keys.csrfToken("other")}}} {
		resp := e.do(c, "POST", e.srv.URL+base+"logout", form)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, resp.StatusCode)
		}
	}
	// A cross-site post is refused before the token is looked at.
	req, _ := http.NewRequest("POST", e.srv.URL+base+"logout", strings.NewReader(url.Values{"csrf": {m[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site sign-out: %d, want 403", resp.StatusCode)
	}
	if status, _ := e.get(c, base); status != http.StatusOK {
		t.Fatalf("still signed in: %d", status)
	}
	out := e.do(c, "POST", e.srv.URL+base+"logout", url.Values{"csrf": {m[1]}})
	if out.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", out.StatusCode)
	}
	if status, _ := e.get(c, base); status != http.StatusSeeOther {
		t.Errorf("after signing out: %d, want a redirect to sign in", status)
	}
}

// A token the user revoked on GitHub ends the session at the next look.
func TestRevokedTokenSignsOut(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AccessTTL = 1 })
	c := e.user("alice")
	e.gh.RevokeUserTokens("alice")
	resp := e.do(c, "GET", e.srv.URL+e.con.Path(), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != e.con.Path()+"login?expired=1" {
		t.Errorf("revoked token: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if ck := cookieNamed(resp.Response, sessionCookie); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("the session cookie is not cleared: %+v", ck)
	}
}

// GitHub failing is not a reason to show more: the page fails.
func TestGitHubDownShowsNothing(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AccessTTL = 1 })
	c := e.user("alice")
	e.gh.AddFault(fakegithub.Fault{Path: "/user/installations", Status: http.StatusBadGateway})
	status, body := e.get(c, e.con.Path())
	if status != http.StatusBadGateway || strings.Contains(body, "acme/api") {
		t.Errorf("GitHub down: %d", status)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, nil)
	for _, path := range []string{"/", "/login", "/nope"} {
		resp := e.do(noRedirects(), "GET", e.srv.URL+path, nil)
		h := resp.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
	resp := e.do(noRedirects(), "GET", e.srv.URL+"/static/style.css", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("style.css: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp := e.do(noRedirects(), "GET", e.srv.URL+"/static/", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("static listing: %d", resp.StatusCode)
	}
}

func TestEvaluationsPage(t *testing.T) {
	e := newEnv(t, nil)
	c := e.user("carol")
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"globex/tool", "acme/secret", "acme/api", "acme/api"}},
		{"?outcome=deny", []string{"acme/secret", "acme/api"}},
		{"?outcome=dry_run", []string{"globex/tool"}},
		{"?outcome=allow&organization=acme", []string{"acme/api"}},
		{"?policy=compromised_actions", []string{"acme/api"}},
		{"?event=pull_request", []string{"acme/api"}},
		{"?branch=main&repository=acme/api", []string{"acme/api"}},
	} {
		_, body := e.get(c, "/"+tc.query)
		var got []string
		for _, m := range regexp.MustCompile(`<td>([a-z]+/[a-z]+)</td>`).FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: rows %v, want %v", tc.query, got, tc.want)
		}
	}
	_, body := e.get(c, "/?repository=acme/api&outcome=deny")
	for _, want := range []string{"compromised_actions", "cancelled, check run, comment on #12", "/acme/api/actions/runs/1001/attempts/1",
		`href="/evaluations/dec-api-deny"`, `<option value="deny" selected>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the denied row lacks %q", want)
		}
	}
	for _, bad := range []struct{ query, field string }{
		{"?outcome=maybe", "outcome"}, {"?from=yesterday", "from"}, {"?from=2026-03-10&to=2026-03-01", "to"},
		{"?before=garbage", "before"}, {"?repository=" + strings.Repeat("a", 300), "repository"},
	} {
		status, body := e.get(c, "/"+bad.query)
		if status != http.StatusBadRequest || !strings.Contains(body, `id="filter-error">`+bad.field) {
			t.Errorf("%s: %d, want 400 naming %s", bad.query, status, bad.field)
		}
	}
}

func TestEvaluationsPaging(t *testing.T) {
	e := newEnv(t, nil)
	c := e.user("carol")
	_, body := e.get(c, "/?outcome=deny")
	if strings.Contains(body, `rel="next"`) {
		t.Error("a second page for two rows")
	}
	// Pages of one row: older, older, then back newer.
	e.con.pageSize = 1
	older := regexp.MustCompile(`href="([^"]+)" rel="next"`)
	newer := regexp.MustCompile(`href="([^"]+)" rel="prev"`)
	row := regexp.MustCompile(`<td>([a-z]+/[a-z]+)</td>`)
	_, body = e.get(c, "/?outcome=deny")
	var seen []string
	for range 3 {
		seen = append(seen, row.FindStringSubmatch(body)[1])
		m := older.FindStringSubmatch(body)
		if m == nil {
			break
		}
		_, body = e.get(c, strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	if strings.Join(seen, " ") != "acme/secret acme/api" {
		t.Errorf("pages %v", seen)
	}
	m := newer.FindStringSubmatch(body)
	if m == nil || !strings.Contains(m[1], "outcome=deny") {
		t.Fatalf("no newer page keeping the filter: %v", m)
	}
	_, body = e.get(c, strings.ReplaceAll(m[1], "&amp;", "&"))
	if got := row.FindStringSubmatch(body)[1]; got != "acme/secret" {
		t.Errorf("newer page: %s", got)
	}
}

func TestEvaluationPage(t *testing.T) {
	e := newEnv(t, nil)
	c := e.user("alice")
	status, body := e.get(c, "/evaluations/"+e.ids["api-deny"])
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	for _, want := range []string{
		"tj-actions/changed-files@v45 is compromised",                                                      // the finding
		`<span class="line hit"><span class="n">8</span>      - uses: tj-actions/changed-files@v45</span>`, // its line, from GitHub
		`<span class="n">5</span>`, `<span class="n">9</span>`, // three lines around it (9 is the last)
		"step 2", "cancelled", "comment on #12", "this evaluation", // actions
		"builtin-rev", "rego_query_eval", "1.5 ms", // bundles, timings
		`href="/evaluations/dec-api-deny/input.json"`, "&#34;schema_version&#34;: 1", // input document
		"octocat", "pull_request", "feature", // run context
		// The chain of the finding reached through two actions, and its line.
		`<p class="via">Reached through: <code>actions/checkout@v4</code> → <code>acme/nested-composite@v1</code> → <code>tj-actions/changed-files@v46</code></p>`,
		`<span class="line hit"><span class="n">7</span>      - uses: actions/checkout@v4</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(body, "Reached through"); n != 1 {
		t.Errorf("%d chains, want 1: a direct reference has none", n)
	}
	// The source was read with alice's own token.
	var read bool
	for _, call := range e.gh.Calls() {
		if call.Path == "/repos/acme/api/contents/.github/workflows/changes.yml" {
			read = call.Installation == 0 && strings.HasPrefix(call.Token, "ghu_")
		}
	}
	if !read {
		t.Error("the workflow was not read with the user's token")
	}
	resp := e.do(c, "GET", e.srv.URL+"/evaluations/"+e.ids["api-deny"]+"/input.json", nil)
	var doc map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.body), &doc) != nil || doc["schema_version"] != float64(1) ||
		resp.Header.Get("Content-Disposition") != "attachment; filename=runpolicy-input-acme-api-1001.json" {
		t.Errorf("input.json: %d %v %q", resp.StatusCode, doc["schema_version"], resp.Header.Get("Content-Disposition"))
	}
	// The page says how to judge the download again: with runpolicy, its
	// file as it downloads, and the bundles that decided.
	hint := regexp.MustCompile(`(?s)<p id="reproduce">(.*?)</p>`).FindStringSubmatch(body)
	if hint == nil {
		t.Fatal("the page does not say how to reproduce the decision")
	}
	for _, want := range []string{"<code>runpolicy eval --input runpolicy-input-acme-api-1001.json --policy PATH…</code>", "<code>--allow-builtin NAME</code>", "<code>runpolicy version</code>"} {
		if !strings.Contains(hint[1], want) {
			t.Errorf("the hint lacks %q:\n%s", want, hint[1])
		}
	}
	if strings.Contains(body, "opa eval") {
		t.Error("the page still says to run opa eval")
	}
}

// The console mounted below a path serves every page and link there.
func TestMountedBelowAPath(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Path = "/console/" })
	c := e.signIn("alice")
	status, body := e.get(c, "/console/")
	if status != http.StatusOK || !strings.Contains(body, `href="/console/evaluations/dec-api-deny"`) ||
		!strings.Contains(body, `href="/console/static/style.css"`) {
		t.Errorf("/console/: %d", status)
	}
	if status, _ := e.get(c, "/console/evaluations/"+e.ids["api-deny"]); status != http.StatusOK {
		t.Errorf("one evaluation: %d", status)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	e := newEnv(t, nil)
	good := e.con.opts
	for name, mod := range map[string]func(*Options){
		"no client id":      func(o *Options) { o.ClientID = "" },
		"no client secret":  func(o *Options) { o.ClientSecret = "" },
		"short session key": func(o *Options) { o.SessionKey = []byte("short") },
		"bad path":          func(o *Options) { o.Path = "/console" },
		"bad admins":        func(o *Options) { o.Admins = "acme" },
		"no store":          func(o *Options) { o.Store = nil },
		"bad api url":       func(o *Options) { o.APIURL = "ftp://x" },
	} {
		o := good
		mod(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestWebURL(t *testing.T) {
	for api, want := range map[string]string{
		"https://api.github.com":           "https://github.com",
		"https://api.github.com/":          "https://github.com",
		"https://ghes.example/api/v3":      "https://ghes.example",
		"https://api.acme.ghe.com":         "https://acme.ghe.com",
		"http://127.0.0.1:1234":            "http://127.0.0.1:1234",
		"https://proxy.example/github/api": "https://proxy.example/github/api",
	} {
		if got, err := webURL(api); err != nil || got != want {
			t.Errorf("webURL(%q) = %q, %v; want %q", api, got, err, want)
		}
	}
}
