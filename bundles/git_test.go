package bundles

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestGitSourceLifecycle follows a policy repository through a good
// commit, a broken one of each kind, and the fix, served over file://, as
// a local path and over smart HTTP: every good commit becomes active, every
// broken one leaves the previous revision enforcing and is reported.
func TestGitSourceLifecycle(t *testing.T) {
	for _, transport := range []string{"file", "path", "http"} {
		t.Run(transport, func(t *testing.T) {
			repo := newGitRepo(t)
			first := repo.commit("first policy", markerFiles("one"))

			url := "file://" + repo.dir
			var srv *gitServer
			switch transport {
			case "path":
				url = repo.dir
			case "http":
				srv = newGitServer(t, repo.dir)
				url = srv.URL + "/repo.git"
			}
			m, eng, reg, err := startManager(t, []SourceConfig{{
				Name: "org", Type: TypeGit, URL: url, Ref: "main", Interval: 10 * time.Millisecond,
			}})
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if !m.Ready() {
				t.Fatal("not ready after a good first load")
			}
			if marker, rev := markerOf(t, eng); marker != "one" || rev != first {
				t.Fatalf("decision made with marker %q at %s, want one at %s", marker, rev, first)
			}

			// A new commit becomes active within the poll interval.
			second := repo.commit("second policy", markerFiles("two"))
			waitFor(t, "the second commit to activate", func() bool { return status(t, m, "org").Revision == second })
			if marker, rev := markerOf(t, eng); marker != "two" || rev != second {
				t.Fatalf("decision made with marker %q at %s, want two at %s", marker, rev, second)
			}

			broken := []struct {
				name    string
				files   map[string]string
				wantErr string
			}{
				{"rego syntax error", map[string]string{"policies/marker/marker.rego": "package runpolicy.policies.marker\n\ndeny contains {\"message\": \n"}, "marker.rego"},
				{"invalid settings", map[string]string{
					"policies/marker/marker.rego": "package runpolicy.policies.marker\n\ndeny contains {\"message\": \"bad\"}\n",
					"data.yaml":                   "runpolicy:\n  settings:\n    marker:\n      mode: enforced\n",
				}, "mode: must be enforce, dry_run or off, got enforced"},
				{"compile error", map[string]string{"policies/marker/marker.rego": "package runpolicy.policies.marker\n\ndeny contains {\"message\": undefined_function(1)}\n"}, "undefined_function"},
			}
			for _, b := range broken {
				sha := repo.commit(b.name, b.files)
				waitFor(t, b.name+" to be reported", func() bool { return status(t, m, "org").FailedRevision == sha })
				st := status(t, m, "org")
				if !strings.Contains(st.LastError, b.wantErr) {
					t.Errorf("%s: last error %q, want it to mention %q", b.name, st.LastError, b.wantErr)
				}
				if st.Revision != second {
					t.Errorf("%s: active revision %s, want %s to stay", b.name, st.Revision, second)
				}
				if marker, rev := markerOf(t, eng); marker != "two" || rev != second {
					t.Errorf("%s: decision made with marker %q at %s, want two at %s", b.name, marker, rev, second)
				}
				if !m.Ready() {
					t.Errorf("%s: a refused revision made the manager unready", b.name)
				}
			}
			if got := metricValue(t, m.metrics.failing.WithLabelValues("org")); got != 1 {
				t.Errorf("runpolicy_bundle_failing{source=org} = %v, want 1", got)
			}

			// The broken revision is compiled once, not on every poll.
			loads := metricValue(t, m.metrics.loads)
			checked := status(t, m, "org").LastCheck
			waitFor(t, "two more checks", func() bool { return status(t, m, "org").LastCheck.After(checked.Add(15 * time.Millisecond)) })
			if got := metricValue(t, m.metrics.loads); got != loads {
				t.Errorf("polls of an unchanged broken revision compiled it again: loads %v → %v", loads, got)
			}
			if st := status(t, m, "org"); st.LastError == "" {
				t.Error("the error of the still-current broken revision was cleared")
			}

			// The fix activates and clears the error.
			fix := repo.commit("fix", markerFiles("three"))
			waitFor(t, "the fix to activate", func() bool { return status(t, m, "org").Revision == fix })
			if st := status(t, m, "org"); st.LastError != "" || st.FailedRevision != "" {
				t.Errorf("after the fix: last error %q on %s, want none", st.LastError, st.FailedRevision)
			}
			if marker, _ := markerOf(t, eng); marker != "three" {
				t.Errorf("after the fix the marker is %q, want three", marker)
			}
			if got := metricValue(t, m.metrics.revision.WithLabelValues("org", fix)); got != 1 {
				t.Errorf("runpolicy_bundle_revision_info{source=org,revision=fix} = %v, want 1", got)
			}
			if n := seriesCount(t, reg, "runpolicy_bundle_revision_info"); n != 2 {
				t.Errorf("revision_info series = %d, want 2 (base and org, old revisions dropped)", n)
			}

			if srv != nil {
				// Unchanged polls list refs and fetch nothing.
				fetches, lists := srv.Fetches.Load(), srv.Lists.Load()
				waitFor(t, "more ref listings", func() bool { return srv.Lists.Load() >= lists+3 })
				if got := srv.Fetches.Load(); got != fetches {
					t.Errorf("polls of an unchanged ref fetched %d times", got-fetches)
				}
			}
		})
	}
}

// TestGitRefs checks branches, tags (light and annotated), commit SHAs,
// the default branch and a subdirectory, read once with Fetch.
func TestGitRefs(t *testing.T) {
	repo := newGitRepo(t)
	files := markerFiles("v1")
	nested := map[string]string{}
	for k, v := range files {
		nested["policies-repo/"+k] = v
	}
	nested["README.md"] = "not a bundle file"
	nested["policies-repo/main.rego"] = "package runpolicy.policies.other\n\ndeny contains \"x\" if false\n"
	v1 := repo.commit("v1", nested)
	repo.tag("v1", "")
	repo.tag("v1-annotated", "release v1")
	v2 := repo.commit("v2", map[string]string{"policies-repo/policies/marker/marker.rego": "package runpolicy.policies.marker\n\ndeny contains {\"message\": \"v2\"}\n"})

	srv := newGitServer(t, repo.dir)
	for _, base := range []string{"file://" + repo.dir, srv.URL + "/repo.git"} {
		for _, tc := range []struct{ ref, want string }{
			{"", v2},
			{"main", v2},
			{"refs/heads/main", v2},
			{"v1", v1},
			{"v1-annotated", v1},
			{v1, v1},
		} {
			cfg := SourceConfig{Name: "org", Type: TypeGit, URL: base, Ref: tc.ref, Subdir: "policies-repo"}
			b, err := Fetch(context.Background(), cfg)
			if err != nil {
				t.Errorf("%s ref %q: %v", base, tc.ref, err)
				continue
			}
			if got := b.Bundle.Manifest.Revision; got != tc.want {
				t.Errorf("%s ref %q: revision %s, want %s", base, tc.ref, got, tc.want)
			}
			if len(b.Bundle.Modules) != 2 {
				t.Errorf("%s ref %q: %d modules, want the 2 under the subdir", base, tc.ref, len(b.Bundle.Modules))
			}
		}
		if _, err := Fetch(context.Background(), SourceConfig{Name: "org", Type: TypeGit, URL: base, Ref: "nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
			t.Errorf("%s: unknown ref: error %v, want one naming the ref", base, err)
		}
		if _, err := Fetch(context.Background(), SourceConfig{Name: "org", Type: TypeGit, URL: base, Subdir: "missing"}); err == nil || !strings.Contains(err.Error(), "missing") {
			t.Errorf("%s: missing subdir: error %v, want one naming it", base, err)
		}
	}
}

// TestGitToken checks that https remotes get the token from the token
// source, for the configured repository, and that a wrong one is refused.
func TestGitToken(t *testing.T) {
	repo := newGitRepo(t)
	sha := repo.commit("v1", markerFiles("one"))
	srv := newGitServer(t, repo.dir)
	srv.token = "ghs_installation"

	var asked []string
	tokens := func(_ context.Context, r string) (string, error) {
		asked = append(asked, r)
		return "ghs_installation", nil
	}
	m, _, _, err := startManager(t, []SourceConfig{{
		Name: "org", Type: TypeGit, URL: srv.URL + "/acme/policies.git", TokenFromApp: true, Interval: time.Hour,
	}}, WithTokenSource(tokens))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if got := status(t, m, "org").Revision; got != sha {
		t.Fatalf("revision %q, want %s", got, sha)
	}
	if len(asked) == 0 || asked[0] != "acme/policies" {
		t.Errorf("token source asked for %v, want acme/policies", asked)
	}

	_, err = Fetch(context.Background(), SourceConfig{Name: "org", Type: TypeGit, URL: srv.URL + "/repo.git", Token: "wrong"})
	if err == nil {
		t.Error("a wrong token was accepted")
	}
}

// TestRefresh checks that a push webhook for the policy repository makes
// the source check at once, and one for another repository does not.
func TestRefresh(t *testing.T) {
	repo := newGitRepo(t)
	repo.commit("v1", markerFiles("one"))
	m, _, _, err := startManager(t, []SourceConfig{{
		Name: "org", Type: TypeGit, URL: repo.dir, Interval: time.Hour, Repository: "acme/policies",
	}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	checked := status(t, m, "org").LastCheck
	second := repo.commit("v2", markerFiles("two"))

	m.Refresh(context.Background(), "acme/other")
	m.Refresh(context.Background(), "ACME/Policies") // GitHub names are case-insensitive
	waitFor(t, "the refresh to activate the push", func() bool { return status(t, m, "org").Revision == second })
	if !status(t, m, "org").LastCheck.After(checked) {
		t.Error("last check did not move")
	}
}
