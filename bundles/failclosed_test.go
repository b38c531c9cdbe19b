package bundles

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
)

// compromisedWorkflow uses an action on the built-in compromised list.
const compromisedWorkflow = "name: CI\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: tj-actions/changed-files@v44\n"

// builtinDenies reports whether the built-in compromised_actions policy
// still denies compromisedWorkflow.
func builtinDenies(t *testing.T, eng *engine.Engine) bool {
	t.Helper()
	f, err := input.Parse(".github/workflows/ci.yml", []byte(compromisedWorkflow))
	if err != nil {
		t.Fatal(err)
	}
	d, err := eng.Eval(context.Background(), input.Build(f, input.LocalContext(".github/workflows/ci.yml")))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range d.Enforced() {
		if v.Policy == "compromised_actions" {
			return true
		}
	}
	return false
}

// TestReservedNamespaceRefusedFromRealSources: a directory or git source
// (over loopback HTTP) whose new revision takes over part of the runpolicy
// namespace is refused with the file named, the last good revision stays
// in force, and the built-in policies keep denying.
func TestReservedNamespaceRefusedFromRealSources(t *testing.T) {
	good := map[string]string{"policies/mine/mine.rego": "package runpolicy.policies.mine\n\ndeny contains \"never\" if false\n"}
	evil := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{"prepared module", map[string]string{"evil/prepared.rego": "package runpolicy.prepared\n\nactive := {}\n"}, "evil/prepared.rego: package runpolicy.prepared is reserved"},
		{"compromised module", map[string]string{"evil/list.rego": "package runpolicy.compromised\n\nactions := {}\n"}, "evil/list.rego: package runpolicy.compromised is reserved"},
		{"prepared data", map[string]string{"runpolicy/prepared/data.json": `{"active": {}}`}, "data.runpolicy.prepared is reserved"},
	}
	for _, kind := range []string{"dir", "git"} {
		for _, e := range evil {
			t.Run(kind+"/"+e.name, func(t *testing.T) {
				eng, err := engine.New(context.Background(), nil)
				if err != nil {
					t.Fatal(err)
				}
				var cfg SourceConfig
				var push func(map[string]string) string
				switch kind {
				case "dir":
					dir := t.TempDir()
					writeFiles(t, dir, good)
					cfg = SourceConfig{Name: "org", Type: TypeDir, URL: dir, Interval: 10 * time.Millisecond}
					push = func(files map[string]string) string { writeFiles(t, dir, files); return "" }
				case "git":
					repo := newGitRepo(t)
					repo.commit("good", good)
					srv := newGitServer(t, repo.dir)
					cfg = SourceConfig{Name: "org", Type: TypeGit, URL: srv.URL + "/repo.git", Ref: "main", Interval: 10 * time.Millisecond}
					push = func(files map[string]string) string { return repo.commit(e.name, files) }
				}
				m, err := NewManager(eng, []SourceConfig{cfg})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				t.Cleanup(cancel)
				if err := m.Start(ctx); err != nil {
					t.Fatalf("Start: %v", err)
				}
				goodRev := status(t, m, "org").Revision
				sha := push(e.files)
				waitFor(t, e.name+" to be refused", func() bool {
					st := status(t, m, "org")
					return st.LastError != "" && (sha == "" || st.FailedRevision == sha)
				})
				st := status(t, m, "org")
				if !strings.Contains(st.LastError, e.wantErr) {
					t.Errorf("last error %q, want it to contain %q", st.LastError, e.wantErr)
				}
				if st.Revision != goodRev {
					t.Errorf("active revision %s, want %s to stay", st.Revision, goodRev)
				}
				if !builtinDenies(t, eng) {
					t.Error("the built-in compromised_actions policy no longer denies")
				}
			})
		}
	}
}

// TestCompromisedListFromRealSource: a source's data cannot shrink a
// built-in compromised-list entry; an exception can, and the built-in
// bundle's status row lists it.
func TestCompromisedListFromRealSource(t *testing.T) {
	shrink := "runpolicy:\n  compromised:\n    actions:\n      tj-actions/changed-files:\n        all_versions: false\n        ranges: []\n        versions: {}\n        commits: {}\n"
	except := "runpolicy:\n  settings:\n    compromised_actions:\n      exceptions:\n        - advisory: GHSA-mrrh-fwg8-r2c3\n          reason: vendored and audited\n"
	for _, tt := range []struct {
		name       string
		data       string
		wantDenied bool
	}{{"shrink", shrink, true}, {"exception", except, false}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"data.yaml": tt.data})
			eng, err := engine.New(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewManager(eng, []SourceConfig{{Name: "org", Type: TypeDir, URL: dir, Interval: time.Hour}})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Start(t.Context()); err != nil {
				t.Fatalf("Start: %v", err)
			}
			if got := builtinDenies(t, eng); got != tt.wantDenied {
				t.Errorf("compromised_actions denies = %v, want %v", got, tt.wantDenied)
			}
			exc := status(t, m, engine.BuiltinName).CompromisedExceptions
			if tt.wantDenied != (len(exc) == 0) {
				t.Errorf("built-in status exceptions = %+v", exc)
			}
		})
	}
}

// TestBundleTestsGetNoNetwork: a bundle's own tests, run at activation on
// the server, cannot call out either.
func TestBundleTestsGetNoNetwork(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"policies/mine/mine.rego":      "package runpolicy.policies.mine\n\ndeny contains \"never\" if false\n",
		"policies/mine/mine_test.rego": "package runpolicy.policies.mine_test\n\ntest_calls_out if count(net.lookup_ip_addr(\"example.com\")) >= 0\n",
	})
	eng, err := engine.New(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(eng, []SourceConfig{{Name: "org", Type: TypeDir, URL: dir, Interval: time.Hour, RunTests: true}})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "net.lookup_ip_addr") {
		t.Fatalf("Start error = %v, want the test's net.lookup_ip_addr refused", err)
	}
	if st := status(t, m, "org"); st.Revision != "" {
		t.Errorf("revision %s activated", st.Revision)
	}
}
