package test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/test/harness"
)

// post sends body to the server with the admin token (or none) and
// returns the status and the response.
func post(t *testing.T, s *stack, path, contentType string, body []byte, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := harness.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// tarball packs files into a .tar.gz bundle.
func tarball(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: "/" + name, Mode: 0o600, Size: int64(len(content))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The server records, with each decision, the inventory of what the run
// used and what the evaluation lists filter by; the admin API answers
// from them, and replays the recorded documents with a candidate.
func TestInventoryEvaluationsAndReplayFromTheServer(t *testing.T) {
	s := newStack(t, nil)
	bad := harness.Run{Repo: "acme/web", ID: 7001, HeadSHA: sha(7001), Path: ".github/workflows/changes.yml",
		PullRequests: []int{3}, Installation: installation}
	good := harness.Run{Repo: "acme/api", ID: 7002, HeadSHA: sha(7002), Path: ".github/workflows/build.yml",
		PullRequests: []int{4}, Installation: installation}
	s.requested(bad, badWorkflow, nil, "rec-bad")
	s.requested(good, goodWorkflow, goodWorkflow, "rec-good")
	s.processed("rec-bad")
	s.processed("rec-good")
	ctx := context.Background()
	get := func(path string, v any) {
		t.Helper()
		if code, err := s.srv.Get(ctx, path, adminToken, v); err != nil || code != 200 {
			t.Fatalf("GET %s: %d, %v", path, code, err)
		}
	}

	var inv struct {
		Entries []struct {
			Repository, Workflow, Name, Ref string
			LastOutcome                     string `json:"last_outcome"`
			LastRunID                       int64  `json:"last_run_id"`
			Stopped                         bool
		} `json:"entries"`
	}
	get("/admin/inventory?name=TJ-Actions/changed-files", &inv)
	if len(inv.Entries) != 1 || inv.Entries[0].Repository != "acme/web" || inv.Entries[0].Workflow != bad.Path ||
		!inv.Entries[0].Stopped || inv.Entries[0].LastOutcome != "deny" || inv.Entries[0].LastRunID != bad.ID {
		t.Errorf("who uses tj-actions/changed-files: %+v; want acme/web's run, stopped", inv.Entries)
	}
	inv.Entries = nil
	get("/admin/inventory?repository=acme/api", &inv)
	var refs []string
	for _, e := range inv.Entries {
		refs = append(refs, e.Name+"@"+e.Ref)
		if e.Stopped || e.LastRunID != good.ID {
			t.Errorf("acme/api entry %+v: want its run, gone on", e)
		}
	}
	if strings.Join(refs, " ") != "actions/checkout@v4 step-security/harden-runner@0634a2670c59f64b4a01f0f96f84700a4088b9f0" {
		t.Errorf("acme/api uses %v", refs)
	}

	type evaluation struct {
		ID, Repository, Workflow, Outcome string
		Policies                          []struct{ Policy, Mode string }
	}
	var page struct {
		Evaluations []evaluation `json:"evaluations"`
		Older       string       `json:"older"`
	}
	get("/admin/evaluations?outcome=deny&policy=compromised_actions&since=1h", &page)
	if len(page.Evaluations) != 1 || page.Evaluations[0].Repository != "acme/web" || page.Older != "" ||
		!slices.Contains(page.Evaluations[0].Policies, struct{ Policy, Mode string }{"compromised_actions", "enforce"}) {
		t.Errorf("denied evaluations: %+v", page)
	}
	denied := page.Evaluations[0].ID
	get("/admin/evaluations?limit=1", &page)
	first := slices.Clone(page.Evaluations) // the next decode reuses the slice
	if len(first) != 1 || page.Older == "" {
		t.Fatalf("first page of one: %+v", page)
	}
	get("/admin/evaluations?limit=1&before="+page.Older, &page)
	if len(page.Evaluations) != 1 || page.Evaluations[0].ID == first[0].ID || page.Older != "" {
		t.Errorf("second page: %+v after %+v", page, first)
	}
	var stats struct {
		Total  int `json:"total"`
		PerDay []struct {
			Allow, Deny int
		} `json:"per_day"`
	}
	get("/admin/evaluations/stats?organization=acme&since=2d", &stats)
	total := 0
	for _, d := range stats.PerDay {
		total += d.Allow + d.Deny
	}
	if total != 2 || stats.Total != 2 {
		t.Errorf("per day: %+v; want the two decisions", stats)
	}
	var one struct {
		Decision struct {
			DecisionID string `json:"decision_id"`
		} `json:"decision"`
		Actions []struct{ Action string } `json:"actions"`
	}
	get("/admin/decisions/"+denied, &one)
	if one.Decision.DecisionID != denied || len(one.Actions) == 0 {
		t.Errorf("decision %s: %+v; want its log and the actions on its run", denied, one)
	}

	// A replay with compromised_actions turned off lets the bad run through.
	off := tarball(t, map[string]string{"data.json": `{"runpolicy": {"settings": {"compromised_actions": {"mode": "off"}}}}`})
	if code, body := post(t, s, "/admin/replays?since=1h", "application/gzip", off, ""); code != http.StatusUnauthorized {
		t.Errorf("replay without the token: %d %s", code, body)
	}
	code, body := post(t, s, "/admin/replays?since=1h&repository=acme/web&repository=acme/api", "application/gzip", off, adminToken)
	var started struct{ ID string }
	if code != http.StatusAccepted || json.Unmarshal([]byte(body), &started) != nil || started.ID == "" {
		t.Fatalf("start a replay: %d %s", code, body)
	}
	var st struct {
		State  string
		Error  string
		Done   int
		Total  int
		Result *struct {
			Runs             int `json:"runs"`
			NewlyAllowedRuns int `json:"newly_allowed_runs"`
			NewlyAllowed     []struct {
				Repository string `json:"repository"`
			} `json:"newly_allowed"`
		}
	}
	ok := harness.WaitFor(60*time.Second, func() bool {
		get("/admin/replays/"+started.ID, &st)
		return st.State != "running"
	})
	if !ok || st.State != "done" || st.Result == nil || st.Result.Runs != 2 || st.Result.NewlyAllowedRuns != 1 ||
		st.Result.NewlyAllowed[0].Repository != "acme/web" || st.Done != st.Total {
		t.Errorf("replay: %+v %+v; want done, acme/web's run newly allowed", st, st.Result)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"policy": "/etc", "since": "1h"}`, "want NAME@REF"},
		{`{"policy": "org@main"}`, "since is required"},
		{`{"policy": "org@main", "since": "soon"}`, "since: time"},
		{`{"policy": "org@main", "since": "1h", "extra": 1}`, "unknown field"},
	} {
		if code, body := post(t, s, "/admin/replays", "application/json", []byte(tc.body), adminToken); code != http.StatusBadRequest ||
			!strings.Contains(body, tc.want) {
			t.Errorf("POST %s: %d %s; want 400 with %q", tc.body, code, body, tc.want)
		}
	}
	for _, path := range []string{"/admin/inventory", "/admin/inventory?name=checkout", "/admin/evaluations?outcome=maybe",
		"/admin/evaluations?after=x", "/admin/evaluations?since=soon"} {
		if code, err := s.srv.Get(ctx, path, adminToken, nil); code != http.StatusBadRequest {
			t.Errorf("GET %s: %d, %v; want 400", path, code, err)
		}
	}
}
