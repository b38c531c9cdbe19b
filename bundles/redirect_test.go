package bundles

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestHTTPSourceRedirects: a bundle service may redirect within its own
// host; another host only when the source lists it, and never a loopback
// or link-local address, checked on the address dialed.
func TestHTTPSourceRedirects(t *testing.T) {
	svc := newBundleService(t)
	svc.publish(t, "r1", "one")
	var otherHits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		http.Redirect(w, r, svc.URL+"/bundles/org.tar.gz", http.StatusFound)
	}))
	t.Cleanup(other.Close)
	otherURL, _ := url.Parse(other.URL)
	viaName := "http://localhost:" + otherURL.Port() + "/b" // resolves to loopback: only a dial-time check sees it
	to := ""
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/real", http.StatusFound)
		case "/real":
			svc.mu.Lock()
			data := svc.data
			svc.mu.Unlock()
			w.Write(data)
		default:
			http.Redirect(w, r, to, http.StatusFound)
		}
	}))
	t.Cleanup(home.Close)
	tests := []struct {
		name    string
		target  string
		allowed []string
		wantErr string
	}{
		{"another host, not listed", other.URL + "/b", nil, "redirect to another host, " + otherURL.Host + ", refused"},
		{"listed host resolving to loopback", viaName, []string{"localhost:" + otherURL.Port()}, "loopback and link-local addresses are refused"},
		{"metadata service, even listed", "http://169.254.169.254/latest/meta-data/", []string{"169.254.169.254"}, "loopback and link-local addresses are never followed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to = tt.target
			before := otherHits.Load()
			_, err := Fetch(context.Background(), SourceConfig{Name: "org", Type: TypeHTTP, URL: home.URL + "/bundle", RedirectHosts: tt.allowed})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Fetch error = %v, want %q", err, tt.wantErr)
			}
			if otherHits.Load() != before {
				t.Error("the refused host was reached")
			}
		})
	}
	t.Run("same host is followed", func(t *testing.T) {
		cfg := SourceConfig{Name: "org", Type: TypeHTTP, URL: home.URL + "/same"}
		if _, err := Fetch(context.Background(), cfg); err != nil {
			t.Fatalf("Fetch: %v", err)
		}
	})
}

// TestHTTPSourceRedactsQueryCredentials: credentials in a bundle URL's
// query string stay out of errors, status and the source's name.
func TestHTTPSourceRedactsQueryCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	const secrets = "?token=tok123&X-Amz-Signature=sig456&X-Amz-Credential=cred789&sig=azure000&ref=main"
	leaked := func(s string) bool {
		for _, v := range []string{"tok123", "sig456", "cred789", "azure000"} {
			if strings.Contains(s, v) {
				return true
			}
		}
		return false
	}
	closed := httptest.NewServer(nil)
	closed.Close() // connection refused: net/http's error quotes the URL
	for _, u := range []string{srv.URL + "/b" + secrets, closed.URL + "/b" + secrets} {
		_, err := Fetch(context.Background(), SourceConfig{Name: "org", Type: TypeHTTP, URL: u})
		if err == nil || leaked(err.Error()) {
			t.Errorf("Fetch error leaks a credential or is nil: %v", err)
		}
		cfg, err := ParseSpec(u)
		if err != nil {
			t.Fatal(err)
		}
		if leaked(cfg.Name) {
			t.Errorf("source name leaks a credential: %s", cfg.Name)
		}
	}
	m, _, _, _ := startManager(t, []SourceConfig{{Name: "org", Type: TypeHTTP, URL: srv.URL + "/b" + secrets, Interval: time.Hour}})
	st := status(t, m, "org")
	if leaked(st.URL) || leaked(st.LastError) || !strings.Contains(st.URL, "ref=main") {
		t.Errorf("status leaks a credential or lost the rest of the query: url %s, error %s", st.URL, st.LastError)
	}
}
