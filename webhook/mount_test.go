package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/test/fakegithub"
)

// A handler mounted beside the App (the console) gets every path under its
// prefix but the App's own, which keep their handlers and guards.
func TestMount(t *testing.T) {
	ctx := context.Background()
	eng, err := engine.New(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := fakegithub.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	app, err := github.NewApp(github.Config{AppID: 1, PrivateKey: key, APIURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	mounted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "mounted "+r.URL.Path) })
	for _, prefix := range []string{"/", "/console/"} {
		t.Run(prefix, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.RedeliverInterval = 0
			srv, err := New(ctx, Options{Config: cfg, Secret: []byte("s"), Engine: eng, Policies: neverReady{}, App: app, AdminToken: "admin",
				Database: filepath.Join(t.TempDir(), "m.db")})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Store().Close()
			srv.Mount(prefix, mounted)
			hs := httptest.NewServer(srv.Handler())
			defer hs.Close()
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for _, tc := range []struct {
				method, path string
				status       int
				body         string
			}{
				{"GET", prefix, 200, "mounted " + prefix},
				{"GET", prefix + "evaluations/x", 200, "mounted " + prefix + "evaluations/x"},
				{"POST", prefix + "logout", 200, "mounted " + prefix + "logout"},
				{"GET", "/healthz", 200, `"ok"`},
				{"GET", "/metrics", 200, "runpolicy_"},
				{"GET", "/admin/decisions", 401, "admin token required"},
				{"GET", "/status/bundles", 401, "admin token required"},
				{"POST", "/webhook", 401, ""},
			} {
				req, _ := http.NewRequest(tc.method, hs.URL+tc.path, nil)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.body) {
					t.Errorf("%s %s: %d %.80q, want %d with %q", tc.method, tc.path, resp.StatusCode, b, tc.status, tc.body)
				}
			}
			if prefix != "/" {
				resp, err := client.Get(hs.URL + "/console")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/console/" {
					t.Errorf("/console: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
				}
			}
		})
	}
}
