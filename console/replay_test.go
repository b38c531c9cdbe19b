package console

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/replay"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// fakeReplays keeps replays in memory and records what was started.
type fakeReplays struct {
	mu      sync.Mutex
	busy    bool
	started []replay.Request
	by      []string
	byID    map[string]replay.Status
	order   []string
}

func newFakeReplays() *fakeReplays {
	f := &fakeReplays{byID: map[string]replay.Status{}}
	since := time.Now().Add(-7 * 24 * time.Hour).UTC()
	f.add(replay.Status{ID: "r-all", State: store.ReplayDone, RequestedBy: "carol", Total: 4, Done: 4,
		Request: replay.Request{Policy: "org@hidden-change", Since: since, Scope: store.Scope{All: true}},
		Result: &replay.Result{Decisions: 4, Replayed: 4, Runs: 4, NewlyDeniedRuns: 1,
			NewlyDenied: []replay.RunChange{{Repository: "acme/secret", RunID: 2001, RunAttempt: 1, Workflow: ".github/workflows/hidden-pipeline.yml",
				Recorded: "allow", Candidate: "deny", Added: []replay.Finding{{Policy: "hidden_policy", Mode: "enforce", Message: "HIDDEN-FINDING"}}}},
			Policies: []replay.PolicyChange{{Policy: "hidden_policy", NewlyDenied: 1, Added: 1}}}})
	f.add(replay.Status{ID: "r-acme", State: store.ReplayDone, RequestedBy: "bob", Total: 3, Done: 3,
		Request: replay.Request{Policy: "org@pin-everything", Since: since, Scope: store.Scope{Owners: []string{"acme"}}},
		Result: &replay.Result{Decisions: 3, Replayed: 3, Runs: 3, NewlyDeniedRuns: 1, UnchangedRuns: 2,
			NewlyDenied: []replay.RunChange{{Repository: "acme/api", RunID: 1002, RunAttempt: 1, Workflow: ".github/workflows/build.yml",
				Decision: "dec-api-allow", Recorded: "allow", Candidate: "deny",
				Added: []replay.Finding{{Policy: "pin_actions", Mode: "enforce", Message: "actions/checkout@v4 is not pinned"}}}},
			Policies: []replay.PolicyChange{{Policy: "pin_actions", NewlyDenied: 1, Added: 3}}}})
	f.add(replay.Status{ID: "r-running", State: store.ReplayRunning, RequestedBy: "bob", Total: 200, Done: 50,
		Request: replay.Request{Policy: "org@next", Since: since, Scope: store.Scope{Owners: []string{"acme"}}}})
	return f
}

func (f *fakeReplays) add(st replay.Status) {
	st.CreatedAt = time.Now().UTC()
	f.byID[st.ID] = st
	f.order = append([]string{st.ID}, f.order...)
}

func (f *fakeReplays) Start(_ context.Context, req replay.Request, by string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy {
		return "", replay.ErrBusy
	}
	if strings.HasPrefix(req.Policy, "nosuch@") {
		return "", refusedError(`replay: no configured bundle source named "nosuch"`)
	}
	f.started, f.by = append(f.started, req), append(f.by, by)
	f.add(replay.Status{ID: "r-new", State: store.ReplayRunning, RequestedBy: by, Request: req})
	return "r-new", nil
}

// refusedError is an error replay.Runner.Start refuses a request with.
type refusedError string

func (e refusedError) Error() string      { return string(e) }
func (refusedError) Is(target error) bool { return target == replay.ErrRefused }

func (f *fakeReplays) Status(_ context.Context, id string) (*replay.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.byID[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &st, nil
}

func (f *fakeReplays) List(_ context.Context, limit int) ([]replay.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []replay.Status
	for _, id := range f.order[:min(limit, len(f.order))] {
		st := f.byID[id]
		st.Result = nil
		out = append(out, st)
	}
	return out, nil
}

func replayEnv(t *testing.T) (*env, *fakeReplays) {
	f := newFakeReplays()
	return newEnv(t, func(o *Options) { o.Replays = f }), f
}

// csrfOf signs login in and reads their forms' token from a page.
func (e *env) csrfOf(login string) string {
	e.t.Helper()
	_, body := e.get(e.user(login), "/")
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("no CSRF token on %s's page", login)
	}
	return m[1]
}

// Alice reads a repository but owns nothing: not a trace of replays.
func TestReplayHiddenFromReaders(t *testing.T) {
	e, f := replayEnv(t)
	c := e.user("alice")
	if _, body := e.get(c, "/"); strings.Contains(body, `href="/replays"`) {
		t.Error("alice's navigation links the replays")
	}
	for _, path := range []string{"/replays", "/replays/r-acme", "/replays/r-all", "/replays/r-running"} {
		status, body := e.get(c, path)
		if status != http.StatusNotFound || strings.Contains(body, "org@") || strings.Contains(body, "pin_actions") {
			t.Errorf("alice GET %s: %d, want a bare 404", path, status)
		}
	}
	resp := e.do(c, "POST", e.srv.URL+"/replays", url.Values{"csrf": {e.csrfOf("alice")}, "policy": {"org@main"}, "since": {"7d"}})
	if resp.StatusCode != http.StatusNotFound || len(f.started) != 0 {
		t.Errorf("alice starts a replay: %d, %d started", resp.StatusCode, len(f.started))
	}
}

// An organization owner sees and starts the replays of what they own;
// a console admin's replay of everything stays hidden from them.
func TestReplayOwner(t *testing.T) {
	e, f := replayEnv(t)
	c := e.user("bob")
	status, body := e.get(c, "/replays")
	if status != http.StatusOK || !strings.Contains(body, "org@pin-everything") || !strings.Contains(body, "50 of 200") {
		t.Fatalf("bob's replays: %d", status)
	}
	if strings.Contains(body, "hidden-change") || strings.Contains(body, "r-all") {
		t.Error("bob's list shows the replay of everything")
	}
	if status, body := e.get(c, "/replays/r-all"); status != http.StatusNotFound {
		t.Errorf("bob opens the replay of everything: %d", status)
	} else {
		for _, m := range hiddenMarkers {
			if strings.Contains(body, m) {
				t.Errorf("the refusal holds %q", m)
			}
		}
	}
	_, body = e.get(c, "/replays/r-acme")
	for _, want := range []string{`id="newly-denied">1<`, `id="newly-allowed">0<`, "<th scope=\"row\">pin_actions</th><td>1</td><td>0</td><td>3</td>",
		"actions/checkout@v4 is not pinned", `href="/evaluations/dec-api-allow"`, `id="state">done<`} {
		if !strings.Contains(body, want) {
			t.Errorf("the finished replay lacks %q", want)
		}
	}
	if strings.Contains(body, `http-equiv="refresh"`) {
		t.Error("a finished replay reloads itself")
	}
	_, body = e.get(c, "/replays/r-running")
	if !strings.Contains(body, `<meta http-equiv="refresh" content="2">`) || !strings.Contains(body, `<progress id="progress" max="100" value="25">`) {
		t.Error("a running replay has no progress or does not reload")
	}

	token := e.csrfOf("bob")
	for name, form := range map[string]url.Values{
		"no token":      {"policy": {"org@main"}, "since": {"7d"}},
		"another token": {"csrf": {e.con.keys.csrfToken("other")}, "policy": {"org@main"}, "since": {"7d"}},
	} {
		if resp := e.do(c, "POST", e.srv.URL+"/replays", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, resp.StatusCode)
		}
	}
	for _, bad := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"since": {"7d"}}, "candidate"},
		{url.Values{"policy": {"org@main"}}, "since"},
		{url.Values{"policy": {"org@main"}, "since": {"yesterday"}}, "since"},
		{url.Values{"policy": {"org@main"}, "since": {"7d"}, "until": {"soon"}}, "until"},
		{url.Values{"policy": {"org@main"}, "since": {"7d"}, "repository": {"acme"}}, "repository"},
		{url.Values{"policy": {"nosuch@main"}, "since": {"7d"}}, `replay: no configured bundle source named &#34;nosuch&#34;`},
		// Not one of bob's organizations.
		{url.Values{"policy": {"org@main"}, "since": {"7d"}, "repository": {"globex/tool"}}, "repository"},
	} {
		bad.form.Set("csrf", token)
		resp := e.do(c, "POST", e.srv.URL+"/replays", bad.form)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.body, `id="replay-error">`+bad.field) {
			t.Errorf("%v: %d, want 400 naming %s", bad.form, resp.StatusCode, bad.field)
		}
	}
	if len(f.started) != 0 {
		t.Fatalf("refused forms started %d replays", len(f.started))
	}
	resp := e.do(c, "POST", e.srv.URL+"/replays", url.Values{"csrf": {token}, "policy": {"org@main"}, "since": {"7d"}, "repository": {"acme/secret"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/replays/r-new" {
		t.Fatalf("start: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	got := f.started[0]
	if f.by[0] != "bob" || got.Policy != "org@main" || got.Repository != "acme/secret" || got.Scope.All ||
		strings.Join(got.Scope.Owners, ",") != "acme" || len(got.Scope.Repositories) != 0 ||
		time.Since(got.Since) < 7*24*time.Hour-time.Minute || !got.Until.IsZero() {
		t.Errorf("started %+v by %s", got, f.by[0])
	}
	f.busy = true
	resp = e.do(c, "POST", e.srv.URL+"/replays", url.Values{"csrf": {token}, "policy": {"org@main"}, "since": {"7d"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(resp.body, "already running") {
		t.Errorf("while busy: %d", resp.StatusCode)
	}
}

// A console admin sees every replay and replays everything.
func TestReplayAdmin(t *testing.T) {
	e, f := replayEnv(t)
	c := e.user("carol")
	_, body := e.get(c, "/replays")
	for _, want := range []string{"org@hidden-change", "org@pin-everything", `href="/replays"`} {
		if !strings.Contains(body, want) {
			t.Errorf("carol's replays lack %q", want)
		}
	}
	if _, body := e.get(c, "/replays/r-all"); !strings.Contains(body, "HIDDEN-FINDING") {
		t.Error("carol does not see the replay of everything")
	}
	resp := e.do(c, "POST", e.srv.URL+"/replays", url.Values{"csrf": {e.csrfOf("carol")}, "policy": {"org@main"}, "since": {"2026-01-01"}, "until": {"2026-02-01"}})
	if resp.StatusCode != http.StatusSeeOther || len(f.started) != 1 || !f.started[0].Scope.All ||
		f.started[0].Until.Format(time.DateOnly) != "2026-02-01" {
		t.Errorf("carol's replay: %d, %+v", resp.StatusCode, f.started)
	}
	// Without a runner there is no page at all.
	e2 := newEnv(t, nil)
	if status, _ := e2.get(e2.user("carol"), "/replays"); status != http.StatusNotFound {
		t.Errorf("replays without a runner: %d", status)
	}
}

// postUpload sends the start form with a bundle file, as a browser does.
func (e *env) postUpload(c *http.Client, fields url.Values, bundle []byte) response {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	fw, err := mw.CreateFormFile("bundle", "candidate.tar.gz")
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = fw.Write(bundle)
	_ = mw.Close()
	req, err := http.NewRequest("POST", e.srv.URL+"/replays", &buf)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp, string(b)}
}

// A console_admins member uploads a bundle as the candidate, beside the
// configured sources or in place of one; the runner gets its bytes, and
// the lists name it. An organization owner may not: an upload is any Rego,
// run on the server beside every source's data.
func TestReplayUpload(t *testing.T) {
	e, f := replayEnv(t)
	bundle := []byte("\x1f\x8b pretend this is a .tar.gz bundle")

	bob := e.user("bob")
	if _, body := e.get(bob, "/replays"); strings.Contains(body, `id="r-bundle"`) {
		t.Error("an organization owner is offered the upload")
	}
	if resp := e.postUpload(bob, url.Values{"csrf": {e.csrfOf("bob")}, "since": {"7d"}}, bundle); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(resp.body, `id="replay-error">bundle: only members of the console_admins team`) {
		t.Errorf("an owner's upload: %d, want 400 naming the bundle", resp.StatusCode)
	}

	c := e.user("carol")
	token := e.csrfOf("carol")
	if _, body := e.get(c, "/replays"); !strings.Contains(body, `enctype="multipart/form-data"`) || !strings.Contains(body, `<option value="org">replaces org</option>`) {
		t.Error("the start form takes no upload, or offers no source to replace")
	}
	for _, bad := range []struct {
		fields url.Values
		field  string
	}{
		{url.Values{"policy": {"org@main"}, "since": {"7d"}}, "candidate"},
		{url.Values{"replace": {"nosuch"}, "since": {"7d"}}, "replace"},
		{url.Values{}, "since: required"},
		{url.Values{"since": {"7d"}, "repository": {"not a repo"}}, "repository"},
	} {
		bad.fields.Set("csrf", token)
		resp := e.postUpload(c, bad.fields, bundle)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.body, `id="replay-error">`+bad.field) {
			t.Errorf("%v: %d, want 400 naming %s", bad.fields, resp.StatusCode, bad.field)
		}
	}
	// replace without an upload names nothing to replace.
	resp := e.do(c, "POST", e.srv.URL+"/replays", url.Values{"csrf": {token}, "policy": {"org@main"}, "replace": {"org"}, "since": {"7d"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.body, `id="replay-error">replace: applies to an uploaded bundle only`) {
		t.Errorf("replace without an upload: %d", resp.StatusCode)
	}
	if resp := e.postUpload(c, url.Values{"since": {"7d"}}, bundle); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an upload without the CSRF token: %d, want 403", resp.StatusCode)
	}
	if len(f.started) != 0 {
		t.Fatalf("refused uploads started %d replays", len(f.started))
	}
	resp = e.postUpload(c, url.Values{"csrf": {token}, "replace": {"org"}, "since": {"7d"}, "repository": {"acme/api"}}, bundle)
	if resp.StatusCode != http.StatusSeeOther || len(f.started) != 1 {
		t.Fatalf("upload: %d, %d started", resp.StatusCode, len(f.started))
	}
	got := f.started[0]
	if !bytes.Equal(got.Bundle, bundle) || got.Replace != "org" || got.Policy != "" || got.Repository != "acme/api" || !got.Scope.All {
		t.Errorf("started %+v", got)
	}
	for _, path := range []string{"/replays", "/replays/r-new"} {
		if _, body := e.get(c, path); !strings.Contains(body, "an uploaded bundle in place of org") {
			t.Errorf("%s does not name the uploaded candidate", path)
		}
	}
}

// A form that cannot be parsed after its upload was spooled to disk leaves
// no temporary file behind, and the page names no internal error.
func TestReplayUploadUnreadableForm(t *testing.T) {
	e, _ := replayEnv(t)
	c := e.user("carol")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf", e.csrfOf("carol"))
	fw, _ := mw.CreateFormFile("bundle", "big.tar.gz")
	_, _ = fw.Write(bytes.Repeat([]byte("x"), 3<<20)) // over the 1 MiB kept in memory
	_ = mw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/replays?a;b", &buf) // a query net/http refuses to parse
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(body), "semicolon") {
		t.Errorf("%d: %s", resp.StatusCode, body)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "multipart-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
