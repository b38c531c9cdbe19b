package test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/runpolicy/runpolicy/test/harness"
)

// Proof 7: the admin and status endpoints answer only requests carrying
// the admin token as a Bearer credential; every other form is refused
// with 401 and nothing of the data. Without an admin token configured they
// do not exist. That no response and no log line of the whole suite holds
// a secret is checked by the audit in TestMain.
func TestAdminAuthorization(t *testing.T) {
	s := newStack(t, nil)
	r := harness.Run{Repo: "acme/auth", ID: 9901, HeadSHA: sha(9901), Path: ".github/workflows/changes.yml",
		PullRequests: []int{3}, Installation: installation}
	s.requested(r, badWorkflow, nil, "auth-1")
	s.processed("auth-1")

	protected := []string{
		"/admin/decisions",
		"/admin/decisions?repository=acme/auth&limit=5",
		"/admin/deliveries/auth-1",
		"/admin/bundles",
		"/status/bundles",
		"/admin/inventory?name=tj-actions/changed-files",
		"/admin/inventory?repository=acme/auth",
		"/admin/evaluations",
		"/admin/evaluations?repository=acme/auth",
		"/admin/evaluations/stats",
		"/admin/replays",
	}
	refused := []struct {
		name   string
		header string // Authorization
		query  string
	}{
		{"no credentials", "", ""},
		{"wrong token", "Bearer not-the-admin-token", ""},
		{"token without scheme", adminToken, ""},
		{"token as basic auth", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+adminToken)), ""},
		{"token as basic password only", "Basic " + base64.StdEncoding.EncodeToString([]byte(adminToken)), ""},
		{"empty bearer", "Bearer ", ""},
		{"token prefix", "Bearer " + adminToken[:len(adminToken)-1], ""},
		{"token and more", "Bearer " + adminToken + "x", ""},
		{"token with a space", "Bearer  " + adminToken, ""},
		{"token in the query", "", "token=" + adminToken},
		{"token in access_token", "", "access_token=" + adminToken},
		{"webhook secret as token", "Bearer " + s.gh.Secret, ""},
	}
	ctx := context.Background()
	for _, path := range protected {
		for _, tc := range refused {
			code, body := get(t, ctx, s.srv.URL+withQuery(path, tc.query), tc.header)
			if code != http.StatusUnauthorized {
				t.Errorf("GET %s with %s: %d, want 401", path, tc.name, code)
			}
			if strings.Contains(body, "decision_id") || strings.Contains(body, "acme/auth") || strings.Contains(body, "revisions") {
				t.Errorf("GET %s with %s revealed data: %.200s", path, tc.name, body)
			}
		}
		if code, body := get(t, ctx, s.srv.URL+path, "Bearer "+adminToken); code != http.StatusOK {
			t.Errorf("GET %s with the admin token: %d, want 200: %.200s", path, code, body)
		}
	}
	// The alias answers as /admin/bundles does.
	_, admin := get(t, ctx, s.srv.URL+"/admin/bundles", "Bearer "+adminToken)
	_, status := get(t, ctx, s.srv.URL+"/status/bundles", "Bearer "+adminToken)
	var a, b map[string]any
	if json.Unmarshal([]byte(admin), &a) != nil || json.Unmarshal([]byte(status), &b) != nil || jsonOf(a) != jsonOf(b) || a["revisions"] == nil {
		t.Errorf("/status/bundles = %s, want what /admin/bundles says: %s", status, admin)
	}
	// The API reads; it takes no writes.
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequestWithContext(ctx, method, s.srv.URL+"/admin/deliveries/auth-1", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := harness.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s /admin/deliveries/auth-1: %d, want 405 or 404", method, resp.StatusCode)
		}
	}
	// The public endpoints say nothing about runs.
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		code, body := get(t, ctx, s.srv.URL+path, "")
		if code != http.StatusOK || strings.Contains(body, "acme/auth") || strings.Contains(body, "auth-1") {
			t.Errorf("GET %s: %d, or it names a run: %.300s", path, code, body)
		}
	}

	// Without an admin token there is no admin API, whatever is sent.
	bare := newStack(t, map[string]any{"admin_token": ""})
	for _, path := range protected {
		for _, header := range []string{"", "Bearer ", "Bearer " + adminToken} {
			if code, _ := get(t, ctx, bare.srv.URL+path, header); code != http.StatusNotFound {
				t.Errorf("GET %s without an admin token configured (Authorization %q): %d, want 404", path, header, code)
			}
		}
	}
}

// TestSecretAuditFindsLeaks checks the check: the audit that TestMain
// runs over every log line and response finds a secret however it is
// embedded, and only then.
func TestSecretAuditFindsLeaks(t *testing.T) {
	a, err := harness.NewAudit(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	key := "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u\n-----END RSA PRIVATE KEY-----\n"
	if err := a.Secret("webhook secret", "whsec-0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	if err := a.SecretPEM("private key", []byte(key)); err != nil {
		t.Fatal(err)
	}
	if err := a.Secret("short", "abc"); err == nil {
		t.Error("a secret too short to look for was accepted")
	}
	a.Record("clean", `{"msg":"run judged","decision_id":"x"}`)
	w := a.Writer("server")
	io.WriteString(w, `{"msg":"oops","key":"`+strings.ReplaceAll(key, "\n", `\n`)+`"}`+"\n")
	a.Record("response", "token=whsec-0123456789abcdef&x=1")
	leaks, lines, err := a.Leaks()
	if err != nil {
		t.Fatal(err)
	}
	if lines != 3 || len(leaks) != 2 {
		t.Fatalf("checked %d lines, found %d leaks, want 3 lines and 2 leaks (the key line, the secret):\n%s", lines, len(leaks), strings.Join(leaks, "\n"))
	}
	if !strings.Contains(leaks[0], "private key") || !strings.Contains(leaks[1], "webhook secret") {
		t.Errorf("leaks = %q", leaks)
	}
}

// get fetches url with an Authorization header (none when empty) and
// returns the status and the body.
func get(t *testing.T, ctx context.Context, url, authorization string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := harness.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func withQuery(path, query string) string {
	if query == "" {
		return path
	}
	if strings.Contains(path, "?") {
		return path + "&" + query
	}
	return path + "?" + query
}
