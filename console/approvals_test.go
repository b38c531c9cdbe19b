package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// approvalRowPattern is an approval's row of the Approvals page.
var approvalRowPattern = regexp.MustCompile(`(?s)<tr id="approval-([^"]+)">.*?</tr>`)

// approvalRows are the rows of the Approvals page, in order, by id.
func approvalRows(body string) (ids []string, rows map[string]string) {
	rows = map[string]string{}
	for _, m := range approvalRowPattern.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
		rows[m[1]] = m[0]
	}
	return ids, rows
}

// Each user sees the approvals of the repositories they can read, newest
// first, and a revoke button on those of the repositories they
// administer that are not revoked yet.
func TestApprovalsWhoSeesWhat(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		login string
		// see are the approvals listed, in order; revocable those with a
		// revoke button.
		see, revocable []string
	}{
		{"alice", []string{"ap-api", "ap-api-expired", "ap-api-revoked"}, nil},
		{"bob", []string{"ap-secret", "ap-api", "ap-api-expired", "ap-api-revoked"}, []string{"ap-secret", "ap-api", "ap-api-expired"}},
		{"carol", []string{"ap-globex", "ap-secret", "ap-api", "ap-api-expired", "ap-api-revoked"},
			[]string{"ap-globex", "ap-secret", "ap-api", "ap-api-expired"}},
		{"dave", nil, nil},
	} {
		t.Run(tc.login, func(t *testing.T) {
			status, body := e.get(e.user(tc.login), "/approvals")
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			if !strings.Contains(body, `<a href="/approvals" aria-current="page">Approvals</a>`) {
				t.Error("the navigation does not link the page as the current one")
			}
			ids, rows := approvalRows(body)
			if strings.Join(ids, " ") != strings.Join(tc.see, " ") {
				t.Errorf("approvals %q, want %q", ids, tc.see)
			}
			var revocable []string
			for _, id := range ids {
				if strings.Contains(rows[id], `action="/approvals/`+id+`/revoke"`) {
					revocable = append(revocable, id)
				}
			}
			if strings.Join(revocable, " ") != strings.Join(tc.revocable, " ") {
				t.Errorf("revoke buttons on %q, want %q", revocable, tc.revocable)
			}
			if (len(tc.revocable) > 0) != strings.Contains(body, `<th scope="col">Revoke</th>`) {
				t.Error("the revoke column is shown to whoever may revoke nothing, or hidden from who may")
			}
			if len(ids) == 0 && !strings.Contains(body, `id="empty"`) {
				t.Error("an empty list says nothing")
			}
		})
	}
	// What one row says: the repository, workflow, policies waived,
	// approver, expiry, state, and the approved run and evaluation.
	_, body := e.get(e.user("alice"), "/approvals")
	_, rows := approvalRows(body)
	for id, want := range map[string][]string{
		"ap-api": {"<td>acme/api</td>", "<td>.github/workflows/changes.yml</td>", "<td>secret_exfiltration, harden_runner</td>",
			"<td>maintainer-mona</td>", `<span class="outcome allow">active</span>`,
			`href="` + e.gh.URL() + `/acme/api/actions/runs/1001"`, `href="/evaluations/` + e.ids["api-deny"] + `"`},
		"ap-api-expired": {"<td>allowed_actions</td>", `<span class="outcome expired">expired</span>`},
		"ap-api-revoked": {"<td>never</td>", `<span class="outcome deny">revoked</span>`, " by security-sam"},
	} {
		for _, w := range want {
			if !strings.Contains(rows[id], w) {
				t.Errorf("%s's row lacks %q:\n%s", id, w, rows[id])
			}
		}
	}
	if strings.Contains(rows["ap-api"], "<td>never</td>") {
		t.Error("ap-api's expiry is shown as never")
	}
}

// A reader revokes nothing, whatever they send; an owner revokes the
// approvals of their organization only, with the form's token; the revoke
// is the admin API's, an event in the decision log naming the console
// user.
func TestApprovalRevoke(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	revoke := func(login, id string, form url.Values) response {
		t.Helper()
		return e.do(e.user(login), "POST", e.srv.URL+"/approvals/"+id+"/revoke", form)
	}
	unrevoked := func(id string) {
		t.Helper()
		if a, err := e.st.Approval(ctx, id); err != nil || !a.RevokedAt.IsZero() {
			t.Errorf("%s: revoked by %q (%v), want not revoked", id, a.RevokedBy, err)
		}
	}

	// Alice reads acme/api: its approvals are listed for her, but she
	// revokes none; her refusal is a missing approval's.
	aliceToken := e.csrfOf("alice")
	nope := revoke("alice", "ap-nope", url.Values{"csrf": {aliceToken}})
	for _, id := range []string{"ap-api", "ap-secret"} {
		if resp := revoke("alice", id, url.Values{"csrf": {aliceToken}}); resp.StatusCode != http.StatusNotFound || resp.body != nope.body {
			t.Errorf("alice revokes %s: %d, want the 404 of a missing approval", id, resp.StatusCode)
		}
	}
	unrevoked("ap-api")
	unrevoked("ap-secret")

	bobToken := e.csrfOf("bob")
	for name, form := range map[string]url.Values{
		"no token":      {},
		"another token": {"csrf": {e.con.keys.csrfToken("other")}},
		"alice's token": {"csrf": {aliceToken}},
	} {
		if resp := revoke("bob", "ap-api", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, resp.StatusCode)
		}
	}
	unrevoked("ap-api")

	// globex/tool is not bob's: its approval answers as one that does
	// not exist.
	hidden := revoke("bob", "ap-globex", url.Values{"csrf": {bobToken}})
	nope = revoke("bob", "ap-nope", url.Values{"csrf": {bobToken}})
	if hidden.StatusCode != http.StatusNotFound || hidden.body != nope.body {
		t.Errorf("bob revokes globex's approval: %d, want the 404 of a missing one", hidden.StatusCode)
	}
	if strings.Contains(hidden.body, "globex") {
		t.Error("the refusal names globex")
	}
	unrevoked("ap-globex")

	resp := revoke("bob", "ap-api", url.Values{"csrf": {bobToken}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/approvals" {
		t.Fatalf("bob revokes ap-api: %d to %q, want 303 to /approvals: %s", resp.StatusCode, resp.Header.Get("Location"), resp.body)
	}
	a, err := e.st.Approval(ctx, "ap-api")
	if err != nil || a.RevokedAt.IsZero() || a.RevokedBy != "bob" {
		t.Fatalf("ap-api after bob's revoke: revoked %v by %q (%v)", a.RevokedAt, a.RevokedBy, err)
	}
	if list, err := e.st.ApprovalsFor(ctx, "acme/api", ".github/workflows/changes.yml", a.CreatedAt); err != nil || len(list) != 0 {
		t.Errorf("ap-api still covers runs: %+v, %v", list, err)
	}
	_, body := e.get(e.user("bob"), "/approvals")
	_, rows := approvalRows(body)
	if row := rows["ap-api"]; !strings.Contains(row, `<span class="outcome deny">revoked</span>`) || !strings.Contains(row, " by bob") ||
		strings.Contains(row, "<form") {
		t.Errorf("the page after the revoke:\n%s", row)
	}
	// Again: nothing more happens, and the browser goes back to the list.
	if resp := revoke("bob", "ap-api", url.Values{"csrf": {bobToken}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a second revoke: %d, want 303", resp.StatusCode)
	}
	if got := revokeEvents(t, e.st, "acme/api"); len(got) != 1 || got[0] != "bob ap-api" {
		t.Errorf("revoke events in the decision log: %q, want one by bob of ap-api", got)
	}

	// A console admin revokes anywhere.
	if resp := revoke("carol", "ap-globex", url.Values{"csrf": {e.csrfOf("carol")}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("carol revokes ap-globex: %d", resp.StatusCode)
	}
	if got := revokeEvents(t, e.st, "globex/tool"); len(got) != 1 || got[0] != "carol ap-globex" {
		t.Errorf("revoke events of globex/tool: %q", got)
	}
}

// revokeEvents are the revoke events of a repository in the decision
// log, each as "by approval-id".
func revokeEvents(t *testing.T, st *store.Store, repo string) []string {
	t.Helper()
	list, err := st.Decisions(context.Background(), store.DecisionFilter{Repository: repo, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range list {
		if d.Event != "approval_revoke" {
			continue
		}
		var l struct {
			By       string `json:"by"`
			Outcome  string `json:"outcome"`
			Approval struct {
				ID string `json:"id"`
			} `json:"approval"`
		}
		if err := json.Unmarshal(d.Log, &l); err != nil || l.Outcome != "revoked" || d.Outcome != "revoked" {
			t.Errorf("revoke event %s: %s (%v)", d.ID, d.Log, err)
		}
		out = append(out, l.By+" "+l.Approval.ID)
	}
	return out
}

// Without a way to revoke (no Revoke option), the page lists and no one
// revokes.
func TestApprovalsWithoutRevoke(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Revoke = nil })
	_, body := e.get(e.user("carol"), "/approvals")
	if ids, _ := approvalRows(body); len(ids) != 5 || strings.Contains(body, "/revoke") {
		t.Errorf("carol's list without revoke: %q, revoke shown: %v", ids, strings.Contains(body, "/revoke"))
	}
	if resp := e.do(e.user("carol"), "POST", e.srv.URL+"/approvals/ap-api/revoke", url.Values{"csrf": {e.csrfOf("carol")}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("revoke without a way to: %d, want 404", resp.StatusCode)
	}
}
