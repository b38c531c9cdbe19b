package console

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// evaluationCount is the count the Evaluations page shows.
var evaluationCount = regexp.MustCompile(`(\d+) evaluations from`)

func count(t *testing.T, body string) string {
	t.Helper()
	m := evaluationCount.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no count in the page:\n%s", body)
	}
	return m[1]
}

// Every page, as a user who cannot read acme/secret: no trace of it in
// lists, counts, plots, filters, one evaluation by id or its input
// document, or approvals.
func TestNoTraceOfUnreadableRepositories(t *testing.T) {
	e := newEnv(t, nil)
	base := e.con.Path()
	secret := e.ids["secret"]
	for _, tc := range []struct {
		login string
		path  string
		// status is the answer; count, when set, is the number of
		// evaluations the page must count.
		status int
		count  string
	}{
		{"alice", base, http.StatusOK, "2"},
		{"alice", base + "?repository=acme/secret", http.StatusOK, "0"},
		{"alice", base + "?organization=acme", http.StatusOK, "2"},
		{"alice", base + "?policy=hidden_policy", http.StatusOK, "0"},
		{"alice", base + "?workflow=.github/workflows/hidden-pipeline.yml", http.StatusOK, "0"},
		{"alice", base + "?branch=secret-branch&outcome=deny", http.StatusOK, "0"},
		{"alice", base + "evaluations/" + secret, http.StatusNotFound, ""},
		{"alice", base + "evaluations/" + secret + "/input.json", http.StatusNotFound, ""},
		{"alice", base + "policies", http.StatusNotFound, ""},
		{"alice", base + "policies?repository=acme/secret", http.StatusNotFound, ""},
		{"alice", base + "approvals", http.StatusOK, ""},
		{"dave", base, http.StatusOK, "0"},
		{"dave", base + "?organization=acme", http.StatusOK, "0"},
		{"dave", base + "evaluations/" + secret, http.StatusNotFound, ""},
		{"dave", base + "evaluations/" + e.ids["api-deny"], http.StatusNotFound, ""},
		{"dave", base + "policies", http.StatusNotFound, ""},
		{"dave", base + "approvals", http.StatusOK, ""},
	} {
		t.Run(tc.login+" "+tc.path, func(t *testing.T) {
			status, body := e.get(e.user(tc.login), tc.path)
			if status != tc.status {
				t.Fatalf("status %d, want %d:\n%s", status, tc.status, body)
			}
			for _, m := range hiddenMarkers {
				if strings.Contains(body, m) && !strings.Contains(tc.path, m) {
					t.Errorf("the answer holds %q", m)
				}
			}
			// A filter the user typed is echoed in its own form field,
			// and nowhere else.
			for _, m := range hiddenMarkers {
				if strings.Contains(tc.path, m) && strings.Count(body, m) > 1 {
					t.Errorf("%q appears %d times: more than the form's own value", m, strings.Count(body, m))
				}
			}
			if tc.count != "" && count(t, body) != tc.count {
				t.Errorf("count %s, want %s", count(t, body), tc.count)
			}
		})
	}
	// One evaluation alice may not see answers exactly as one that does
	// not exist: the id tells nothing.
	_, hidden := e.get(e.user("alice"), base+"evaluations/"+secret)
	_, missing := e.get(e.user("alice"), base+"evaluations/dec-nope")
	if hidden != missing {
		t.Errorf("a hidden evaluation's page differs from a missing one's:\n%s\n---\n%s", hidden, missing)
	}
}

// What each kind of user sees: readers their repositories, owners their
// organization, console_admins everything.
func TestWhoSeesWhat(t *testing.T) {
	e := newEnv(t, nil)
	base := e.con.Path()
	for _, tc := range []struct {
		login       string
		count       string
		see, notSee []string
		policies    int
	}{
		{"alice", "2", []string{"acme/api"}, []string{"acme/secret", "globex/tool"}, http.StatusNotFound},
		{"bob", "3", []string{"acme/api", "acme/secret"}, []string{"globex/tool"}, http.StatusOK},
		{"carol", "4", []string{"acme/api", "acme/secret", "globex/tool"}, nil, http.StatusOK},
		{"dave", "0", nil, []string{"acme/api", "acme/secret", "globex/tool"}, http.StatusNotFound},
	} {
		t.Run(tc.login, func(t *testing.T) {
			c := e.user(tc.login)
			_, body := e.get(c, base)
			if got := count(t, body); got != tc.count {
				t.Errorf("count %s, want %s", got, tc.count)
			}
			for _, r := range tc.see {
				if !strings.Contains(body, "<td>"+r+"</td>") {
					t.Errorf("%s is not listed", r)
				}
			}
			for _, r := range tc.notSee {
				if strings.Contains(body, r) {
					t.Errorf("%s is listed", r)
				}
			}
			if status, _ := e.get(c, base+"policies"); status != tc.policies {
				t.Errorf("policies page: %d, want %d", status, tc.policies)
			}
			nav := strings.Contains(body, `href="`+base+`policies"`)
			if nav != (tc.policies == http.StatusOK) {
				t.Errorf("policies link shown: %v, want %v", nav, tc.policies == http.StatusOK)
			}
		})
	}
	// An owner chooses among their organization's repositories only.
	status, body := e.get(e.user("bob"), base+"policies?repository=acme/secret")
	if status != http.StatusOK || !strings.Contains(body, `id="settings"`) {
		t.Errorf("bob's settings for acme/secret: %d", status)
	}
	status, body = e.get(e.user("bob"), base+"policies?repository=globex/tool")
	if status != http.StatusBadRequest || strings.Contains(body, `id="settings"`) {
		t.Errorf("bob's settings for globex/tool: %d, want 400 and no settings", status)
	}
	if status, _ := e.get(e.user("carol"), base+"policies?repository=globex/tool"); status != http.StatusOK {
		t.Errorf("carol's settings for globex/tool: %d", status)
	}
}

// What a user may read is asked of GitHub once a minute, not on every
// page.
func TestAccessIsCached(t *testing.T) {
	e := newEnv(t, nil)
	c := e.user("alice")
	e.get(c, e.con.Path())
	before := e.gh.CountAll("GET", "/user/installations")
	for range 3 {
		if status, _ := e.get(c, e.con.Path()); status != http.StatusOK {
			t.Fatal(status)
		}
	}
	if n := e.gh.CountAll("GET", "/user/installations") - before; n != 0 {
		t.Errorf("%d more installation lists within the cache's minute, want 0", n)
	}
}

// GitHub's answer changes what a user sees once the cache expires: a
// repository taken from alice is gone from her pages.
func TestAccessFollowsGitHub(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AccessTTL = 1 })
	c := e.user("alice")
	if _, body := e.get(c, e.con.Path()); count(t, body) != "2" {
		t.Fatalf("count before: %s", count(t, body))
	}
	e.gh.AddUser(fakegithubUser("alice", nil))
	if _, body := e.get(c, e.con.Path()); count(t, body) != "0" || strings.Contains(body, "acme/api") {
		t.Errorf("count after losing acme/api: %s", count(t, body))
	}
	if status, _ := e.get(c, e.con.Path()+"evaluations/"+e.ids["api-deny"]); status != http.StatusNotFound {
		t.Errorf("evaluation after losing acme/api: %d, want 404", status)
	}
}
