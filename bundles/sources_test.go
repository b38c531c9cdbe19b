package bundles

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/runpolicy/runpolicy/engine"
)

// opaBundle builds a bundle as `opa build` would, from module sources by
// path, with revision and roots in its manifest.
func opaBundle(t *testing.T, revision string, modules map[string]string) bundle.Bundle {
	t.Helper()
	b := bundle.Bundle{Data: map[string]any{}, Manifest: bundle.Manifest{Revision: revision}}
	for path, src := range modules {
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: path, Path: path, Raw: []byte(src)})
	}
	return b
}

func writeTarball(t *testing.T, b bundle.Bundle) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).DisableFormat(true).Write(b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rsaKeys writes a fresh RSA key pair as PEM files: private, public.
func rsaKeys(t *testing.T) (string, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv := filepath.Join(dir, "private.pem")
	pub := filepath.Join(dir, "public.pem")
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

const markerModule = "package runpolicy.policies.marker\n\ndeny contains {\"message\": \"signed\"}\n"

// TestSignedBundle signs a bundle with OPA's signing and checks that only
// the untouched bundle, signed with the configured key, is accepted.
func TestSignedBundle(t *testing.T) {
	priv, pub := rsaKeys(t)
	_, otherPub := rsaKeys(t)
	sign := func(b *bundle.Bundle) {
		if err := b.GenerateSignature(bundle.NewSigningConfig(priv, "RS256", ""), "ci-key", false); err != nil {
			t.Fatal(err)
		}
	}
	good := opaBundle(t, "r1", map[string]string{"/policies/marker.rego": markerModule})
	sign(&good)
	tampered := opaBundle(t, "r1", map[string]string{"/policies/marker.rego": markerModule})
	sign(&tampered)
	tampered.Modules[0].Raw = []byte("package runpolicy.policies.marker\n\ndeny contains {\"message\": \"signed\"} if false\n")
	unsigned := opaBundle(t, "r1", map[string]string{"/policies/marker.rego": markerModule})

	dir := t.TempDir()
	file := func(name string, b bundle.Bundle) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, writeTarball(t, b), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	goodFile, tamperedFile, unsignedFile := file("good.tar.gz", good), file("tampered.tar.gz", tampered), file("unsigned.tar.gz", unsigned)

	tests := []struct {
		name, file, key, wantErr string
	}{
		{"signed, verified", goodFile, pub, ""},
		{"tampered file", tamperedFile, pub, "marker.rego"},
		{"missing signature", unsignedFile, pub, "signature"},
		{"signed with another key", goodFile, otherPub, "verify"},
		{"no key configured", unsignedFile, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Fetch(context.Background(), SourceConfig{Name: "org", Type: TypeTarball, URL: tc.file, PublicKeyFile: tc.key})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if b.Bundle.Manifest.Revision != "r1" {
					t.Errorf("revision %q, want the manifest's r1", b.Bundle.Manifest.Revision)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

// signDir signs every file under dir as `opa sign --bundle dir` does:
// structured documents by their JSON value, the rest byte for byte.
func signDir(t *testing.T, dir, privateKey string) {
	t.Helper()
	hasher, err := bundle.NewSignatureHasher(bundle.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var files []bundle.FileInfo
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var v any = raw
		if bundle.IsStructuredDoc(p) {
			if err := util.Unmarshal(raw, &v); err != nil {
				return err
			}
		}
		sum, err := hasher.HashFile(v)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, bundle.NewFile(filepath.ToSlash(rel), hex.EncodeToString(sum), string(bundle.SHA256)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	token, err := bundle.GenerateSignedToken(files, bundle.NewSigningConfig(privateKey, "RS256", ""), "ci-key")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{".signatures.json": fmt.Sprintf(`{"signatures": [%q]}`, token)})
}

// TestSignedDirectory checks verification of a bundle directory signed
// with `opa sign`, the layout a signed git repository has: every file is
// signed, READMEs and CI files included.
func TestSignedDirectory(t *testing.T) {
	priv, pub := rsaKeys(t)
	files := map[string]string{
		"policies/marker.rego":       markerModule,
		"data.yaml":                  "runpolicy:\n  settings:\n    marker: {mode: dry_run}\n",
		".manifest":                  `{"roots": ["runpolicy/policies/marker", "runpolicy/settings"]}`,
		"README.md":                  "# Policies\n",
		".github/workflows/test.yml": "on: push\n",
	}
	tests := []struct {
		name    string
		change  map[string]string
		key     string
		wantErr string
	}{
		{"as signed", nil, pub, ""},
		{"no key configured", map[string]string{"policies/marker.rego": markerModule + "# unverified\n"}, "", ""},
		{"policy changed after signing", map[string]string{"policies/marker.rego": markerModule + "# changed\n"}, pub, "policies/marker.rego: digest mismatch"},
		{"settings changed after signing", map[string]string{"data.yaml": "runpolicy:\n  settings:\n    marker: {mode: off}\n"}, pub, "data.yaml: digest mismatch"},
		{"file added after signing", map[string]string{"policies/extra.rego": "package runpolicy.policies.marker.extra\n"}, pub, "not included in bundle signature"},
	}
	for _, tc := range tests {
		for _, typ := range []string{TypeDir, TypeGit} {
			t.Run(typ+"/"+tc.name, func(t *testing.T) {
				var dir string
				var repo *gitRepo
				if typ == TypeGit {
					repo = newGitRepo(t)
					dir = repo.dir
				} else {
					dir = t.TempDir()
				}
				writeFiles(t, dir, files)
				signDir(t, dir, priv)
				writeFiles(t, dir, tc.change)
				if repo != nil {
					repo.commit("signed", nil)
				}
				b, err := Fetch(context.Background(), SourceConfig{Name: "org", Type: typ, URL: dir, PublicKeyFile: tc.key})
				if tc.wantErr == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					if len(b.Bundle.Modules) != 1 {
						t.Errorf("%d modules, want 1", len(b.Bundle.Modules))
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
			})
		}
	}
}

// bundleService is an OPA bundle service: it serves one .tar.gz with an
// ETag and answers If-None-Match with 304, as OPA's bundle plugin expects.
type bundleService struct {
	*httptest.Server
	mu                    sync.Mutex
	data                  []byte
	etag                  string
	requests, notModified atomic.Int64
}

func newBundleService(t *testing.T) *bundleService {
	s := &bundleService{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/bundles/org.tar.gz" {
			http.NotFound(w, r)
			return
		}
		s.requests.Add(1)
		s.mu.Lock()
		data, etag := s.data, s.etag
		s.mu.Unlock()
		if r.Header.Get("If-None-Match") == etag {
			s.notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/gzip")
		_, _ = w.Write(data)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *bundleService) publish(t *testing.T, revision, marker string) {
	t.Helper()
	b := opaBundle(t, revision, map[string]string{"/marker.rego": fmt.Sprintf("package runpolicy.policies.marker\n\ndeny contains {\"message\": %q}\n", marker)})
	data := writeTarball(t, b)
	s.mu.Lock()
	s.data, s.etag = data, `"`+revision+`"`
	s.mu.Unlock()
}

// TestBundleService checks the ETag protocol: an unchanged bundle is
// answered 304 and costs no compile; a new one is activated.
func TestBundleService(t *testing.T) {
	svc := newBundleService(t)
	svc.publish(t, "r1", "one")
	m, eng, _, err := startManager(t, []SourceConfig{{
		Name: "org", Type: TypeHTTP, URL: svc.URL + "/bundles/org.tar.gz", Interval: 10 * time.Millisecond,
	}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if marker, rev := markerOf(t, eng); marker != "one" || rev != "r1" {
		t.Fatalf("decision made with %q at %q, want one at r1", marker, rev)
	}
	loads := metricValue(t, m.metrics.loads)
	waitFor(t, "three 304 answers", func() bool { return svc.notModified.Load() >= 3 })
	if got := metricValue(t, m.metrics.loads); got != loads {
		t.Errorf("304 answers triggered %v compiles", got-loads)
	}

	svc.publish(t, "r2", "two")
	waitFor(t, "r2 to activate", func() bool { return status(t, m, "org").Revision == "r2" })
	if marker, _ := markerOf(t, eng); marker != "two" {
		t.Errorf("marker %q after r2, want two", marker)
	}
	if got := metricValue(t, m.metrics.loads); got != loads+1 {
		t.Errorf("one new bundle cost %v compiles, want 1", got-loads)
	}

	// A bundle that is not a bundle is refused; r2 stays.
	svc.mu.Lock()
	svc.data, svc.etag = []byte("<html>maintenance</html>"), `"broken"`
	svc.mu.Unlock()
	waitFor(t, "the broken download to be reported", func() bool { return status(t, m, "org").LastError != "" })
	if st := status(t, m, "org"); st.Revision != "r2" || !strings.Contains(st.LastError, "gzip") {
		t.Errorf("after a broken download: revision %q, error %q; want r2 kept and a gzip error", st.Revision, st.LastError)
	}
}

// TestBundleServiceLimits checks that an oversized or failing download is
// refused without being read.
func TestBundleServiceLimits(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/huge":
			w.Header().Set("Content-Length", fmt.Sprint(MaxBundleBytes+1))
			w.WriteHeader(http.StatusOK)
		case "/auth":
			if r.Header.Get("Authorization") != "Bearer s3cret" {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			http.Error(w, "gone", http.StatusGone)
		default:
			http.Error(w, "boom", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct{ path, token, want string }{
		{"/huge", "", "exceeds"},
		{"/fail", "", "500"},
		{"/auth", "s3cret", "410"}, // the token got through
	} {
		_, err := Fetch(context.Background(), SourceConfig{Name: "org", Type: TypeHTTP, URL: srv.URL + tc.path, Token: tc.token})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.path, err, tc.want)
		}
	}
}

// TestOpenDirAndTarball reads the example policy repository as a directory
// and as the tarball `opa build` would make of it.
func TestOpenDirAndTarball(t *testing.T) {
	b, err := Open(context.Background(), "../examples/policy-repo")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, m := range b.Bundle.Modules {
		paths = append(paths, m.Path)
	}
	if len(paths) != 1 || !strings.HasSuffix(paths[0], "fork_runners.rego") {
		t.Errorf("modules %v, want only fork_runners.rego (tests are kept apart)", paths)
	}
	if b.Bundle.Manifest.Roots == nil || len(*b.Bundle.Manifest.Roots) != 3 {
		t.Errorf("roots %v, want the manifest's three", b.Bundle.Manifest.Roots)
	}
	if !strings.HasPrefix(b.Bundle.Manifest.Revision, "sha256:") {
		t.Errorf("revision %q, want a content digest", b.Bundle.Manifest.Revision)
	}
	if _, ok := b.Bundle.Data["runpolicy"]; !ok {
		t.Errorf("data.yaml not loaded: %v", b.Bundle.Data)
	}

	file := filepath.Join(t.TempDir(), "org.tar.gz")
	if err := os.WriteFile(file, writeTarball(t, *b.Bundle), 0o644); err != nil {
		t.Fatal(err)
	}
	tb, err := Open(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Bundle.Modules) != 1 || tb.Bundle.Manifest.Revision != b.Bundle.Manifest.Revision {
		t.Errorf("tarball: %d modules, revision %q; want 1 and %q", len(tb.Bundle.Modules), tb.Bundle.Manifest.Revision, b.Bundle.Manifest.Revision)
	}

	if _, err := Open(context.Background(), "does/not/exist"); err == nil || !strings.Contains(err.Error(), "does/not/exist") {
		t.Errorf("missing path: error %v, want one naming it", err)
	}
	garbage := filepath.Join(t.TempDir(), "bad.tar.gz")
	if err := os.WriteFile(garbage, []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), garbage); err == nil || !strings.Contains(err.Error(), "bad.tar.gz") {
		t.Errorf("garbage tarball: error %v, want one naming the file", err)
	}
}

// TestOpenGitSpec reads a conftest-style git:: spec.
func TestOpenGitSpec(t *testing.T) {
	repo := newGitRepo(t)
	files := map[string]string{}
	for k, v := range markerFiles("git") {
		files["policies/"+k] = v
	}
	sha := repo.commit("v1", files)
	repo.tag("v1", "")
	repo.commit("v2", map[string]string{"policies/policies/marker/marker.rego": "package runpolicy.policies.marker\n"})
	b, err := Open(context.Background(), "git::file://"+repo.dir+"//policies?ref=v1")
	if err != nil {
		t.Fatal(err)
	}
	if b.Bundle.Manifest.Revision != sha || len(b.Bundle.Modules) != 1 {
		t.Errorf("revision %s with %d modules, want %s with 1", b.Bundle.Manifest.Revision, len(b.Bundle.Modules), sha)
	}
}

// TestOpenEmptyDir names a folder with no policy in it as such, not as a
// missing file.
func TestOpenEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# no policy here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), dir+" holds no policy") || strings.Contains(err.Error(), "does not exist") {
		t.Errorf("empty folder: error %v, want one saying %s holds no policy", err, dir)
	}
}

// TestBundleDataUnderstoodWhole: a bundle's data file with a key no policy
// reads is refused naming the file and line, from a folder and from a
// tarball; data its own modules read loads.
func TestBundleDataUnderstoodWhole(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // "" loads
	}{
		{"settings at the top", map[string]string{"data.yaml": "# org settings\nsettings:\n  allowed_actions: {mode: enforce}\n"},
			"data.yaml:2: data.settings: unknown top-level key"},
		{"misspelt runpolicy key", map[string]string{"runpolicy/data.yaml": "setting:\n  allowed_actions: {mode: enforce}\n"},
			"runpolicy/data.yaml:1: data.runpolicy.setting is reserved"},
		{"unknown setting", map[string]string{"runpolicy/settings/data.json": "{\n  \"allowed_actions\": {\n    \"alow\": []\n  }\n}\n"},
			"runpolicy/settings/data.json:3: settings.allowed_actions.alow: unknown setting"},
		{"data its module reads", map[string]string{
			"acme/data.yaml":   "trusted: [octo-org]\n",
			"policy/mine.rego": "package runpolicy.policies.mine\n\ndeny contains \"x\" if \"evil\" in data.acme.trusted\n",
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			b, err := Open(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "org.tar.gz")
			if err := os.WriteFile(file, writeTarball(t, *b.Bundle), 0o644); err != nil {
				t.Fatal(err)
			}
			tb, err := Open(ctx, file)
			if err != nil {
				t.Fatal(err)
			}
			// OPA's writer puts a tarball's data in one data.json line.
			_, msg, _ := strings.Cut(tc.want, ": ")
			for b, want := range map[*engine.Bundle]string{&b: tc.want, &tb: "data.json:1: " + msg} {
				_, err := engine.New(ctx, []engine.Bundle{*b})
				switch {
				case tc.want == "" && err != nil:
					t.Errorf("%s: %v", b.Name, err)
				case tc.want != "" && (err == nil || !strings.Contains(err.Error(), "bundle "+b.Name+": "+want)):
					t.Errorf("%s: error %v, want one containing %q", b.Name, err, want)
				}
			}
		})
	}
}
