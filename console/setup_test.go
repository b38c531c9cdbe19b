package console

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/bundles"
	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/test/fakegithub"
	"github.com/runpolicy/runpolicy/webhook"
	"github.com/runpolicy/runpolicy/webhook/store"
)

const (
	clientID     = "Iv1.console-test"
	clientSecret = "client-secret-console-test"
	sessionKey   = "session-key-console-test-0123456789abcdef"
	acmeInstall  = 31337
	globexInstal = 4711
)

// The users of the tests, and what GitHub lets each read.
//   - alice reads acme/api only: a member of acme, no owner;
//   - bob owns acme: every acme repository, and the Policies page;
//   - carol is in acme/security, the console_admins team: everything;
//   - dave reads nothing where the App is installed.
var users = []fakegithub.User{
	{Login: "alice", Repositories: map[string]string{"acme/api": "read"}, Organizations: map[string]string{"acme": "member"}},
	{Login: "bob", Repositories: map[string]string{"acme/api": "admin", "acme/secret": "admin"}, Organizations: map[string]string{"acme": "admin"}},
	{Login: "carol", Repositories: map[string]string{"acme/api": "write"}, Organizations: map[string]string{"acme": "member"}, Teams: []string{"acme/security"}},
	{Login: "dave", Repositories: map[string]string{"dave/dotfiles": "admin"}},
}

// The evaluations seeded, one per repository kind. Everything about
// acme/secret carries a marker the tests look for in every answer alice
// gets: none may hold one.
var hiddenMarkers = []string{"acme/secret", "hidden-pipeline", "secret-branch", "hidden_policy", "HIDDEN-FINDING", "HIDDEN-INPUT", "f00dfeed"}

const workflowSource = `name: changes
on: pull_request
jobs:
  changes:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: tj-actions/changed-files@v45
      - run: echo done
`

type env struct {
	t       *testing.T
	gh      *fakegithub.Server
	st      *store.Store
	con     *Console
	srv     *httptest.Server
	ids     map[string]string // name → decision id
	logs    *logBuffer
	mu      sync.Mutex
	clients map[string]*http.Client
}

type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newEnv starts a fake GitHub, a store with the seeded evaluations and
// the console over HTTP on loopback.
func newEnv(t *testing.T, mod func(*Options)) *env {
	t.Helper()
	ctx := context.Background()
	gh := fakegithub.New(fakegithub.Options{AppID: 1})
	t.Cleanup(gh.Close)
	gh.AddInstallation("acme", acmeInstall)
	gh.AddInstallation("globex", globexInstal)
	for _, u := range users {
		gh.AddUser(u)
	}
	gh.SetFile("acme/api", strings.Repeat("a", 40), ".github/workflows/changes.yml", []byte(workflowSource))
	gh.SetFile("acme/secret", strings.Repeat("f00dfeed", 5), ".github/workflows/hidden-pipeline.yml", []byte(workflowSource))

	st, err := store.Open(ctx, store.Options{DSN: filepath.Join(t.TempDir(), "runpolicy.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng, err := engine.New(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, gh: gh, st: st, ids: map[string]string{}, logs: &logBuffer{}, clients: map[string]*http.Client{}}
	e.seed()
	e.seedApprovals()
	o := Options{ClientID: clientID, ClientSecret: clientSecret, SessionKey: []byte(sessionKey), Admins: "acme/security",
		APIURL: gh.URL(), Store: st, Engine: eng, Logger: testLogger(e.logs),
		// The admin API's revoke, on the same store.
		Revoke: func(ctx context.Context, id, by string) (store.Approval, bool, error) {
			return webhook.RevokeApproval(ctx, st, "console-test", id, by)
		},
		Bundles: func() []bundles.SourceStatus {
			return []bundles.SourceStatus{{Name: "builtin", Type: "builtin", Revision: "builtin-rev"},
				{Name: "org", Type: "git", URL: "https://github.com/acme/policies.git", Revision: "abc123",
					LastError: "fetch: HTTP 503", FailedRevision: "def456"}}
		}}
	if mod != nil {
		mod(&o)
	}
	con, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.con = con
	mux := http.NewServeMux()
	mux.Handle("/", con)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	gh.SetOAuthClient(clientID, clientSecret, e.srv.URL+con.Path()+"auth/callback")
	return e
}

// testLog builds a decision log entry in the shape webhook stores.
func testLog(repo string, run int64, path, branch, event, sha, message, inputMarker string, violations []map[string]any) []byte {
	allow := true
	for _, v := range violations {
		allow = allow && v["mode"] != "enforce"
	}
	if violations == nil {
		violations = []map[string]any{}
	}
	owner, name, _ := strings.Cut(repo, "/")
	b, _ := json.Marshal(map[string]any{
		"decision_id": "", "labels": map[string]string{"app": "runpolicy"}, "path": "runpolicy/main/decision",
		"bundles": map[string]any{"builtin": map[string]string{"revision": "builtin-rev"}},
		"input": map[string]any{"schema_version": 1,
			"event":      map[string]any{"name": "workflow_run", "action": "requested", "delivery_id": "d"},
			"repository": map[string]any{"full_name": repo, "owner": owner, "name": name, "default_branch": "main"},
			"run": map[string]any{"id": run, "attempt": 1, "event": event, "branch": branch, "head_sha": sha,
				"actor": "octocat", "triggering_actor": "octocat", "from_fork": false, "pull_requests": []int{12}},
			"workflow": map[string]any{"path": path, "name": "changes", "modified": true, "note": inputMarker},
			// What the inventory is filled from: the same two actions everywhere.
			"uses": []map[string]any{
				{"raw": "actions/checkout@v4", "kind": "action", "name": "actions/checkout", "owner": "actions", "repo": "checkout", "ref": "v4", "ref_type": "tag"},
				{"raw": "tj-actions/changed-files@v45", "kind": "action", "name": "tj-actions/changed-files", "owner": "tj-actions",
					"repo": "changed-files", "ref": "v45", "ref_type": "tag"}}},
		"result":    map[string]any{"allow": allow, "violations": violations, "warnings": []any{}},
		"timestamp": time.Now().UTC(),
		"metrics":   map[string]int64{"timer_rego_query_eval_ns": 1_500_000, "timer_fetch_ns": 12_000_000},
		"event":     "workflow_run",
		"run": map[string]any{"repository": repo, "id": run, "attempt": 1, "head_repository": repo, "head_sha": sha,
			"workflow_path": path, "pull_requests": []int{12}},
		"outcome": map[bool]string{true: "allow", false: "deny"}[allow],
	})
	return b
}

func (e *env) seed() {
	ctx := context.Background()
	now := time.Now().UTC()
	step := 1
	add := func(name, repo string, run int64, outcome string, at time.Time, log []byte) string {
		id := "dec-" + name
		d := store.Decision{ID: id, DeliveryID: "del-" + name, Event: "workflow_run", Repository: repo, RunID: run, RunAttempt: 1,
			Outcome: outcome, Cancel: outcome == store.OutcomeDeny, CreatedAt: at, Log: log}
		if _, err := e.st.SaveDecision(ctx, d); err != nil {
			e.t.Fatal(err)
		}
		e.ids[name] = id
		return id
	}
	denied := add("api-deny", "acme/api", 1001, store.OutcomeDeny, now.Add(-3*time.Hour),
		testLog("acme/api", 1001, ".github/workflows/changes.yml", "feature", "pull_request", strings.Repeat("a", 40), "", "",
			[]map[string]any{{"policy": "compromised_actions", "mode": "enforce", "message": "tj-actions/changed-files@v45 is compromised",
				"job": "changes", "step": step, "uses": "tj-actions/changed-files@v45", "line": 8, "details": map[string]any{"via": []string{}}},
				// The same, reached through actions the workflow uses:
				// the chain is in details.via, as the engine logs it.
				{"policy": "compromised_actions", "mode": "enforce", "message": "tj-actions/changed-files@v46 is compromised, two actions down",
					"job": "changes", "step": 0, "uses": "tj-actions/changed-files@v46", "line": 7,
					"details": map[string]any{"via": []string{"actions/checkout@v4", "acme/nested-composite@v1"}}}}))
	key := store.RunKey{Repository: "acme/api", RunID: 1001, Attempt: 1}
	for _, a := range []string{"cancel", "check_run", "comment:12"} {
		if _, err := e.st.Claim(ctx, key, a, denied, 2); err != nil {
			e.t.Fatal(err)
		}
		if err := e.st.Complete(ctx, key, a, denied, "ref-"+a); err != nil {
			e.t.Fatal(err)
		}
	}
	add("api-allow", "acme/api", 1002, store.OutcomeAllow, now.Add(-2*time.Hour),
		testLog("acme/api", 1002, ".github/workflows/build.yml", "main", "push", strings.Repeat("b", 40), "", "", nil))
	add("secret", "acme/secret", 2001, store.OutcomeDeny, now.Add(-1*time.Hour),
		testLog("acme/secret", 2001, ".github/workflows/hidden-pipeline.yml", "secret-branch", "push", strings.Repeat("f00dfeed", 5), "", "HIDDEN-INPUT",
			[]map[string]any{{"policy": "hidden_policy", "mode": "enforce", "message": "HIDDEN-FINDING", "job": "changes", "line": 8}}))
	add("globex", "globex/tool", 3001, store.OutcomeAllow, now.Add(-30*time.Minute),
		testLog("globex/tool", 3001, ".github/workflows/ci.yml", "main", "push", strings.Repeat("c", 40), "", "",
			[]map[string]any{{"policy": "harden_runner", "mode": "dry_run", "message": "no harden-runner", "job": "build"}}))
}

// seedApprovals records approvals of workflow versions: of acme/api one
// active, one expired and one revoked; one of acme/secret (with the
// hidden markers) and one of globex/tool.
func (e *env) seedApprovals() {
	ctx := context.Background()
	now := time.Now().UTC()
	for _, a := range []store.Approval{
		{ID: "ap-api", Repository: "acme/api", WorkflowPath: ".github/workflows/changes.yml", Policies: []string{"secret_exfiltration", "harden_runner"},
			Approver: "maintainer-mona", RunID: 1001, DecisionID: e.ids["api-deny"], CreatedAt: now.Add(-90 * time.Minute), ExpiresAt: now.Add(24 * time.Hour)},
		{ID: "ap-api-expired", Repository: "acme/api", WorkflowPath: ".github/workflows/build.yml", Policies: []string{"allowed_actions"},
			Approver: "maintainer-max", RunID: 1002, CreatedAt: now.Add(-72 * time.Hour), ExpiresAt: now.Add(-48 * time.Hour)},
		{ID: "ap-api-revoked", Repository: "acme/api", WorkflowPath: ".github/workflows/release.yml", Policies: []string{"harden_runner"},
			Approver: "maintainer-mia", RunID: 1003, CreatedAt: now.Add(-96 * time.Hour)},
		{ID: "ap-secret", Repository: "acme/secret", WorkflowPath: ".github/workflows/hidden-pipeline.yml", Policies: []string{"hidden_policy"},
			Approver: "owner-olga", RunID: 2001, DecisionID: e.ids["secret"], CreatedAt: now.Add(-time.Hour),
			Files: map[string]string{".github/workflows/hidden-pipeline.yml": strings.Repeat("f00dfeed", 8)}},
		{ID: "ap-globex", Repository: "globex/tool", WorkflowPath: ".github/workflows/ci.yml", Policies: []string{"allowed_actions"},
			Approver: "globex-gus", RunID: 3001, CreatedAt: now.Add(-20 * time.Minute)},
	} {
		if a.Files == nil {
			a.Files = map[string]string{a.WorkflowPath: strings.Repeat("ab", 32)}
		}
		if _, err := e.st.SaveApproval(ctx, a); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := e.st.RevokeApproval(ctx, "ap-api-revoked", "security-sam", now.Add(-24*time.Hour)); err != nil {
		e.t.Fatal(err)
	}
}

// noRedirects is a client with a cookie jar that stops at each redirect,
// so that the tests see every hop of the sign-in.
func noRedirects() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signIn goes through GitHub's OAuth web flow as login, the way a browser
// does, and returns a client that holds the session cookie.
func (e *env) signIn(login string) *http.Client {
	e.t.Helper()
	c := noRedirects()
	resp := e.do(c, "GET", e.srv.URL+e.con.Path()+"login/github?next="+url.QueryEscape(e.con.Path()), nil)
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("start sign-in: %d", resp.StatusCode)
	}
	authorize, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(authorize.String(), e.gh.URL()+"/login/oauth/authorize?") {
		e.t.Fatalf("sign-in goes to %s, want GitHub's authorize page", authorize)
	}
	form := authorize.Query()
	form.Set("login", login)
	form.Set("authorize", "1")
	resp = e.do(c, "POST", e.gh.URL()+"/login/oauth/authorize", form)
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize as %s: %d", login, resp.StatusCode)
	}
	resp = e.do(c, "GET", resp.Header.Get("Location"), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != e.con.Path() {
		e.t.Fatalf("callback: %d to %q, want 303 to %s: %s", resp.StatusCode, resp.Header.Get("Location"), e.con.Path(), e.logs)
	}
	return c
}

// get fetches a console path and returns the status and body.
func (e *env) get(c *http.Client, path string) (int, string) {
	e.t.Helper()
	resp := e.do(c, "GET", e.srv.URL+path, nil)
	return resp.StatusCode, resp.body
}

type response struct {
	*http.Response
	body string
}

func (e *env) do(c *http.Client, method, u string, form url.Values) response {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp, string(b)}
}

func (e *env) user(login string) *http.Client {
	e.mu.Lock()
	c, ok := e.clients[login]
	e.mu.Unlock()
	if !ok {
		c = e.signIn(login)
		e.mu.Lock()
		e.clients[login] = c
		e.mu.Unlock()
	}
	return c
}
