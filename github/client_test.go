package github

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/runpolicy/runpolicy/test/fakegithub"
)

const appID = 4242

func setup(t *testing.T) (*fakegithub.Server, *App, *prometheus.Registry) {
	t.Helper()
	key, pemKey, err := fakegithub.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	fake := fakegithub.New(fakegithub.Options{AppID: appID, PublicKey: &key.PublicKey})
	t.Cleanup(fake.Close)
	fake.AddInstallation("acme", 7)
	reg := prometheus.NewRegistry()
	app, err := NewApp(Config{AppID: appID, PrivateKey: pemKey, APIURL: fake.URL(), Timeout: 500 * time.Millisecond, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return fake, app, reg
}

func TestInstallationTokenIsFetchedOnceAndCached(t *testing.T) {
	fake, app, reg := setup(t)
	ctx := context.Background()
	fake.SetFile("acme/api", "main", "a.txt", []byte("hello"))
	c := app.Installation(7)
	for range 3 {
		if _, err := c.Content(ctx, "acme", "api", "a.txt", "main"); err != nil {
			t.Fatal(err)
		}
	}
	if n := fake.Count("POST", "/app/installations/7/access_tokens"); n != 1 {
		t.Errorf("access token requested %d times, want 1", n)
	}
	for _, call := range fake.Calls() {
		if call.Path == "/app/installations/7/access_tokens" && call.Auth != "jwt" {
			t.Errorf("access token request authenticated with %q, want a JWT", call.Auth)
		}
		if strings.HasPrefix(call.Path, "/repos/") && call.Auth != "token" {
			t.Errorf("%s authenticated with %q, want the installation token", call.Path, call.Auth)
		}
	}
	if got := counter(t, reg, "runpolicy_github_api_calls_total", map[string]string{"endpoint": "contents", "code": "200"}); got != 3 {
		t.Errorf("contents calls metric = %v, want 3", got)
	}
}

// counter reads one series of a counter from reg.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestWrongKeyIsRefused(t *testing.T) {
	fake, _, _ := setup(t)
	_, otherKey, _ := fakegithub.NewKey()
	app, err := NewApp(Config{AppID: appID, PrivateKey: otherKey, APIURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = app.Installation(7).Content(context.Background(), "acme", "api", "a.txt", "main")
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v, want a 401 StatusError", err)
	}
	if temp, _ := Temporary(err); temp {
		t.Error("a refused JWT is not temporary")
	}
}

func TestContent(t *testing.T) {
	fake, app, _ := setup(t)
	ctx := context.Background()
	sha := strings.Repeat("a", 40)
	big := bytes.Repeat([]byte("x"), 1<<20+10)
	fake.SetFile("acme/api", sha, ".github/workflows/ci.yml", []byte("on: push\n"))
	fake.SetFile("acme/api", sha, "big.yml", big)
	c := app.Installation(7)

	got, err := c.Content(ctx, "acme", "api", ".github/workflows/ci.yml", sha)
	if err != nil || string(got) != "on: push\n" {
		t.Fatalf("Content = %q, %v", got, err)
	}
	if _, err := c.Content(ctx, "acme", "api", ".github/workflows/ci.yml", sha); err != nil {
		t.Fatal(err)
	}
	if n := fake.Count("GET", "/repos/acme/api/contents/.github/workflows/ci.yml"); n != 1 {
		t.Errorf("file at a commit fetched %d times, want 1 (cached)", n)
	}

	got, err = c.Content(ctx, "acme", "api", "big.yml", sha)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("large Content: %d bytes, %v; want %d bytes", len(got), err, len(big))
	}
	var raw bool
	for _, call := range fake.Calls() {
		raw = raw || (call.Path == "/repos/acme/api/contents/big.yml" && strings.Contains(call.Accept, "raw"))
	}
	if !raw {
		t.Error("large file not fetched through the raw media type")
	}

	if _, err := c.Content(ctx, "acme", "api", "missing.yml", sha); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing file: %v, want ErrNotFound", err)
	}
	fake.SetRef("acme/api", "v1", sha)
	if got, err := c.CommitSHA(ctx, "acme", "api", "v1"); err != nil || got != sha {
		t.Errorf("CommitSHA = %q, %v", got, err)
	}
	if _, err := c.CommitSHA(ctx, "acme", "api", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("CommitSHA of a missing ref: %v, want ErrNotFound", err)
	}
}

func TestCancel(t *testing.T) {
	fake, app, _ := setup(t)
	ctx := context.Background()
	fake.AddRun(fakegithub.Run{Repo: "acme/api", ID: 5, Status: "in_progress", IgnoreCancel: true})
	c := app.Installation(7)
	for _, step := range []struct {
		name   string
		do     func() (CancelResult, error)
		result CancelResult
	}{
		{"cancel", func() (CancelResult, error) { return c.CancelRun(ctx, "acme", "api", 5) }, CancelAccepted},
		{"force-cancel", func() (CancelResult, error) { return c.ForceCancelRun(ctx, "acme", "api", 5) }, CancelAccepted},
		{"cancel a finished run", func() (CancelResult, error) { return c.CancelRun(ctx, "acme", "api", 5) }, CancelFinished},
	} {
		got, err := step.do()
		if err != nil || got != step.result {
			t.Errorf("%s = %q, %v; want %q", step.name, got, err, step.result)
		}
	}
	if _, err := c.CancelRun(ctx, "acme", "api", 6); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancel of a missing run: %v, want ErrNotFound", err)
	}
	run, err := c.Run(ctx, "acme", "api", 5)
	if err != nil || run.GetStatus() != "completed" || run.GetConclusion() != "cancelled" {
		t.Errorf("Run = %v/%v, %v", run.GetStatus(), run.GetConclusion(), err)
	}
}

// TestCancelNotSent: a cancel whose installation token could not be had,
// or that made no connection, surely never reached GitHub; one that timed
// out or lost its connection may have.
func TestCancelNotSent(t *testing.T) {
	const cancel = "/repos/acme/api/actions/runs/5/cancel"
	for _, tc := range []struct {
		name    string
		fault   fakegithub.Fault
		notSent bool
	}{
		{"token connection dropped", fakegithub.Fault{Path: "/app/installations/7/access_tokens", Times: 1, Reset: true}, true},
		{"token endpoint down", fakegithub.Fault{Path: "/app/installations/7/access_tokens", Times: 1, Status: 503}, true},
		{"token timed out", fakegithub.Fault{Path: "/app/installations/7/access_tokens", Times: 1, Delay: time.Second}, true},
		{"token answer no token", fakegithub.Fault{Path: "/app/installations/7/access_tokens", Times: 1, Status: 201, Body: "<html>proxy</html>"}, true},
		{"cancel connection dropped", fakegithub.Fault{Path: cancel, Times: 1, Reset: true}, false},
		{"cancel timed out", fakegithub.Fault{Path: cancel, Times: 1, Delay: time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, app, _ := setup(t)
			fake.AddRun(fakegithub.Run{Repo: "acme/api", ID: 5, Status: "in_progress"})
			fake.AddFault(tc.fault)
			_, err := app.Installation(7).CancelRun(context.Background(), "acme", "api", 5)
			if err == nil {
				t.Fatal("no error")
			}
			if got := NotSent(err); got != tc.notSent {
				t.Errorf("NotSent(%v) = %v, want %v", err, got, tc.notSent)
			}
			if sent := fake.CountAll("POST", cancel); tc.notSent && sent != 0 {
				t.Errorf("NotSent, but GitHub saw %d cancel requests", sent)
			}
		})
	}
	t.Run("no connection", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + l.Addr().String()
		l.Close()
		c, err := NewTokenClient(url, "a-token")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CancelRun(context.Background(), "acme", "api", 5); !NotSent(err) {
			t.Errorf("NotSent(%v) = false, want true", err)
		}
	})
}

func TestTemporaryFaults(t *testing.T) {
	path := "/repos/acme/api/contents/a.txt"
	for _, tc := range []struct {
		name      string
		fault     fakegithub.Fault
		temporary bool
		wait      time.Duration
	}{
		{"502", fakegithub.Fault{Path: path, Times: 1, Status: 502}, true, 0},
		{"rate limit", fakegithub.RateLimited("GET", path, 1, time.Now().Add(30*time.Second)), true, 25 * time.Second},
		{"secondary rate limit", fakegithub.SecondaryRateLimited("GET", path, 1, 3*time.Second), true, 3 * time.Second},
		{"connection reset", fakegithub.Fault{Path: path, Times: 3, Reset: true}, true, 0},
		{"timeout", fakegithub.Fault{Path: path, Times: 1, Delay: time.Second}, true, 0},
		{"token endpoint down", fakegithub.Fault{Path: "/app/installations/7/access_tokens", Times: 1, Status: 503}, true, 0},
		{"403 without rate limit", fakegithub.Fault{Path: path, Times: 1, Status: 403}, false, 0},
		{"422", fakegithub.Fault{Path: path, Times: 1, Status: 422}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh client each: go-github holds back calls after a rate limit.
			fake, app, _ := setup(t)
			fake.SetFile("acme/api", "main", "a.txt", []byte("x"))
			fake.AddFault(tc.fault)
			_, err := app.Installation(7).Content(context.Background(), "acme", "api", "a.txt", "main")
			if err == nil {
				t.Fatal("no error")
			}
			temp, wait := Temporary(err)
			if temp != tc.temporary || wait < tc.wait {
				t.Errorf("Temporary(%v) = %v, %v; want %v, at least %v", err, temp, wait, tc.temporary, tc.wait)
			}
		})
	}
}

func TestCheckRunsAndComments(t *testing.T) {
	fake, app, _ := setup(t)
	ctx := context.Background()
	c := app.Installation(7)
	var annotations []*gh.CheckRunAnnotation
	for i := range 60 {
		annotations = append(annotations, &gh.CheckRunAnnotation{Path: gh.String("ci.yml"), StartLine: gh.Int(i + 1),
			EndLine: gh.Int(i + 1), AnnotationLevel: gh.String("failure"), Message: gh.String("bad")})
	}
	sha := strings.Repeat("b", 40)
	id, err := c.CreateCheckRun(ctx, "acme", "api", CheckRun{Name: "runpolicy", HeadSHA: sha, Conclusion: "failure",
		ExternalID: "k1", Title: "t", Summary: "s", Annotations: annotations})
	if err != nil {
		t.Fatal(err)
	}
	runs := fake.CheckRuns()
	if len(runs) != 1 || len(runs[0].Annotations) != 60 || runs[0].Conclusion != "failure" {
		t.Fatalf("check runs = %+v", runs)
	}
	found, err := c.FindCheckRun(ctx, "acme", "api", sha, "runpolicy", "k1")
	if err != nil || found != id {
		t.Errorf("FindCheckRun = %d, %v; want %d", found, err, id)
	}
	if found, _ := c.FindCheckRun(ctx, "acme", "api", sha, "runpolicy", "k2"); found != 0 {
		t.Errorf("FindCheckRun of another key = %d", found)
	}

	cid, err := c.CreateComment(ctx, "acme", "api", 12, "hello <!-- mark:1 -->")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.FindComment(ctx, "acme", "api", 12, "<!-- mark:1 -->"); err != nil || got != cid {
		t.Errorf("FindComment = %d, %v; want %d", got, err, cid)
	}
	if err := c.UpdateComment(ctx, "acme", "api", cid, "bye <!-- mark:1 -->"); err != nil {
		t.Fatal(err)
	}
	if cs := fake.Comments(); len(cs) != 1 || cs[0].Body != "bye <!-- mark:1 -->" {
		t.Errorf("comments = %+v", cs)
	}
}

func TestHookDeliveries(t *testing.T) {
	fake, app, _ := setup(t)
	ctx := context.Background()
	for i := range 150 {
		fake.AddHookDelivery(fakegithub.HookDelivery{GUID: "g" + string(rune('a'+i%26)), Event: "workflow_run", StatusCode: 502,
			DeliveredAt: time.Now().Add(-time.Duration(i) * time.Second)})
	}
	var all []*HookDelivery
	cursor := ""
	for {
		page, next, err := app.HookDeliveries(ctx, cursor)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != 150 {
		t.Fatalf("listed %d deliveries, want 150", len(all))
	}
	if err := app.Redeliver(ctx, all[0].GetID()); err != nil {
		t.Fatal(err)
	}
	if err := app.Redeliver(ctx, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("redeliver of a missing delivery: %v", err)
	}
	if id, err := app.FindInstallation(ctx, "acme", "api"); err != nil || id != 7 {
		t.Errorf("FindInstallation = %d, %v", id, err)
	}
}

func TestEndpointOf(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/app/installations/7/access_tokens", "access_tokens"},
		{"/app/hook/deliveries", "hook_deliveries"},
		{"/app/hook/deliveries/9/attempts", "redeliver"},
		{"/repos/a/b/contents/.github/workflows/x.yml", "contents"},
		{"/repos/a/b/actions/runs/5/cancel", "cancel"},
		{"/repos/a/b/actions/runs/5/force-cancel", "force_cancel"},
		{"/repos/a/b/actions/runs/5", "run"},
		{"/repos/a/b/actions/runs/5/rerun", "rerun"},
		{"/repos/a/b/collaborators/mona/permission", "permission"},
		{"/repos/a/b/check-runs/3", "check_runs"},
		{"/repos/a/b/commits/abc/check-runs", "check_runs"},
		{"/repos/a/b/commits/abc", "commits"},
		{"/repos/a/b/issues/3/comments", "comments"},
		{"/repos/a/b/installation", "installation"},
		{"/repos/a/b/git/tags/abc", "git_tags"},
		{"/repos/a/b/git/refs/tags/v1", "other"},
		{"/user", "other"},
	} {
		if got := endpointOf(tc.path, "GET"); got != tc.want {
			t.Errorf("endpointOf(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// TestApproveCalls: a check run's actions are created, and an update
// without any takes them away (go-github would leave them); a user's role
// is read from role_name, none for a user the repository does not know;
// a completed run is re-run.
func TestApproveCalls(t *testing.T) {
	fake, app, _ := setup(t)
	ctx := context.Background()
	c := app.Installation(7)
	sha := strings.Repeat("c", 40)
	approve := []*gh.CheckRunAction{{Label: "Approve this version", Description: "Approve this workflow version", Identifier: "approve"}}
	id, err := c.CreateCheckRun(ctx, "acme", "api", CheckRun{Name: "runpolicy / CI", HeadSHA: sha, Conclusion: "failure",
		ExternalID: "k1", Title: "t", Summary: "s", Actions: approve})
	if err != nil {
		t.Fatal(err)
	}
	if runs := fake.CheckRuns(); len(runs) != 1 || len(runs[0].Actions) != 1 || runs[0].Actions[0].Identifier != "approve" {
		t.Fatalf("check runs = %+v", runs)
	}
	if err := c.UpdateCheckRun(ctx, "acme", "api", id, CheckRun{Name: "runpolicy / CI", Conclusion: "success", Title: "ok", Summary: "s"}); err != nil {
		t.Fatal(err)
	}
	if runs := fake.CheckRuns(); len(runs[0].Actions) != 0 || runs[0].Conclusion != "success" {
		t.Errorf("after the update: %+v, want no actions", runs[0])
	}

	fake.SetPermission("acme/api", "mona", "maintain")
	fake.SetPermission("acme/api", "tom", "triage")
	for user, want := range map[string]string{"mona": "maintain", "tom": "triage", "nobody": ""} {
		if got, err := c.Permission(ctx, "acme", "api", user); err != nil || got != want {
			t.Errorf("Permission(%s) = %q, %v; want %q", user, got, err, want)
		}
	}
	if !AtLeast("admin", "maintain") || !AtLeast("maintain", "maintain") || AtLeast("write", "maintain") || AtLeast("", "read") {
		t.Error("AtLeast orders roles wrong")
	}

	fake.AddRun(fakegithub.Run{Repo: "acme/api", ID: 9, Status: "in_progress"})
	if err := c.RerunRun(ctx, "acme", "api", 9); err == nil {
		t.Error("a run in progress was re-run")
	}
	if _, err := c.CancelRun(ctx, "acme", "api", 9); err != nil {
		t.Fatal(err)
	}
	if err := c.RerunRun(ctx, "acme", "api", 9); err != nil {
		t.Fatal(err)
	}
	if run, _ := fake.Run("acme/api", 9); run.Attempt != 2 || run.Status != "queued" {
		t.Errorf("re-run: %+v, want attempt 2 queued", run)
	}
}
