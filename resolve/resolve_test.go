package resolve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/engine/input"
)

const headSHA = "1111111111111111111111111111111111111111"

// workflowDoc parses a workflow of acme/api and builds its document for a
// push at headSHA.
func workflowDoc(t testing.TB, path string, src []byte) *input.Document {
	t.Helper()
	f, err := input.Parse(path, src)
	if err != nil {
		t.Fatal(err)
	}
	c := input.LocalContext(path)
	c.Repository = input.Repository{FullName: "acme/api", Owner: "acme", Name: "api", DefaultBranch: "main"}
	c.Run.HeadSHA = headSHA
	return input.Build(f, c)
}

// steps is a one-job workflow whose steps use refs.
func steps(refs ...string) []byte {
	var b strings.Builder
	b.WriteString("on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n")
	for _, r := range refs {
		fmt.Fprintf(&b, "      - uses: %s\n", r)
	}
	return []byte(b.String())
}

// row is the part of a Use the tests compare.
type row struct {
	Raw, Kind, Job string
	Step, Line     int // Step -1: nil
	Via            string
	ResolvedSHA    string
	Unresolved     string // a substring
	Commit         string // the impostor check: "", "reachable", "impostor" or "unverified"
}

func rows(uses []input.Use) []row {
	out := make([]row, len(uses))
	for i, u := range uses {
		r := row{Raw: u.Raw, Kind: u.Kind, Job: u.Job, Step: -1, Line: u.Line, Via: strings.Join(u.Via, " > "), Unresolved: u.Unresolved}
		if u.Step != nil {
			r.Step = *u.Step
		}
		if u.ResolvedSHA != nil {
			r.ResolvedSHA = *u.ResolvedSHA
		}
		switch {
		case u.Impostor != nil && *u.Impostor:
			r.Commit = "impostor"
		case u.Impostor != nil:
			r.Commit = "reachable"
		case u.ImpostorUnverified != "":
			r.Commit = "unverified"
		}
		out[i] = r
	}
	return out
}

// checkRows compares uses with want; want's Unresolved is a substring.
func checkRows(t *testing.T, uses []input.Use, want []row) {
	t.Helper()
	got := rows(uses)
	if len(got) != len(want) {
		t.Errorf("got %d uses, want %d:\n%s", len(got), len(want), dump(got))
		return
	}
	for i := range want {
		g, w := got[i], want[i]
		if !strings.Contains(g.Unresolved, w.Unresolved) || (w.Unresolved == "" && g.Unresolved != "") {
			t.Errorf("uses[%d] %s: unresolved %q, want %q", i, g.Raw, g.Unresolved, w.Unresolved)
		}
		g.Unresolved, w.Unresolved = "", ""
		if g != w {
			t.Errorf("uses[%d]:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func dump(rs []row) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "  %+v\n", r)
	}
	return b.String()
}

func resolve(t *testing.T, r *Resolver, doc *input.Document) *input.Document {
	t.Helper()
	out, err := r.Resolve(context.Background(), doc)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return out
}

func checkResolution(t *testing.T, got *input.Resolution, complete bool, limits ...string) {
	t.Helper()
	if limits == nil {
		limits = []string{}
	}
	if got == nil {
		t.Fatal("Resolution is nil")
	}
	if got.Complete != complete || !reflect.DeepEqual(got.Limits, limits) {
		t.Errorf("resolution = complete %v limits %v, want complete %v limits %v", got.Complete, got.Limits, complete, limits)
	}
}

// The corpus case: eslint-changed-files is a composite action that calls
// reviewdog/action-setup@v1 (compromised in March 2025) and
// tj-actions/changed-files (compromised a few days later), which is itself
// composite. Pinning the outer action pins none of them.
func TestCompositeActionReachesCompromisedActions(t *testing.T) {
	gh := newFake()
	eslint := gh.action("tj-actions/eslint-changed-files@v1", corpus(t, "actions/tj-actions__eslint-changed-files__action.yml"))
	changed := gh.action("tj-actions/changed-files@v23", corpus(t, "actions/tj-actions__changed-files__v35__action.yml"))
	gh.node("reviewdog/action-setup@v1", "tj-actions/glob@v17.2.5", "tj-actions/json2file@v1.4.2")

	doc := workflowDoc(t, ".github/workflows/lint.yml", steps("actions/checkout@"+fakeSHA("checkout"), "tj-actions/eslint-changed-files@v1"))
	gh.node("actions/checkout@" + fakeSHA("checkout"))
	gh.tag("actions/checkout", "v4.2.2", fakeSHA("checkout"))
	out := resolve(t, New(gh), doc)

	outer := "tj-actions/eslint-changed-files@v1"
	inner := outer + " > tj-actions/changed-files@v23"
	checkRows(t, out.Uses, []row{
		{Raw: "actions/checkout@" + fakeSHA("checkout"), Kind: "action", Job: "build", Step: 0, Line: 6, Commit: "reachable"},
		{Raw: outer, Kind: "action", Job: "build", Step: 1, Line: 7, ResolvedSHA: eslint},
		{Raw: "reviewdog/action-setup@v1", Kind: "action", Job: "build", Step: 1, Line: 7, Via: outer, ResolvedSHA: fakeSHA("reviewdog/action-setup@v1")},
		{Raw: "tj-actions/changed-files@v23", Kind: "action", Job: "build", Step: 1, Line: 7, Via: outer, ResolvedSHA: changed},
		{Raw: "tj-actions/glob@v17.2.5", Kind: "action", Job: "build", Step: 1, Line: 7, Via: inner, ResolvedSHA: fakeSHA("tj-actions/glob@v17.2.5")},
		{Raw: "tj-actions/json2file@v1.4.2", Kind: "action", Job: "build", Step: 1, Line: 7, Via: inner, ResolvedSHA: fakeSHA("tj-actions/json2file@v1.4.2")},
	})
	checkResolution(t, out.Resolution, true)
	// 5 tag lookups (the pinned checkout needs none), 6 metadata files and
	// one page of checkout's tags, where its commit is found.
	if out.Resolution.Fetches != 12 || gh.calls() != 12 {
		t.Errorf("fetches = %d (fake saw %d), want 12", out.Resolution.Fetches, gh.calls())
	}
}

func TestCorpusActions(t *testing.T) {
	tests := []struct {
		name    string
		publish func(gh *fakeGitHub)
		uses    string
		want    []row
	}{
		{
			name: "composite govulncheck",
			publish: func(gh *fakeGitHub) {
				gh.action("golang/govulncheck-action@v1", corpus(t, "actions/golang__govulncheck-action__action.yml"))
				gh.node("actions/checkout@v4", "actions/setup-go@v5.0.0")
			},
			uses: "golang/govulncheck-action@v1",
			want: []row{
				{Raw: "golang/govulncheck-action@v1", Kind: "action", Job: "build", Step: 0, Line: 6, ResolvedSHA: fakeSHA("golang/govulncheck-action@v1")},
				{Raw: "actions/checkout@v4", Kind: "action", Job: "build", Step: 0, Line: 6, Via: "golang/govulncheck-action@v1", ResolvedSHA: fakeSHA("actions/checkout@v4")},
				{Raw: "actions/setup-go@v5.0.0", Kind: "action", Job: "build", Step: 0, Line: 6, Via: "golang/govulncheck-action@v1", ResolvedSHA: fakeSHA("actions/setup-go@v5.0.0")},
			},
		},
		{
			name: "docker action with action.yaml",
			publish: func(gh *fakeGitHub) {
				gh.publish("ossf/scorecard-action@v2.4.1", "action.yaml", corpus(t, "actions/ossf__scorecard-action__action.yaml"))
			},
			uses: "ossf/scorecard-action@v2.4.1",
			want: []row{
				{Raw: "ossf/scorecard-action@v2.4.1", Kind: "action", Job: "build", Step: 0, Line: 6, ResolvedSHA: fakeSHA("ossf/scorecard-action@v2.4.1")},
				{Raw: "docker://ghcr.io/ossf/scorecard-action:v2.4.1", Kind: "docker", Job: "build", Step: 0, Line: 6, Via: "ossf/scorecard-action@v2.4.1"},
			},
		},
		{
			name: "local composite action read at the head commit",
			publish: func(gh *fakeGitHub) {
				gh.file("acme/api", ".github/actions/checkout-pytorch/action.yml", headSHA, corpus(t, "actions/pytorch__pytorch__checkout-pytorch__action.yml"))
				gh.node("pytorch/test-infra/.github/actions/checkout@main")
			},
			uses: "./.github/actions/checkout-pytorch",
			want: []row{
				{Raw: "./.github/actions/checkout-pytorch", Kind: "local", Job: "build", Step: 0, Line: 6},
				{Raw: "pytorch/test-infra/.github/actions/checkout@main", Kind: "action", Job: "build", Step: 0, Line: 6, Via: "./.github/actions/checkout-pytorch", ResolvedSHA: fakeSHA("pytorch/test-infra@main")},
				{Raw: "pytorch/test-infra/.github/actions/checkout@main", Kind: "action", Job: "build", Step: 0, Line: 6, Via: "./.github/actions/checkout-pytorch", ResolvedSHA: fakeSHA("pytorch/test-infra@main")},
			},
		},
		{
			name: "composite without uses",
			publish: func(gh *fakeGitHub) {
				gh.action("hashicorp/terraform/.github/actions/go-version@v1", corpus(t, "actions/hashicorp__terraform__go-version__action.yml"))
			},
			uses: "hashicorp/terraform/.github/actions/go-version@v1",
			want: []row{
				{Raw: "hashicorp/terraform/.github/actions/go-version@v1", Kind: "action", Job: "build", Step: 0, Line: 6, ResolvedSHA: fakeSHA("hashicorp/terraform@v1")},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh := newFake()
			tt.publish(gh)
			out := resolve(t, New(gh), workflowDoc(t, ".github/workflows/ci.yml", steps(tt.uses)))
			checkRows(t, out.Uses, tt.want)
			checkResolution(t, out.Resolution, true)
		})
	}
}

// A reusable workflow's own references join the caller's uses, attributed
// to the calling job; the secrets it reads do not become new secret names.
func TestReusableWorkflow(t *testing.T) {
	gh := newFake()
	const call = "google/osv-scanner-action/.github/workflows/osv-scanner-reusable.yml@v1.6.2-beta1"
	gh.publish("google/osv-scanner-action@v1.6.2-beta1", ".github/workflows/osv-scanner-reusable.yml",
		corpus(t, "workflows/google__osv-scanner-action__osv-scanner-reusable.yml"))
	// The scanner action at the same tag: a docker action.
	gh.file("google/osv-scanner-action", "osv-scanner-action/action.yml", fakeSHA("google/osv-scanner-action@v1.6.2-beta1"),
		[]byte("runs:\n  using: docker\n  image: docker://ghcr.io/google/osv-scanner-action:v1.6.2-beta1\n"))
	gh.node("actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11", "actions/download-artifact@v4", "actions/upload-artifact@v4",
		"github/codeql-action/upload-sarif@407ffafae6a767df3e0230c3df91b6443ae8df75", "google/osv-scanner-action/osv-reporter-action@v1.6.2-beta1")
	// The pinned commits are genuine: checkout's is in main's history (the
	// slow path), codeql-action's is a tag's (the fast path).
	gh.commit(fakeSHA("checkout main"), "b4ffde65f46336ab88eb53be808477a3936bae11")
	gh.branch("actions/checkout", "main", fakeSHA("checkout main"))
	gh.tag("github/codeql-action", "v3.24.0", "407ffafae6a767df3e0230c3df91b6443ae8df75")

	src := []byte(`on: push
jobs:
  scan:
    uses: ` + call + `
    secrets: inherit
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: echo ${{ secrets.DEPLOY_TOKEN }}
`)
	doc := workflowDoc(t, ".github/workflows/scan.yml", src)
	out := resolve(t, New(gh), doc)

	via := call
	checkRows(t, out.Uses, []row{
		{Raw: call, Kind: "reusable_workflow", Job: "scan", Step: -1, Line: 4, ResolvedSHA: fakeSHA("google/osv-scanner-action@v1.6.2-beta1")},
		{Raw: "actions/checkout@b4ffde65f46336ab88eb53be808477a3936bae11", Kind: "action", Job: "scan", Step: -1, Line: 4, Via: via, Commit: "reachable"},
		{Raw: "actions/download-artifact@v4", Kind: "action", Job: "scan", Step: -1, Line: 4, Via: via, ResolvedSHA: fakeSHA("actions/download-artifact@v4")},
		{Raw: "google/osv-scanner-action/osv-scanner-action@v1.6.2-beta1", Kind: "action", Job: "scan", Step: -1, Line: 4, Via: via, ResolvedSHA: fakeSHA("google/osv-scanner-action@v1.6.2-beta1")},
		{Raw: "google/osv-scanner-action/osv-reporter-action@v1.6.2-beta1", Kind: "action", Job: "scan", Step: -1, Line: 4, Via: via, ResolvedSHA: fakeSHA("google/osv-scanner-action@v1.6.2-beta1")},
		{Raw: "actions/upload-artifact@v4", Kind: "action", Job: "scan", Step: -1, Line: 4, Via: via, ResolvedSHA: fakeSHA("actions/upload-artifact@v4")},
		{Raw: "github/codeql-action/upload-sarif@407ffafae6a767df3e0230c3df91b6443ae8df75", Kind: "action", Job: "scan", Step: -1, Line: 4, Via: via, Commit: "reachable"},
		{Raw: "docker://ghcr.io/google/osv-scanner-action:v1.6.2-beta1", Kind: "docker", Job: "scan", Step: -1, Line: 4, Via: via + " > google/osv-scanner-action/osv-scanner-action@v1.6.2-beta1"},
	})
	checkResolution(t, out.Resolution, true)
	if !reflect.DeepEqual(out.Secrets, doc.Secrets) {
		t.Errorf("secrets changed:\n got %+v\nwant %+v", out.Secrets, doc.Secrets)
	}
}

// A local reusable workflow is read from the run's repository at head_sha:
// onnxruntime's CUDA pipeline and the build workflow it calls.
func TestLocalReusableWorkflow(t *testing.T) {
	gh := newFake()
	gh.file("acme/api", ".github/workflows/reusable_linux_build.yml", headSHA, corpus(t, "workflows/microsoft__onnxruntime__reusable_linux_build.yml"))
	gh.node("actions/checkout@v4", "actions/setup-python@v5", "actions/github-script@v7", "actions/download-artifact@v4", "actions/upload-artifact@v4",
		"microsoft/onnxruntime-github-actions/build-docker-image@7a01b3e62bcf57ae0f1a8c045860dbb123199353",
		"microsoft/onnxruntime-github-actions/run-build-script-in-docker@7a01b3e62bcf57ae0f1a8c045860dbb123199353",
		"microsoft/onnxruntime-github-actions/build-docker-image@v0.0.5", "microsoft/onnxruntime-github-actions/run-build-script-in-docker@v0.0.5")

	doc := workflowDoc(t, ".github/workflows/linux_cuda_ci.yml", corpus(t, "workflows/microsoft__onnxruntime__linux_cuda_ci.yml"))
	out := resolve(t, New(gh), doc)
	checkResolution(t, out.Resolution, true)

	const call = "./.github/workflows/reusable_linux_build.yml"
	var callJob string
	for _, u := range doc.Uses {
		if u.Raw == call {
			callJob = u.Job
		}
	}
	if callJob == "" {
		t.Fatalf("the corpus workflow has no %s reference", call)
	}
	var transitive []string
	for _, u := range out.Uses[len(doc.Uses):] {
		if len(u.Via) != 1 || u.Via[0] != call || u.Job != callJob {
			t.Errorf("%s: via %v job %q, want via [%s] job %q", u.Raw, u.Via, u.Job, call, callJob)
		}
		transitive = append(transitive, u.Raw)
	}
	if want := 9; len(transitive) != want || transitive[2] != "microsoft/onnxruntime-github-actions/build-docker-image@7a01b3e62bcf57ae0f1a8c045860dbb123199353" {
		t.Errorf("transitive uses = %q, want the %d of reusable_linux_build.yml", transitive, want)
	}
}

// Issue 15: a tag moved to a malicious commit two seconds before a run is
// judged on the new commit, whatever the tag TTL: only trusted owners'
// tags are served from the cache.
func TestMovedTag(t *testing.T) {
	gh := newFake()
	good := gh.action("tj-actions/changed-files@v35", corpus(t, "actions/tj-actions__changed-files__v35__action.yml"))
	gh.node("tj-actions/glob@v17.2.5", "tj-actions/json2file@v1.4.2")
	const malicious = "0e58ed8671d6b60d0890c21b07f8835ace038e67"
	doc := workflowDoc(t, ".github/workflows/ci.yml", steps("tj-actions/changed-files@v35"))

	clock := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	r := New(gh, WithTagTTL(time.Hour))
	r.now = func() time.Time { return clock }

	first := resolve(t, r, doc)
	if got := *first.Uses[0].ResolvedSHA; got != good {
		t.Fatalf("resolved_sha = %s, want %s", got, good)
	}

	// The attacker repoints the tag at a commit whose action runs more,
	// and a run starts two seconds later.
	gh.tag("tj-actions/changed-files", "v35", malicious)
	gh.file("tj-actions/changed-files", "action.yml", malicious, composite("evil/exfiltrate@v1"))
	gh.node("evil/exfiltrate@v1")
	clock = clock.Add(2 * time.Second)

	moved := resolve(t, r, doc)
	checkRows(t, moved.Uses, []row{
		{Raw: "tj-actions/changed-files@v35", Kind: "action", Job: "build", Step: 0, Line: 6, ResolvedSHA: malicious},
		{Raw: "evil/exfiltrate@v1", Kind: "action", Job: "build", Step: 0, Line: 6, Via: "tj-actions/changed-files@v35", ResolvedSHA: fakeSHA("evil/exfiltrate@v1")},
	})
	// One lookup of the moved tag, its new metadata, the new action's tag and metadata.
	if moved.Resolution.Fetches != 4 {
		t.Errorf("fetches after the move = %d, want 4", moved.Resolution.Fetches)
	}

	// A trusted owner's tag is cached for the TTL.
	trusting := New(gh, WithTagTTL(time.Hour), WithTrustedOwners("TJ-Actions"))
	trusting.now = func() time.Time { return clock }
	resolve(t, trusting, doc)
	gh.tag("tj-actions/changed-files", "v35", good)
	clock = clock.Add(2 * time.Second)
	if cached := resolve(t, trusting, doc); *cached.Uses[0].ResolvedSHA != malicious || cached.Resolution.Fetches != 1 {
		t.Errorf("trusted owner within the TTL: resolved_sha %s with %d fetches, want the cached %s and one (evil/exfiltrate's tag)",
			*cached.Uses[0].ResolvedSHA, cached.Resolution.Fetches, malicious)
	}
}

func TestUnresolvable(t *testing.T) {
	tests := []struct {
		name    string
		publish func(gh *fakeGitHub)
		uses    string
		want    string // Unresolved substring of the first use
	}{
		{"private repository", func(gh *fakeGitHub) {
			gh.action("acme/secret-action@v1", composite("evil/x@v1"))
			gh.private["acme/secret-action"] = true
		}, "acme/secret-action@v1", "acme/secret-action@v1: ref not found"},
		{"deleted tag", func(gh *fakeGitHub) {
			gh.tag("aquasecurity/trivy-action", "v0.34.0", fakeSHA("v0.34.0"))
		}, "aquasecurity/trivy-action@0.34.0", "ref not found"},
		{"no metadata file", func(gh *fakeGitHub) {
			gh.tag("acme/empty", "v1", fakeSHA("empty"))
		}, "acme/empty@v1", "no action.yml or action.yaml"},
		{"not action metadata", func(gh *fakeGitHub) {
			gh.action("acme/broken@v1", []byte("runs: [1, 2\n"))
		}, "acme/broken@v1", "not action metadata"},
		{"no runs.using", func(gh *fakeGitHub) {
			gh.action("acme/nousing@v1", []byte("name: x\n"))
		}, "acme/nousing@v1", "runs.using is missing"},
		{"too large", func(gh *fakeGitHub) {
			gh.action("acme/huge@v1", []byte("name: x\n"+strings.Repeat("#", DefaultMaxFileSize)))
		}, "acme/huge@v1", "over the limit"},
		{"tag lookup returns garbage", func(gh *fakeGitHub) {
			gh.tag("acme/odd", "v1", "not-a-sha")
		}, "acme/odd@v1", "not a commit SHA"},
		{"no ref", func(gh *fakeGitHub) {}, "acme/noref", "has no @ref"},
		{"parallel that is not a list", func(gh *fakeGitHub) {
			gh.action("acme/odd-parallel@v1", []byte("runs:\n  using: composite\n  steps:\n    - parallel:\n        uses: evil/x@v1\n"))
		}, "acme/odd-parallel@v1", "not action metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh := newFake()
			tt.publish(gh)
			out := resolve(t, New(gh), workflowDoc(t, ".github/workflows/ci.yml", steps(tt.uses)))
			if len(out.Uses) != 1 {
				t.Fatalf("uses = %+v, want only the direct reference", rows(out.Uses))
			}
			if got := out.Uses[0].Unresolved; !strings.Contains(got, tt.want) {
				t.Errorf("unresolved = %q, want it to contain %q", got, tt.want)
			}
			checkResolution(t, out.Resolution, false)
		})
	}
}

// A Fetcher failure other than not-found (a server error, a file over the
// client's size limit) leaves the reference unresolved, so that
// block_unresolved can deny it; only the context's end fails the run.
func TestFetcherError(t *testing.T) {
	gh := newFake()
	gh.action("acme/a@v1", composite("flaky/b@v1"))
	gh.broken["flaky/b"] = true
	out := resolve(t, New(gh), workflowDoc(t, ".github/workflows/ci.yml", steps("acme/a@v1")))
	checkRows(t, out.Uses, []row{
		{Raw: "acme/a@v1", Kind: "action", Job: "build", Step: 0, Line: 6, ResolvedSHA: fakeSHA("acme/a@v1")},
		{Raw: "flaky/b@v1", Kind: "action", Job: "build", Step: 0, Line: 6, Via: "acme/a@v1", Unresolved: "could not be read: 502 Bad Gateway"},
	})
	checkResolution(t, out.Resolution, false)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(newFake()).Resolve(ctx, workflowDoc(t, ".github/workflows/ci.yml", steps("acme/a@v1"))); err == nil {
		t.Error("a cancelled context resolved")
	}

	// Refused credentials are runpolicy's fault, not the reference's.
	gh.fail["acme/a"] = fmt.Errorf("GET contents: HTTP 401: Bad credentials: %w", ErrAuth)
	gh.tag("acme/a", "v2", fakeSHA("acme/a@v2"))
	if _, err := New(gh).Resolve(context.Background(), workflowDoc(t, ".github/workflows/ci.yml", steps("acme/a@v2"))); !errors.Is(err, ErrAuth) {
		t.Errorf("refused credentials: %v, want ErrAuth", err)
	}
}

func TestCycles(t *testing.T) {
	t.Run("composite actions", func(t *testing.T) {
		gh := newFake()
		gh.action("acme/a@v1", composite("acme/b@v1"))
		gh.action("acme/b@v1", composite("ACME/A@v1"))
		out := resolve(t, New(gh), workflowDoc(t, ".github/workflows/ci.yml", steps("acme/a@v1")))
		checkRows(t, out.Uses, []row{
			{Raw: "acme/a@v1", Kind: "action", Job: "build", Step: 0, Line: 6, ResolvedSHA: fakeSHA("acme/a@v1")},
			{Raw: "acme/b@v1", Kind: "action", Job: "build", Step: 0, Line: 6, Via: "acme/a@v1", ResolvedSHA: fakeSHA("acme/b@v1")},
			{Raw: "ACME/A@v1", Kind: "action", Job: "build", Step: 0, Line: 6, Via: "acme/a@v1 > acme/b@v1", Unresolved: "cycle: acme/a@v1 -> acme/b@v1 -> ACME/A@v1"},
		})
		checkResolution(t, out.Resolution, false, LimitCycle)
	})
	t.Run("workflow calling itself", func(t *testing.T) {
		gh := newFake()
		src := []byte("on: [push, workflow_call]\njobs:\n  again:\n    uses: ./.github/workflows/ci.yml\n")
		gh.file("acme/api", ".github/workflows/ci.yml", headSHA, src)
		out := resolve(t, New(gh), workflowDoc(t, ".github/workflows/ci.yml", src))
		checkRows(t, out.Uses, []row{
			{Raw: "./.github/workflows/ci.yml", Kind: "local", Job: "again", Step: -1, Line: 4, Unresolved: "cycle"},
		})
		checkResolution(t, out.Resolution, false, LimitCycle)
		if gh.calls() != 0 {
			t.Errorf("fetched %d times for a workflow calling itself", gh.calls())
		}
	})
}

// chain publishes acme/a1@v1 → acme/a2@v1 → … → acme/an@v1, the last one a
// JavaScript action.
func chain(gh *fakeGitHub, n int) {
	for i := 1; i < n; i++ {
		gh.action(fmt.Sprintf("acme/a%d@v1", i), composite(fmt.Sprintf("acme/a%d@v1", i+1)))
	}
	gh.node(fmt.Sprintf("acme/a%d@v1", n))
}

func TestLimits(t *testing.T) {
	t.Run("composite depth", func(t *testing.T) {
		for _, tt := range []struct {
			n, depth   int
			opts       []Option
			unresolved int // index of the use that hits the limit, -1 none
		}{
			{n: 11, depth: 10, unresolved: -1}, // ten composites and a JavaScript action inside
			{n: 12, depth: 10, unresolved: 10}, // an eleventh composite
			{n: 6, depth: 3, opts: []Option{WithActionDepth(3)}, unresolved: 3},
		} {
			gh := newFake()
			chain(gh, tt.n)
			out := resolve(t, New(gh, tt.opts...), workflowDoc(t, ".github/workflows/ci.yml", steps("acme/a1@v1")))
			want := tt.n
			if tt.unresolved >= 0 {
				want = tt.unresolved + 1
			}
			if len(out.Uses) != want {
				t.Errorf("chain of %d, depth %d: %d uses, want %d", tt.n, tt.depth, len(out.Uses), want)
				continue
			}
			if tt.unresolved < 0 {
				checkResolution(t, out.Resolution, true)
				continue
			}
			if got := out.Uses[tt.unresolved].Unresolved; !strings.Contains(got, fmt.Sprintf("deeper than %d levels", tt.depth)) {
				t.Errorf("chain of %d: uses[%d].unresolved = %q", tt.n, tt.unresolved, got)
			}
			checkResolution(t, out.Resolution, false, LimitDepth)
		}
	})
	t.Run("workflow levels", func(t *testing.T) {
		gh := newFake()
		gh.publish("acme/w@v1", ".github/workflows/one.yml", []byte("on: workflow_call\njobs:\n  j:\n    uses: acme/w/.github/workflows/two.yml@v1\n"))
		gh.file("acme/w", ".github/workflows/two.yml", fakeSHA("acme/w@v1"), []byte("on: workflow_call\njobs:\n  j:\n    uses: acme/w/.github/workflows/three.yml@v1\n"))
		src := []byte("on: push\njobs:\n  call:\n    uses: acme/w/.github/workflows/one.yml@v1\n")
		out := resolve(t, New(gh, WithWorkflowLevels(3)), workflowDoc(t, ".github/workflows/ci.yml", src))
		checkRows(t, out.Uses, []row{
			{Raw: "acme/w/.github/workflows/one.yml@v1", Kind: "reusable_workflow", Job: "call", Step: -1, Line: 4, ResolvedSHA: fakeSHA("acme/w@v1")},
			{Raw: "acme/w/.github/workflows/two.yml@v1", Kind: "reusable_workflow", Job: "call", Step: -1, Line: 4, Via: "acme/w/.github/workflows/one.yml@v1", ResolvedSHA: fakeSHA("acme/w@v1")},
			{Raw: "acme/w/.github/workflows/three.yml@v1", Kind: "reusable_workflow", Job: "call", Step: -1, Line: 4,
				Via: "acme/w/.github/workflows/one.yml@v1 > acme/w/.github/workflows/two.yml@v1", Unresolved: "reusable workflows nested deeper than 3 levels"},
		})
		checkResolution(t, out.Resolution, false, LimitDepth)
		for _, l := range gh.log {
			if strings.Contains(l, "three.yml") {
				t.Errorf("fetched beyond the limit: %s", l)
			}
		}
	})
	t.Run("fetches", func(t *testing.T) {
		gh := newFake()
		chain(gh, 8) // 16 fetches in all
		out := resolve(t, New(gh, WithMaxFetches(5)), workflowDoc(t, ".github/workflows/ci.yml", steps("acme/a1@v1")))
		if out.Resolution.Fetches != 5 || gh.calls() != 5 {
			t.Errorf("fetches = %d (fake saw %d), want the cap of 5", out.Resolution.Fetches, gh.calls())
		}
		last := out.Uses[len(out.Uses)-1]
		if !strings.Contains(last.Unresolved, "fetch limit of 5") {
			t.Errorf("last use %s: unresolved %q", last.Raw, last.Unresolved)
		}
		checkResolution(t, out.Resolution, false, LimitFetches)
	})
	t.Run("references", func(t *testing.T) {
		gh := newFake()
		gh.action("acme/wide@v1", composite("acme/n1@v1", "acme/n2@v1", "acme/n3@v1", "acme/n4@v1"))
		gh.node("acme/n1@v1", "acme/n2@v1", "acme/n3@v1", "acme/n4@v1")
		out := resolve(t, New(gh, WithMaxReferences(3)), workflowDoc(t, ".github/workflows/ci.yml", steps("acme/wide@v1")))
		if len(out.Uses) != 3 || !strings.Contains(out.Uses[0].Unresolved, "reference limit of 3") {
			t.Errorf("uses = %+v, want 3 with the first unresolved", rows(out.Uses))
		}
		checkResolution(t, out.Resolution, false, LimitReferences)
	})
}

// Resolving twice hits the caches: content at a commit forever, tags for
// their TTL. The same action in several jobs is fetched once per run.
func TestCache(t *testing.T) {
	gh := newFake()
	gh.action("tj-actions/eslint-changed-files@v1", corpus(t, "actions/tj-actions__eslint-changed-files__action.yml"))
	gh.action("tj-actions/changed-files@v23", corpus(t, "actions/tj-actions__changed-files__v35__action.yml"))
	gh.node("reviewdog/action-setup@v1", "tj-actions/glob@v17.2.5", "tj-actions/json2file@v1.4.2")
	src := []byte(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps: [{uses: tj-actions/eslint-changed-files@v1}, {uses: reviewdog/action-setup@v1}]
  b:
    runs-on: ubuntu-latest
    steps: [{uses: tj-actions/eslint-changed-files@v1}]
`)
	doc := workflowDoc(t, ".github/workflows/ci.yml", src)
	r := New(gh, WithConcurrency(4))
	first := resolve(t, r, doc)
	if first.Resolution.Fetches != 10 || gh.calls() != 10 {
		t.Errorf("first run: %d fetches (fake saw %d), want 10: each of 5 distinct actions once", first.Resolution.Fetches, gh.calls())
	}
	if len(first.Uses) != 3+2*4 {
		t.Errorf("first run: %d uses, want 11", len(first.Uses))
	}
	// Every run asks where the tags point now, never for the content again.
	before := gh.contentCalls
	second := resolve(t, r, doc)
	if second.Resolution.Fetches != 5 || gh.contentCalls != before {
		t.Errorf("second run: %d fetches, %d new content fetches, want the 5 tag lookups only", second.Resolution.Fetches, gh.contentCalls-before)
	}
	if !reflect.DeepEqual(rows(first.Uses), rows(second.Uses)) {
		t.Errorf("cached result differs:\n%s\n%s", dump(rows(first.Uses)), dump(rows(second.Uses)))
	}

	// Trusted owners' tags are cached for the TTL, then asked again.
	r = New(gh, WithConcurrency(4), WithTrustedOwners("tj-actions", "reviewdog"))
	resolve(t, r, doc)
	if again := resolve(t, r, doc); again.Resolution.Fetches != 0 {
		t.Errorf("trusted owners within the TTL: %d fetches, want none", again.Resolution.Fetches)
	}
	r.now = func() time.Time { return time.Now().Add(DefaultTagTTL + time.Second) }
	before = gh.contentCalls
	third := resolve(t, r, doc)
	if third.Resolution.Fetches != 5 || gh.contentCalls != before {
		t.Errorf("after the TTL: %d fetches (%d content), want 5 tag lookups only", third.Resolution.Fetches, gh.contentCalls-before)
	}
}

// A reusable workflow is read at the commit GitHub ran it at, as the run's
// payload says (referenced_workflows), not where its tag points when the
// resolver asks: an attacker who moves the tag just before the run is seen
// even while the resolver's tag cache still holds the old commit.
func TestReferencedWorkflowsPinTheCommit(t *testing.T) {
	gh := newFake()
	const call = "acme/shared/.github/workflows/build.yml@v1"
	good := gh.publish("acme/shared@v1", ".github/workflows/build.yml", []byte(`on: workflow_call
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{uses: actions/checkout@v4}]
`))
	gh.node("actions/checkout@v4", "evil/exfiltrate@v1")
	src := []byte("on: push\njobs:\n  build:\n    uses: " + call + "\n")
	clock := time.Date(2025, 9, 8, 12, 0, 0, 0, time.UTC)
	r := New(gh, WithTagTTL(time.Hour))
	r.now = func() time.Time { return clock }

	build := func(ran map[string]string) *input.Document {
		f, err := input.Parse(".github/workflows/ci.yml", src)
		if err != nil {
			t.Fatal(err)
		}
		c := input.LocalContext(".github/workflows/ci.yml")
		c.Repository = input.Repository{FullName: "acme/api", Owner: "acme", Name: "api", DefaultBranch: "main"}
		c.Run.HeadSHA = headSHA
		c.ReferencedWorkflows = ran
		return input.Build(f, c)
	}
	first := resolve(t, r, build(nil)) // caches the tag: v1 → good
	if got := *first.Uses[0].ResolvedSHA; got != good {
		t.Fatalf("resolved_sha = %s, want %s", got, good)
	}

	// The tag is moved to a commit whose workflow exfiltrates, and the run
	// that follows runs it.
	evil := fakeSHA("evil commit")
	gh.tag("acme/shared", "v1", evil)
	gh.file("acme/shared", ".github/workflows/build.yml", evil, []byte(`on: workflow_call
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{uses: evil/exfiltrate@v1}]
`))
	shaCalls := gh.shaCalls
	out := resolve(t, r, build(map[string]string{input.ReferencedWorkflowKey("Acme", "Shared", ".github/workflows/build.yml", "v1"): evil}))
	checkRows(t, out.Uses, []row{
		{Raw: call, Kind: "reusable_workflow", Job: "build", Step: -1, Line: 4, ResolvedSHA: evil},
		{Raw: "evil/exfiltrate@v1", Kind: "action", Job: "build", Step: -1, Line: 4, Via: call, ResolvedSHA: fakeSHA("evil/exfiltrate@v1")},
	})
	if gh.shaCalls != shaCalls+1 { // evil/exfiltrate's tag; not acme/shared's
		t.Errorf("%d tag lookups, want 1: the called workflow's commit came with the run", gh.shaCalls-shaCalls)
	}

	// Without the payload's commit, the tag is asked again: the cache of
	// an untrusted owner's tag never outlives the run.
	moved := resolve(t, r, build(nil))
	if got := *moved.Uses[0].ResolvedSHA; got != evil {
		t.Errorf("without referenced_workflows: resolved_sha = %s, want the moved tag's %s", got, evil)
	}
}

// A file missing at a commit is asked about once per tag TTL, not once per
// run: a private action or a deleted workflow used by every run would
// otherwise cost GitHub calls on each. After the TTL it is asked again, as
// access can change.
func TestMissingFilesAreCachedForTheTTL(t *testing.T) {
	gh := newFake()
	empty := fakeSHA("empty")
	gh.file("acme/empty", "README.md", empty, []byte("no action here"))
	wfSHA := fakeSHA("wf")
	gh.file("acme/wf", "README.md", wfSHA, []byte("no workflow here"))
	gh.tag("acme/empty", "v1", empty) // both commits are genuine: verified once
	gh.tag("acme/wf", "v1", wfSHA)
	src := []byte(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps: [{uses: acme/empty@` + empty + `}]
  b:
    uses: acme/wf/.github/workflows/gone.yml@` + wfSHA + `
`)
	doc := workflowDoc(t, ".github/workflows/ci.yml", src)
	clock := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	r := New(gh, WithTagTTL(time.Minute))
	r.now = func() time.Time { return clock }

	unresolved := func(out *input.Document) []string {
		var got []string
		for _, u := range out.Uses {
			got = append(got, u.Unresolved)
		}
		return got
	}
	first := resolve(t, r, doc)
	want := unresolved(first)
	if len(want) != 2 || !strings.Contains(want[0], "no action.yml or action.yaml") || !strings.Contains(want[1], "workflow not found") {
		t.Fatalf("unresolved = %q, want the missing action metadata and workflow", want)
	}
	calls := gh.contentCalls
	if calls != 3 { // action.yml, action.yaml, the workflow
		t.Fatalf("first run read %d files, want 3", calls)
	}

	clock = clock.Add(30 * time.Second)
	again := resolve(t, r, doc)
	if gh.contentCalls != calls || again.Resolution.Fetches != 0 {
		t.Errorf("within the TTL: %d more files read, %d fetches; want none", gh.contentCalls-calls, again.Resolution.Fetches)
	}
	if got := unresolved(again); !reflect.DeepEqual(got, want) {
		t.Errorf("within the TTL: unresolved = %q, want %q as before", got, want)
	}

	clock = clock.Add(time.Minute)
	resolve(t, r, doc)
	if gh.contentCalls != 2*calls {
		t.Errorf("after the TTL: %d more files read, want %d: access may have changed", gh.contentCalls-calls, calls)
	}
}

// Resolve returns a new document and leaves the input, and the Facts it
// shares with other runs, untouched.
func TestInputUnchanged(t *testing.T) {
	gh := newFake()
	gh.action("acme/a@v1", composite("acme/b@v1"))
	gh.node("acme/b@v1")
	doc := workflowDoc(t, ".github/workflows/ci.yml", steps("acme/a@v1"))
	before, _ := json.Marshal(doc)
	uses := doc.Uses
	out := resolve(t, New(gh), doc)
	after, _ := json.Marshal(doc)
	if string(before) != string(after) {
		t.Errorf("input changed:\n%s\n%s", before, after)
	}
	if len(out.Uses) != 2 || &out.Uses[0] == &uses[0] || out.Uses[0].ResolvedSHA == nil || uses[0].ResolvedSHA != nil {
		t.Error("the output shares its uses with the input")
	}
	if doc.Resolution != nil || out.Resolution == nil {
		t.Error("resolution written to the wrong document")
	}
	// The document value OPA sees has the transitive use.
	if v := out.Value().String(); !strings.Contains(v, `"via": ["acme/a@v1"]`) {
		t.Errorf("Value() misses the transitive use: %s", v)
	}
}

// Many references of one level are fetched in parallel; the fetch cap
// holds under concurrency.
func TestParallelFetchCap(t *testing.T) {
	gh := newFake()
	gh.delay = time.Millisecond
	var refs []string
	for i := range 30 {
		ref := fmt.Sprintf("acme/p%d@v1", i)
		gh.node(ref)
		refs = append(refs, ref)
	}
	out := resolve(t, New(gh, WithMaxFetches(17), WithConcurrency(8)), workflowDoc(t, ".github/workflows/ci.yml", steps(refs...)))
	if out.Resolution.Fetches != 17 || gh.calls() != 17 {
		t.Errorf("fetches = %d (fake saw %d), want the cap of 17", out.Resolution.Fetches, gh.calls())
	}
	checkResolution(t, out.Resolution, false, LimitFetches)
}

// Inside a remote reusable workflow, "./.github/workflows/…" is read from
// that workflow's repository and commit, while "./action" steps run in the
// workspace, the caller's checkout.
func TestReusableWorkflowLocalReferences(t *testing.T) {
	gh := newFake()
	shared := gh.publish("acme/shared@v2", ".github/workflows/outer.yml", []byte(`on: workflow_call
jobs:
  inner:
    uses: ./.github/workflows/inner.yml
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: ./.github/actions/lint
`))
	gh.file("acme/shared", ".github/workflows/inner.yml", shared, []byte("on: workflow_call\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps: [{uses: acme/deep@v1}]\n"))
	gh.file("acme/api", ".github/actions/lint/action.yml", headSHA, composite("acme/linter@v3"))
	gh.node("acme/deep@v1", "acme/linter@v3")

	src := []byte("on: push\njobs:\n  call:\n    uses: acme/shared/.github/workflows/outer.yml@v2\n")
	out := resolve(t, New(gh), workflowDoc(t, ".github/workflows/ci.yml", src))
	outer := "acme/shared/.github/workflows/outer.yml@v2"
	checkRows(t, out.Uses, []row{
		{Raw: outer, Kind: "reusable_workflow", Job: "call", Step: -1, Line: 4, ResolvedSHA: shared},
		{Raw: "./.github/workflows/inner.yml", Kind: "local", Job: "call", Step: -1, Line: 4, Via: outer},
		{Raw: "./.github/actions/lint", Kind: "local", Job: "call", Step: -1, Line: 4, Via: outer},
		{Raw: "acme/deep@v1", Kind: "action", Job: "call", Step: -1, Line: 4, Via: outer + " > ./.github/workflows/inner.yml", ResolvedSHA: fakeSHA("acme/deep@v1")},
		{Raw: "acme/linter@v3", Kind: "action", Job: "call", Step: -1, Line: 4, Via: outer + " > ./.github/actions/lint", ResolvedSHA: fakeSHA("acme/linter@v3")},
	})
	checkResolution(t, out.Resolution, true)
}

// Self-repository references ("$/path", GitHub July 2026) are read from the
// repository and commit of the file that holds them, a ref written after
// them ignored: the run's own head commit for the workflow, the called
// workflow's commit inside a remote reusable workflow, never the workspace.
func TestSelfRepositoryReferences(t *testing.T) {
	gh := newFake()
	shared := gh.publish("acme/shared@v2", ".github/workflows/outer.yml", []byte(`on: workflow_call
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: $/.github/actions/lint
`))
	gh.file("acme/shared", ".github/actions/lint/action.yml", shared, composite("acme/shared-linter@v1"))
	gh.file("acme/api", ".github/actions/lint/action.yml", headSHA, composite("acme/linter@v3"))
	gh.file("acme/api", ".github/workflows/inner.yml", headSHA, []byte("on: workflow_call\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps: [{uses: acme/deep@v1}]\n"))
	gh.node("acme/deep@v1", "acme/linter@v3", "acme/shared-linter@v1")

	src := []byte(`on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: $/.github/actions/lint
  inner:
    uses: $/.github/workflows/inner.yml@some-tag
  call:
    uses: acme/shared/.github/workflows/outer.yml@v2
`)
	out := resolve(t, New(gh), workflowDoc(t, ".github/workflows/ci.yml", src))
	outer := "acme/shared/.github/workflows/outer.yml@v2"
	checkRows(t, out.Uses, []row{
		{Raw: "$/.github/actions/lint", Kind: "local", Job: "build", Step: 0, Line: 6},
		{Raw: "$/.github/workflows/inner.yml@some-tag", Kind: "local", Job: "inner", Step: -1, Line: 8},
		{Raw: outer, Kind: "reusable_workflow", Job: "call", Step: -1, Line: 10, ResolvedSHA: shared},
		{Raw: "acme/linter@v3", Kind: "action", Job: "build", Step: 0, Line: 6, Via: "$/.github/actions/lint", ResolvedSHA: fakeSHA("acme/linter@v3")},
		{Raw: "acme/deep@v1", Kind: "action", Job: "inner", Step: -1, Line: 8, Via: "$/.github/workflows/inner.yml@some-tag", ResolvedSHA: fakeSHA("acme/deep@v1")},
		{Raw: "$/.github/actions/lint", Kind: "local", Job: "call", Step: -1, Line: 10, Via: outer},
		{Raw: "acme/shared-linter@v1", Kind: "action", Job: "call", Step: -1, Line: 10, Via: outer + " > $/.github/actions/lint", ResolvedSHA: fakeSHA("acme/shared-linter@v1")},
	})
	checkResolution(t, out.Resolution, true)
}

// The steps of a composite action's parallel block are followed like its
// other steps.
func TestCompositeActionParallelSteps(t *testing.T) {
	gh := newFake()
	gh.action("acme/lint@v2", []byte(`name: lint
runs:
  using: composite
  steps:
    - uses: acme/setup@v1
    - parallel:
        - uses: tj-actions/changed-files@v44
        - run: echo
        - parallel:
            - uses: acme/deep@v1
`))
	gh.node("acme/setup@v1", "tj-actions/changed-files@v44", "acme/deep@v1")
	out := resolve(t, New(gh), workflowDoc(t, ".github/workflows/ci.yml", steps("acme/lint@v2")))
	var got []string
	for _, u := range out.Uses[1:] {
		got = append(got, u.Raw)
	}
	if want := []string{"acme/setup@v1", "tj-actions/changed-files@v44", "acme/deep@v1"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("transitive uses = %q, want %q", got, want)
	}
	checkResolution(t, out.Resolution, true)
}
