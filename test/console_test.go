package test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/runpolicy/runpolicy/test/fakegithub"
	"github.com/runpolicy/runpolicy/test/harness"
)

const consoleClientID = "Iv1.e2e-console"

// consolePolicy is the org bundle's policy on main: it finds nothing in
// the console's runs. On the strict branch it denies build.yml, which the
// server allowed in acme/web: a replay of org@strict newly denies one run.
const consolePolicy = `package runpolicy.policies.build_review

deny contains {"message": "build workflows need the build team's review"} if {
	endswith(input.workflow.path, "/%s")
}
`

// consoleStack is a server with the console on, four judged runs, a
// git policy source served over loopback with a stricter branch, a user,
// alice, who reads acme's repositories but not other/vault, and sam, a
// member of the console_admins team.
type consoleStack struct {
	*stack
	// decisions maps each run's repository to its decision id.
	decisions map[string]string
}

func newConsoleStack(t *testing.T) *consoleStack {
	t.Helper()
	secret, key := "cs-"+randomHex(16), randomHex(32)
	for name, v := range map[string]string{"client secret": secret, "session key": key} {
		if err := audit.Secret(name, v); err != nil {
			t.Fatal(err)
		}
	}
	policies := newPolicyRepo(t)
	policies.commit("main", map[string]string{"build_review.rego": fmt.Sprintf(consolePolicy, "never.yml")})
	policies.commit("strict", map[string]string{"build_review.rego": fmt.Sprintf(consolePolicy, "build.yml")})
	s := newStackWith(t, map[string]any{"client_id": consoleClientID, "console_admins": "acme/security",
		"bundles": []map[string]any{{"name": "org", "type": "git", "url": policies.URL(), "ref": "main"}}}, func(s *stack) {
		for name, body := range map[string]string{"client_secret_file": secret, "session_key_file": key} {
			path := filepath.Join(s.dir, name)
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			s.cfg[name] = path
		}
		s.gh.Fake.AddUser(fakegithub.User{Login: "alice", Organizations: map[string]string{"acme": "member"},
			Repositories: map[string]string{"acme/api": "read", "acme/web": "read", "acme/lint": "write"}})
		s.gh.Fake.AddUser(fakegithub.User{Login: "sam", Organizations: map[string]string{"acme": "member"}, Teams: []string{"acme/security"}})
	})
	s.gh.Fake.SetOAuthClient(consoleClientID, secret, s.srv.URL+"/auth/callback")
	t.Cleanup(func() {
		if err := audit.Secret("user token", s.gh.Fake.UserTokens()...); err != nil {
			t.Error(err)
		}
	})
	cs := &consoleStack{stack: s, decisions: map[string]string{}}
	for i, r := range []struct {
		repo, path string
		workflow   []byte
	}{
		{"acme/api", ".github/workflows/changes.yml", badWorkflow},
		{"acme/web", ".github/workflows/build.yml", goodWorkflow},
		{"acme/lint", ".github/workflows/lint.yml", dryRunWorkflow},
		{"other/vault", ".github/workflows/vault-deploy.yml", badWorkflow},
	} {
		id := fmt.Sprintf("console-%d", i)
		run := harness.Run{Repo: r.repo, ID: int64(7001 + i), HeadSHA: sha(7001 + i), Path: r.path, HeadBranch: "feature",
			PullRequests: []int{40 + i}, Installation: installation}
		s.requested(run, r.workflow, r.workflow, id)
		s.processed(id)
		cs.decisions[r.repo] = s.only(id).DecisionID
	}
	return cs
}

// TestConsoleHTTP signs in over plain HTTP (the audited client: no secret
// or token in any answer) and checks that alice gets no trace of
// other/vault on any page.
func TestConsoleHTTP(t *testing.T) {
	s := newConsoleStack(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: harness.Client.Transport, Timeout: 30 * time.Second}
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The sign-in: the console sends the browser to GitHub's authorize
	// page, which sends it back with a code once alice authorizes.
	status, page := get(s.srv.URL + "/login/github")
	if status != http.StatusOK || !strings.Contains(page, `name="state"`) {
		t.Fatalf("authorize page: %d", status)
	}
	form := url.Values{"login": {"alice"}, "authorize": {"1"}}
	for _, m := range regexp.MustCompile(`name="([a-z_]+)" value="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if m[1] != "login" && m[1] != "authorize" {
			form.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
		}
	}
	resp, err := c.PostForm(s.gh.Fake.URL()+"/login/oauth/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Signed in as <strong>alice</strong>") {
		t.Fatalf("after signing in: %d %s", resp.StatusCode, body)
	}
	for _, path := range []string{"/", "/?repository=other/vault", "/?organization=other", "/?outcome=deny",
		"/evaluations/" + s.decisions["other/vault"], "/evaluations/" + s.decisions["other/vault"] + "/input.json", "/policies",
		"/inventory?uses=tj-actions/changed-files", "/inventory?uses=tj-actions/changed-files@v45", "/inventory?repository=other/vault",
		"/replays", "/replays/" + s.decisions["other/vault"]} {
		status, body := get(s.srv.URL + path)
		want := http.StatusOK
		if strings.HasPrefix(path, "/evaluations/") || path == "/policies" || strings.HasPrefix(path, "/replays") {
			want = http.StatusNotFound
		}
		if status != want {
			t.Errorf("%s: %d, want %d", path, status, want)
		}
		for _, trace := range []string{"vault-deploy", s.decisions["other/vault"], sha(7004)} {
			if strings.Contains(body, trace) {
				t.Errorf("%s: the answer holds %q", path, trace)
			}
		}
		if !strings.Contains(path, "other") && strings.Contains(body, "other/vault") {
			t.Errorf("%s: the answer names other/vault", path)
		}
	}
	if _, body := get(s.srv.URL + "/inventory?uses=tj-actions/changed-files"); !strings.Contains(body, ">acme/api</a>") {
		t.Errorf("alice's inventory lacks acme/api's use of tj-actions/changed-files")
	}
	if _, body := get(s.srv.URL + "/"); !strings.Contains(body, "3 evaluations from") {
		t.Errorf("alice's count is not her three runs")
	}
	if status, body := get(s.srv.URL + "/evaluations/" + s.decisions["acme/api"]); status != http.StatusOK ||
		!strings.Contains(body, "tj-actions/changed-files@v45") {
		t.Errorf("alice's denied run: %d", status)
	}
	// The App's own routes are untouched by the console at /.
	if code, err := s.srv.Get(context.Background(), "/admin/decisions?limit=1", adminToken, nil); err != nil || code != http.StatusOK {
		t.Errorf("/admin/decisions with the admin token: %d, %v", code, err)
	}
	if code, err := s.srv.Get(context.Background(), "/admin/decisions", "", nil); err != nil || code != http.StatusUnauthorized {
		t.Errorf("/admin/decisions without a token: %d, %v", code, err)
	}
}

// chromium finds the system Chromium. Without one the test is skipped, as
// the PostgreSQL tests are without a server, so that `go test ./...` passes
// on a fresh machine; with CI or RUNPOLICY_REQUIRE_BROWSER=1 set it fails
// instead (.ci/run installs Chromium and sets CI).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RUNPOLICY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" && os.Getenv("RUNPOLICY_REQUIRE_BROWSER") != "1" {
		t.Skip("chromium not found, so the browser walk is skipped: apt-get install chromium (or set RUNPOLICY_CHROMIUM) to run it")
	}
	t.Fatal("chromium not found: apt-get install chromium (or set RUNPOLICY_CHROMIUM)")
	return ""
}

// TestConsoleBrowser walks the console in headless Chromium as alice:
// sign-in through GitHub's OAuth pages, the evaluations, a filter, one
// evaluation and its input document, the inventory; then as sam, an
// administrator, a replay of a policy branch and one of an uploaded
// bundle. Each page is saved as a screenshot under $RUNPOLICY_SCREENSHOTS
// (else a temporary directory, logged). The pages must load without a
// script error or a Content-Security-Policy violation, label every field,
// and open with the skip link on Tab.
func TestConsoleBrowser(t *testing.T) {
	path := chromium(t)
	s := newConsoleStack(t)
	shots := os.Getenv("RUNPOLICY_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1280, 1000))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	actx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	actx, cancel = chromedp.NewExecAllocator(actx, opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()

	var mu sync.Mutex
	var problems []string
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError && !strings.Contains(e.Entry.URL, "favicon.ico") {
				problems = append(problems, fmt.Sprintf("%s: %s (%s)", e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		}
	}); err != nil {
		t.Fatal(err)
	}
	step := 0
	shot := func(name string) {
		t.Helper()
		step++
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		file := filepath.Join(shots, fmt.Sprintf("%d-%s.png", step, name))
		if err := os.WriteFile(file, buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	navigate := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if _, err := chromedp.RunResponse(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	html := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	accessible := func(page string) {
		t.Helper()
		unlabelled, err := chromedp.Run(ctx, chromedp.Evaluate[int](
			`[...document.querySelectorAll('input:not([type=hidden]), select')].filter(e => !e.labels || e.labels.length === 0).length`))
		if err != nil || unlabelled != 0 {
			t.Errorf("%s: %d fields without a label (%v)", page, unlabelled, err)
		}
		do(page+": tab", chromedp.KeyEvent("\t"))
		first, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.textContent`))
		if err != nil || first != "Skip to content" {
			t.Errorf("%s: the first Tab focuses %q, want the skip link (%v)", page, first, err)
		}
	}

	// Sign in: the console's page, GitHub's, and back.
	navigate("open the console", chromedp.Navigate(s.srv.URL+"/"))
	do("the sign-in page", chromedp.WaitVisible(chromedp.ID("signin")))
	shot("sign-in")
	accessible("sign-in")
	navigate("go to GitHub", chromedp.Click(chromedp.ID("signin")))
	do("GitHub's authorize page", chromedp.WaitVisible(chromedp.ID("login")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, s.gh.Fake.URL()+"/login/oauth/authorize?") {
		t.Fatalf("the sign-in went to %s", loc)
	}
	shot("github-authorize")
	do("type the login", chromedp.SendKeys(chromedp.ID("login"), "alice"))
	navigate("authorize", chromedp.Click(chromedp.ID("authorize")))
	do("the evaluations", chromedp.WaitVisible(chromedp.ID("evaluations")))
	if got := text("header .signout strong"); got != "alice" {
		t.Errorf("signed in as %q", got)
	}
	list := text("#evaluations")
	for _, repo := range []string{"acme/api", "acme/web", "acme/lint"} {
		if !strings.Contains(list, repo) {
			t.Errorf("the list lacks %s", repo)
		}
	}
	if page := html(); strings.Contains(page, "other/vault") || strings.Contains(page, "vault-deploy") {
		t.Error("the evaluations page shows other/vault")
	}
	shot("evaluations")
	accessible("evaluations")

	// Filter with the keyboard: the outcome, then the repository and Enter.
	do("choose denied", chromedp.SetValue(chromedp.ID("f-outcome"), "deny"))
	navigate("filter", chromedp.SendKeys(chromedp.ID("f-repo"), "acme/api\r"))
	do("the filtered list", chromedp.WaitVisible(chromedp.ID("evaluations")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "outcome=deny") || !strings.Contains(loc, "repository=acme%2Fapi") {
		t.Errorf("the filter's URL is %s", loc)
	}
	rows, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("#evaluations tbody tr")))
	if err != nil || len(rows) != 1 {
		t.Errorf("filtered rows: %d, %v; want 1", len(rows), err)
	}
	if got := text("#evaluations tbody tr"); !strings.Contains(got, "acme/api") || !strings.Contains(got, "denied") ||
		!strings.Contains(got, "compromised_actions") || !strings.Contains(got, "cancelled") {
		t.Errorf("the filtered row: %q", got)
	}
	shot("evaluations-denied")

	// One evaluation: the finding beside its line, and the input document.
	navigate("open the evaluation", chromedp.Click(chromedp.CSS("#evaluations tbody td a")))
	do("the evaluation", chromedp.WaitVisible(chromedp.ID("outcome")))
	if got := text("#outcome"); got != "denied" {
		t.Errorf("outcome %q", got)
	}
	if got := text("pre.source .hit"); !strings.Contains(got, "tj-actions/changed-files@v45") {
		t.Errorf("the finding's line: %q", got)
	}
	shot("evaluation")
	accessible("evaluation")
	do("open the input document", chromedp.Click(chromedp.CSS("#input summary")), chromedp.WaitVisible(chromedp.CSS("#input pre")))
	if got := text("#input pre"); !strings.Contains(got, `"schema_version": 1`) || !strings.Contains(got, "acme/api") {
		t.Errorf("the input document: %.200q", got)
	}
	shot("evaluation-input")

	// The inventory: who uses the compromised action; other/vault, which
	// alice cannot read, uses it too and leaves no trace.
	navigate("open the inventory", chromedp.Click(chromedp.CSS(`nav a[href="/inventory"]`)))
	do("the inventory form", chromedp.WaitVisible(chromedp.ID("i-uses")))
	accessible("inventory")
	navigate("search an action", chromedp.SendKeys(chromedp.ID("i-uses"), "tj-actions/changed-files@v45\r"))
	do("who uses it", chromedp.WaitVisible(chromedp.ID("inventory")))
	if got := text("#inventory tbody"); !strings.Contains(got, "acme/api") || !strings.Contains(got, "stopped") ||
		!strings.Contains(got, ".github/workflows/changes.yml") {
		t.Errorf("who uses tj-actions/changed-files: %q", got)
	}
	if page := html(); strings.Contains(page, "other/vault") || strings.Contains(page, "vault-deploy") {
		t.Error("the inventory shows other/vault")
	}
	shot("inventory-uses")
	navigate("one repository's actions", chromedp.Click(chromedp.CSS("#inventory tbody td a")))
	do("what acme/api uses", chromedp.WaitVisible(chromedp.ID("inventory")))
	if got := text("#inventory tbody"); !strings.Contains(got, "tj-actions/changed-files") || !strings.Contains(got, "actions/checkout") {
		t.Errorf("what acme/api uses: %q", got)
	}
	shot("inventory-repository")

	// A hidden evaluation by its id is a page that does not exist.
	navigate("open other/vault's evaluation", chromedp.Navigate(s.srv.URL+"/evaluations/"+s.decisions["other/vault"]))
	if page := html(); strings.Contains(page, "vault") || !strings.Contains(page, "There is no such evaluation.") {
		t.Error("other/vault's evaluation is shown")
	}

	// A replay, as sam of console_admins: alice signs out, sam signs in,
	// and replays the org source at its strict branch over the last hour.
	navigate("sign out", chromedp.Navigate(s.srv.URL+"/"))
	navigate("sign out", chromedp.Click(chromedp.CSS("header .signout button")))
	do("the sign-in page again", chromedp.WaitVisible(chromedp.ID("signin")))
	navigate("go to GitHub as sam", chromedp.Click(chromedp.ID("signin")))
	do("GitHub's authorize page", chromedp.WaitVisible(chromedp.ID("login")))
	do("type sam's login", chromedp.SendKeys(chromedp.ID("login"), "sam"))
	navigate("authorize sam", chromedp.Click(chromedp.ID("authorize")))
	do("sam's evaluations", chromedp.WaitVisible(chromedp.ID("evaluations")))
	if got := text("header .signout strong"); got != "sam" {
		t.Fatalf("signed in as %q, want sam", got)
	}
	navigate("open the replay page", chromedp.Click(chromedp.CSS(`nav a[href="/replays"]`)))
	do("the replay form", chromedp.WaitVisible(chromedp.ID("r-policy")))
	shot("replays")
	accessible("replays")
	do("type the candidate and the window", chromedp.Focus(chromedp.ID("r-policy")), chromedp.KeyEvent("org@strict"),
		chromedp.Focus(chromedp.ID("r-since")), chromedp.KeyEvent(kb.End+"\b\b1h")) // the form's 7d becomes 1h
	navigate("start the replay", chromedp.SendKeys(chromedp.ID("r-since"), "\r"))
	// The page reloads itself (meta refresh) until the replay is done.
	replayDone := func(what string) {
		t.Helper()
		var state string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			state, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('state') || {}).textContent || ''`))
			if state == "done" || state == "failed" {
				break
			}
		}
		if state != "done" {
			t.Fatalf("%s is %q, want done:\n%s", what, state, html())
		}
		do(what+"'s result", chromedp.WaitVisible(chromedp.ID("summary")))
	}
	replayDone("the replay")
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, s.srv.URL+"/replays/") {
		t.Errorf("the replay's page is %s", loc)
	}
	if got := text("h1 code"); got != "org@strict" {
		t.Errorf("the replay's candidate: %q", got)
	}
	// The window typed, 1h, not the form's 7d.
	if m := regexp.MustCompile(`Runs from (.+? UTC) to (.+? UTC),`).FindStringSubmatch(text("main p")); m == nil {
		t.Errorf("the replay's window is not shown")
	} else if since, err1 := time.Parse("2006-01-02 15:04:05 MST", m[1]); err1 != nil {
		t.Errorf("the replay's since %q: %v", m[1], err1)
	} else if until, err2 := time.Parse("2006-01-02 15:04:05 MST", m[2]); err2 != nil || until.Sub(since) != time.Hour {
		t.Errorf("the replay's window: %s to %s (%v), want one hour", m[1], m[2], err2)
	}
	for sel, want := range map[string]string{"#newly-denied": "1", "#newly-allowed": "0", "#findings-changed": "0"} {
		if got := text(sel); got != want {
			t.Errorf("%s: %q, want %s", sel, got, want)
		}
	}
	if got := text("#summary"); !strings.Contains(got, "4 (4 of 4 decisions") {
		t.Errorf("the replay's summary: %q", got)
	}
	if got := text("#per-policy tbody"); got != "build_review\t1\t0\t1\t0" {
		t.Errorf("the per-policy table: %q", got)
	}
	if got := text("#list-denied tbody"); !strings.Contains(got, "acme/web") || !strings.Contains(got, "build.yml") ||
		!strings.Contains(got, "build workflows need the build team's review") {
		t.Errorf("the newly denied run: %q", got)
	}
	shot("replay")
	accessible("replay")

	// The same candidate uploaded as a bundle in place of the org source.
	upload := filepath.Join(t.TempDir(), "strict.tar.gz")
	if err := os.WriteFile(upload, tarball(t, map[string]string{"build_review.rego": fmt.Sprintf(consolePolicy, "build.yml")}), 0o600); err != nil {
		t.Fatal(err)
	}
	navigate("back to the replays", chromedp.Click(chromedp.CSS(`nav a[href="/replays"]`)))
	do("choose the bundle and what it replaces", chromedp.WaitVisible(chromedp.ID("r-bundle")),
		chromedp.SetUploadFiles(chromedp.ID("r-bundle"), []string{upload}),
		chromedp.SetValue(chromedp.ID("r-replace"), "org"),
		chromedp.Focus(chromedp.ID("r-since")), chromedp.KeyEvent(kb.End+"\b\b1h"))
	navigate("start the uploaded replay", chromedp.SendKeys(chromedp.ID("r-since"), "\r"))
	replayDone("the uploaded replay")
	if got := text("h1"); got != "Replay of an uploaded bundle in place of org" {
		t.Errorf("the uploaded replay's candidate: %q", got)
	}
	if got := text("#newly-denied"); got != "1" {
		t.Errorf("the uploaded replay newly denies %q runs, want 1", got)
	}
	shot("replay-upload")

	// The administrator's other pages: the bundles and effective settings,
	// and the approvals (none were clicked in this stack).
	navigate("open the policies", chromedp.Click(chromedp.CSS(`nav a[href="/policies"]`)))
	do("the bundles", chromedp.WaitVisible(chromedp.ID("sources")))
	if got := text("#sources tbody"); !strings.Contains(got, "org") || !strings.Contains(got, "builtin") {
		t.Errorf("the policies page's bundles: %q", got)
	}
	shot("policies")
	accessible("policies")
	navigate("open the approvals", chromedp.Click(chromedp.CSS(`nav a[href="/approvals"]`)))
	do("the approvals", chromedp.WaitVisible(chromedp.ID("empty")))
	shot("approvals")
	accessible("approvals")

	mu.Lock()
	defer mu.Unlock()
	// The hidden evaluation's 404 is logged by Chromium as a failed load;
	// nothing else may be.
	var left []string
	for _, p := range problems {
		if !strings.Contains(p, "404") {
			left = append(left, p)
		}
	}
	if len(left) > 0 {
		t.Errorf("the browser reported:\n%s", strings.Join(left, "\n"))
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("the walk ran out of time")
	}
}
