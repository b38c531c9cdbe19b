package console

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// inventoryRepos are the repository cells of an inventory answer.
var inventoryRepos = regexp.MustCompile(`<td><a href="/inventory\?repository=[^"]*">([^<]+)</a></td>`)

func TestInventoryWhoUses(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		login, uses string
		want        []string
	}{
		// Newest sighting first.
		{"carol", "tj-actions/changed-files@v45", []string{"globex/tool", "acme/secret", "acme/api", "acme/api"}},
		{"carol", "tj-actions/changed-files@v44", nil},
		{"carol", "TJ-Actions/Changed-Files", []string{"globex/tool", "acme/secret", "acme/api", "acme/api"}},
		{"bob", "actions/checkout", []string{"acme/secret", "acme/api", "acme/api"}},
		{"alice", "tj-actions/changed-files@v45", []string{"acme/api", "acme/api"}},
		// The zero scope sees nothing.
		{"dave", "tj-actions/changed-files", nil},
	} {
		status, body := e.get(e.user(tc.login), "/inventory?uses="+tc.uses)
		if status != http.StatusOK {
			t.Fatalf("%s %s: %d", tc.login, tc.uses, status)
		}
		var got []string
		for _, m := range inventoryRepos.FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s %s: repositories %v, want %v", tc.login, tc.uses, got, tc.want)
		}
		if tc.want == nil && !strings.Contains(body, `id="empty"`) {
			t.Errorf("%s %s: no word of an empty answer", tc.login, tc.uses)
		}
		if tc.login != "carol" && tc.login != "bob" {
			for _, m := range hiddenMarkers {
				if strings.Contains(body, m) {
					t.Errorf("%s %s: the page holds %q", tc.login, tc.uses, m)
				}
			}
		}
	}
}

func TestInventoryOfARepository(t *testing.T) {
	e := newEnv(t, nil)
	_, body := e.get(e.user("alice"), "/inventory?repository=acme/api")
	for _, want := range []string{`<a href="/inventory?uses=actions%2fcheckout">actions/checkout</a>`,
		`<a href="/inventory?uses=tj-actions%2fchanged-files">tj-actions/changed-files</a>`,
		".github/workflows/changes.yml", ".github/workflows/build.yml", ">stopped<", ">went on<",
		"/acme/api/actions/runs/1001/attempts/1", `href="/evaluations/dec-api-deny"`} {
		if !strings.Contains(body, want) {
			t.Errorf("acme/api's inventory lacks %q", want)
		}
	}
	if n := strings.Count(body, "<tr>"); n != 5 {
		t.Errorf("acme/api's inventory: %d rows with the header, want 5 (2 workflows × 2 actions)", n)
	}
	// A repository alice cannot read: the answer of one without runs.
	status, body := e.get(e.user("alice"), "/inventory?repository=acme/secret")
	if status != http.StatusOK || !strings.Contains(body, `id="empty"`) || strings.Contains(body, "hidden-pipeline") ||
		strings.Contains(body, "<tbody>") {
		t.Errorf("acme/secret for alice: %d, shows more than nothing", status)
	}
	if _, body := e.get(e.user("bob"), "/inventory?repository=ACME/Secret"); !strings.Contains(body, "hidden-pipeline.yml") {
		t.Error("bob, acme's owner, does not see acme/secret's workflow")
	}
}

func TestInventoryRefusesBadQuestions(t *testing.T) {
	e := newEnv(t, nil)
	c := e.user("carol")
	for _, tc := range []struct{ query, field string }{
		{"uses=./.github/actions/local", "uses"}, {"uses=checkout", "uses"}, {"uses=a/b&repository=acme/api", "uses and repository"},
		{"repository=acme", "repository"}, {"repository=" + strings.Repeat("a", 300) + "/b", "repository"},
		{"uses=" + strings.Repeat("a", 600), "uses"},
	} {
		status, body := e.get(c, "/inventory?"+tc.query)
		if status != http.StatusBadRequest || !strings.Contains(body, `id="inventory-error">`+tc.field) {
			t.Errorf("%s: %d, want 400 naming %s", tc.query, status, tc.field)
		}
	}
	if status, body := e.get(c, "/inventory"); status != http.StatusOK || strings.Contains(body, `id="empty"`) {
		t.Errorf("the empty form: %d", status)
	}
}
