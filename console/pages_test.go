package console

import (
	"context"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/bundles"
	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// actionTimes is the store with the actions of a run at fixed times, each
// done 90 seconds after it started: times a test can tell apart.
type actionTimes struct {
	*store.Store
	start time.Time
}

func (s actionTimes) Evaluation(ctx context.Context, scope store.Scope, id string) (*store.Decision, []store.Action, error) {
	d, acts, err := s.Store.Evaluation(ctx, scope, id)
	for i := range acts {
		acts[i].CreatedAt = s.start.Add(time.Duration(i) * time.Hour)
		if acts[i].Done() {
			acts[i].DoneAt = acts[i].CreatedAt.Add(90 * time.Second)
		}
	}
	return d, acts, err
}

// The actions taken on GitHub, each with when it started and when it was
// done, the force-cancel by its name, and who took each.
func TestEvaluationActions(t *testing.T) {
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	e := newEnv(t, func(o *Options) { o.Store = actionTimes{Store: o.Store.(*store.Store), start: start} })
	ctx := context.Background()
	key := store.RunKey{Repository: "acme/api", RunID: 1001, Attempt: 1}
	denied := e.ids["api-deny"]
	// A force-cancel done, a re-run another evaluation of the run took
	// and has not done yet.
	if _, err := e.st.Claim(ctx, key, "force_cancel", denied, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Complete(ctx, key, "force_cancel", denied, "force-cancelled"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Claim(ctx, key, "rerun", "dec-later", 0); err != nil {
		t.Fatal(err)
	}
	_, body := e.get(e.user("alice"), "/evaluations/"+denied)
	_, acts, err := e.st.Evaluation(ctx, store.Scope{All: true}, denied)
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 5 {
		t.Fatalf("%d actions on record, want 5", len(acts))
	}
	tm := func(t time.Time) string { return t.Format("2006-01-02 15:04:05 UTC") }
	row := regexp.MustCompile(`<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td><td>([^<]*)</td>\s*<td>(.*?)</td></tr>`)
	got := row.FindAllStringSubmatch(body, -1)
	if len(got) != len(acts) {
		t.Fatalf("%d actions shown, want %d:\n%s", len(got), len(acts), body)
	}
	labels := map[string]string{"cancel": "cancelled", "check_run": "check run", "comment:12": "comment on #12",
		"force_cancel": "force-cancelled", "rerun": "rerun"}
	for i, a := range acts {
		started := start.Add(time.Duration(i) * time.Hour)
		done := tm(started.Add(90 * time.Second))
		by := "this evaluation"
		if a.Name == "rerun" {
			done, by = "not done", `<a href="/evaluations/dec-later">another evaluation of the run</a>`
		}
		want := []string{labels[a.Name], tm(started), done, a.Ref, by}
		if strings.Join(got[i][1:], "|") != strings.Join(want, "|") {
			t.Errorf("action %s: %q, want %q", a.Name, got[i][1:], want)
		}
	}
	// The list names what this evaluation did, in a word.
	_, body = e.get(e.user("alice"), "/?outcome=deny")
	if !strings.Contains(body, "<td>cancelled, check run, comment on #12, force-cancelled</td>") {
		t.Error("the list does not name the force-cancel")
	}
}

// The plots of the Evaluations page: the decisions per day by outcome,
// drawn to scale and said again in a table, and the top policies.
func TestEvaluationPlots(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	now := time.Now().UTC()
	// Beside the four seeded: another denial by compromised_actions, and
	// an error.
	for _, d := range []store.Decision{
		{ID: "dec-api-deny-2", DeliveryID: "del-api-deny-2", Event: "workflow_run", Repository: "acme/api", RunID: 1004, RunAttempt: 1,
			Outcome: store.OutcomeDeny, CreatedAt: now.Add(-4 * time.Hour),
			Log: testLog("acme/api", 1004, ".github/workflows/changes.yml", "main", "push", strings.Repeat("d", 40), "", "",
				[]map[string]any{{"policy": "compromised_actions", "mode": "enforce", "message": "compromised"}})},
		{ID: "dec-api-error", DeliveryID: "del-api-error", Event: "workflow_run", Repository: "acme/api", RunID: 1005, RunAttempt: 1,
			Outcome: store.OutcomeError, CreatedAt: now.Add(-5 * time.Minute),
			Log: testLog("acme/api", 1005, ".github/workflows/changes.yml", "main", "push", strings.Repeat("e", 40), "", "", nil)},
	} {
		if _, err := e.st.SaveDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	_, body := e.get(e.user("carol"), "/")
	if got := count(t, body); got != "6" {
		t.Errorf("count %s, want 6", got)
	}

	// Per day: the table's rows are the days with decisions; the sums
	// hold whichever side of midnight the test runs.
	dayRow := regexp.MustCompile(`<tr><th scope="row">(\d{4}-\d\d-\d\d)</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr>`)
	days := map[string][4]int{}
	var sum [4]int
	most := 0
	for _, m := range dayRow.FindAllStringSubmatch(body, -1) {
		var n [4]int
		for i := range n {
			n[i], _ = strconv.Atoi(m[i+2])
			sum[i] += n[i]
		}
		days[m[1]] = n
		most = max(most, n[0]+n[1]+n[2]+n[3])
	}
	if sum != [4]int{3, 1, 1, 1} {
		t.Errorf("denied, error, dry-run, allowed per day sum to %v, want [3 1 1 1]", sum)
	}
	if !strings.Contains(body, "<li>highest day: "+strconv.Itoa(most)+"</li>") {
		t.Errorf("the legend does not say the highest day is %d", most)
	}
	// Each day's column in the SVG: its title says the table's numbers,
	// and each outcome's bar is as tall as its share of the highest day.
	column := regexp.MustCompile(`<g><title>(\d{4}-\d\d-\d\d): (\d+) denied, (\d+) error, (\d+) dry-run findings, (\d+) allowed</title>(.*?)</g>`)
	bar := regexp.MustCompile(`<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)" class="([a-z_]+)">`)
	columns := column.FindAllStringSubmatch(body, -1)
	if len(columns) != 30 {
		t.Errorf("%d day columns, want 30 (the last 30 days, today included)", len(columns))
	}
	drawn := 0
	for _, c := range columns {
		var n [4]int
		for i := range n {
			n[i], _ = strconv.Atoi(c[i+2])
		}
		if n != days[c[1]] {
			t.Errorf("%s: the plot says %v, the table %v", c[1], n, days[c[1]])
		}
		heights := map[string]float64{}
		for _, b := range bar.FindAllStringSubmatch(c[6], -1) {
			heights[b[2]], _ = strconv.ParseFloat(b[1], 64)
			drawn++
		}
		for i, class := range []string{"deny", "error", "dry_run", "allow"} {
			if want := float64(n[i]) / float64(most) * 160; math.Abs(heights[class]-want) > 0.01 {
				t.Errorf("%s: %s bar %.2f high, want %.2f", c[1], class, heights[class], want)
			}
		}
	}
	if drawn == 0 {
		t.Error("no bar drawn")
	}

	// The top policies, most decisions first, then by name; the longest
	// bar is 400 wide and the others to scale.
	for _, want := range []string{
		`<tr><th scope="row">compromised_actions</th><td>2</td><td>2</td></tr><tr><th scope="row">harden_runner</th><td>1</td><td>0</td></tr><tr><th scope="row">hidden_policy</th><td>1</td><td>1</td></tr>`,
		`<title>compromised_actions: 2 decisions, 2 enforced</title>`,
		`<rect x="240" y="4" width="400" height="20" class="policy"></rect>`,
		`<text x="648" y="19" class="count">2</text>`,
		`<rect x="240" y="32" width="200" height="20" class="policy"></rect>`,
		`<text x="448" y="47" class="count">1</text>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the top policies lack %s", want)
		}
	}
	// A reader's plots count only what they can read.
	_, body = e.get(e.user("alice"), "/")
	if strings.Contains(body, "hidden_policy") || !strings.Contains(body, `<tr><th scope="row">compromised_actions</th><td>2</td><td>2</td></tr></tbody>`) {
		t.Error("alice's top policies are not hers alone")
	}
}

// The Policies page: each bundle source with its location, revision,
// times, last error and refused revision; the effective settings of a
// repository after its overrides.
func TestPoliciesPage(t *testing.T) {
	activated := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	checked := time.Date(2026, 3, 2, 8, 15, 0, 0, time.UTC)
	eng, err := engine.New(context.Background(), nil, engine.WithData(map[string]any{"runpolicy": map[string]any{"settings": map[string]any{
		"harden_runner": map[string]any{"mode": "enforce"},
		"repositories": map[string]any{
			"acme/*":          map[string]any{"allowed_actions": map[string]any{"mode": "enforce", "allow": []any{"actions/*"}}},
			"acme/legacy-api": map[string]any{"harden_runner": map[string]any{"mode": "off"}, "allowed_actions": map[string]any{"allow": []any{"legacy/*"}}},
		},
	}}}))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *Options) {
		o.Engine = eng
		o.Bundles = func() []bundles.SourceStatus {
			return []bundles.SourceStatus{{Name: "builtin", Type: "builtin", Revision: "builtin-rev"},
				{Name: "org", Type: "git", URL: "https://github.com/acme/policies.git", Revision: "abc123", ActivatedAt: activated,
					LastCheck: checked, LastError: "fetch: HTTP 503", FailedRevision: "def456"}}
		}
	})
	c := e.user("bob")
	status, body := e.get(c, "/policies")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	for _, want := range []string{
		`<th scope="row">builtin</th><td>builtin</td><td></td><td><code>builtin-rev</code></td>`,
		`<th scope="row">org</th><td>git</td><td>https://github.com/acme/policies.git</td><td><code>abc123</code></td>`,
		"<td>2026-03-01 09:30:00 UTC</td><td>2026-03-02 08:15:00 UTC</td>",
		"<td>fetch: HTTP 503</td><td><code>def456</code></td>",
		"Active revisions: builtin <code>" + eng.Revisions()["builtin"] + "</code>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the bundles lack %q", want)
		}
	}
	if strings.Contains(body, `id="settings"`) {
		t.Error("settings shown before a repository is chosen")
	}
	for _, tc := range []struct {
		repo string
		want []string
	}{
		{"acme/legacy-api", []string{
			"after the overrides <code>acme/*</code>, then <code>acme/legacy-api</code>.",
			`<th scope="row">harden_runner</th><td>off</td>`,
			`<th scope="row">allowed_actions</th><td>enforce</td><td><pre>{
  &#34;allow&#34;: [
    &#34;legacy/*&#34;
  ],`,
			`<th scope="row">compromised_actions</th><td>enforce</td>`,
		}},
		{"acme/web", []string{
			"after the overrides <code>acme/*</code>.",
			`<th scope="row">harden_runner</th><td>enforce</td>`,
			`<th scope="row">allowed_actions</th><td>enforce</td><td><pre>{
  &#34;allow&#34;: [
    &#34;actions/*&#34;
  ],`,
		}},
	} {
		status, body := e.get(c, "/policies?repository="+tc.repo)
		if status != http.StatusOK {
			t.Errorf("%s: status %d", tc.repo, status)
		}
		for _, want := range tc.want {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the settings lack %q", tc.repo, want)
			}
		}
	}
	// Carol's repositories outside any override: the organization-wide
	// settings.
	_, body = e.get(e.user("carol"), "/policies?repository=globex/tool")
	if !strings.Contains(body, "after no override: the organization-wide settings.") || !strings.Contains(body, `<th scope="row">harden_runner</th><td>enforce</td>`) {
		t.Error("globex/tool's settings are not the organization-wide ones")
	}
}
