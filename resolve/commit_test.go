package resolve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// network builds actions/checkout as GitHub's fork network serves it: a
// history on main with tags, an old release tag whose branch was deleted,
// and a fork's commit (served under the parent's name, as GitHub does)
// that no branch or tag of the parent contains.
type network struct {
	root, v4, head, oldRelease, fork string
}

func checkoutNetwork(gh *fakeGitHub) network {
	n := network{root: fakeSHA("root"), v4: fakeSHA("v4"), head: fakeSHA("main"), oldRelease: fakeSHA("v1 release branch"), fork: fakeSHA("fork")}
	gh.commit(n.root)
	gh.commit(n.v4, n.root)
	gh.commit(n.head, n.v4)
	gh.commit(n.oldRelease, n.root)
	gh.commit(n.fork, n.v4) // pushed to attacker/checkout, a fork
	gh.branch("actions/checkout", "main", n.head)
	gh.tag("actions/checkout", "v4", n.v4)
	gh.tag("actions/checkout", "v1", n.oldRelease)
	for _, sha := range []string{n.root, n.v4, n.head, n.oldRelease, n.fork} {
		gh.node("actions/checkout@" + sha)
	}
	return n
}

func TestImpostorCommit(t *testing.T) {
	// An annotated tag object, named like `git rev-parse` names one.
	tagObj := func(gh *fakeGitHub, name, object, kind string) string {
		sha := fakeSHA("tag object " + name)
		gh.annotated(sha, object, kind)
		return sha
	}
	tests := []struct {
		name     string
		setup    func(gh *fakeGitHub, n network) string // returns the reference
		opts     []Option
		commit   string // "reachable", "impostor" or "unverified"
		reason   string // substring of impostor_unverified
		calls    int    // ref calls (list pages, comparisons, tag objects)
		resolved string // resolved_sha: the commit of a tag object
	}{
		// A commit SHA found reachable costs no tag object lookup.
		{"pinned at a tag: one page of tags", func(gh *fakeGitHub, n network) string { return "actions/checkout@" + n.v4 }, nil, "reachable", "", 1, ""},
		{"pinned at a branch head: the branch list", func(gh *fakeGitHub, n network) string { return "actions/checkout@" + n.head }, nil, "reachable", "", 2, ""},
		{"in main's history: one comparison", func(gh *fakeGitHub, n network) string { return "actions/checkout@" + n.root }, nil, "reachable", "", 3, ""},
		{"upper-case SHA is checked too", func(gh *fakeGitHub, n network) string {
			return "actions/checkout@" + strings.ToUpper(n.fork)
		}, nil, "impostor", "", 6, ""},
		{"fork-only commit: every head compared, then the tag object lookup", func(gh *fakeGitHub, n network) string { return "actions/checkout@" + n.fork }, nil, "impostor", "", 6, ""},
		{"only in an old tag's history", func(gh *fakeGitHub, n network) string {
			old := fakeSHA("v1.0.1")
			gh.commit(old, n.oldRelease)
			gh.tag("actions/checkout", "v1.0.1", old)
			gh.node("actions/checkout@" + fakeSHA("v1 base"))
			gh.commit(fakeSHA("v1 base"), n.root)
			gh.commit(n.oldRelease, fakeSHA("v1 base"))
			return "actions/checkout@" + fakeSHA("v1 base")
		}, nil, "reachable", "", 4, ""}, // main, then v1's commit
		{"tags over several pages", func(gh *fakeGitHub, n network) string {
			gh.perPage = 1 // tags v1, v4: v4 is on page 2
			return "actions/checkout@" + n.v4
		}, nil, "reachable", "", 2, ""},

		// Pinned to an annotated tag object: the search, the lookup, then
		// the commit it points to (the heads are not listed again).
		{"annotated tag object of a release: its commit is a tag head", func(gh *fakeGitHub, n network) string {
			return "actions/checkout@" + tagObj(gh, "v4", n.v4, "commit")
		}, nil, "reachable", "", 6, "v4"},
		{"annotated tag object of a commit in main's history", func(gh *fakeGitHub, n network) string {
			return "actions/checkout@" + tagObj(gh, "root", n.root, "commit")
		}, nil, "reachable", "", 7, "root"},
		{"tag object of a tag object", func(gh *fakeGitHub, n network) string {
			return "actions/checkout@" + tagObj(gh, "outer", tagObj(gh, "inner", n.v4, "commit"), "tag")
		}, nil, "reachable", "", 7, "v4"},
		{"tag object of a fork-only commit", func(gh *fakeGitHub, n network) string {
			return "actions/checkout@" + tagObj(gh, "evil", n.fork, "commit")
		}, nil, "impostor", "", 9, "fork"},
		{"tag object of a tree", func(gh *fakeGitHub, n network) string {
			return "actions/checkout@" + tagObj(gh, "tree", fakeSHA("a tree"), "tree")
		}, nil, "impostor", "", 6, ""},
		{"tag objects nested deeper than followed", func(gh *fakeGitHub, n network) string {
			sha := n.v4
			for i, kind := range []string{"commit", "tag", "tag", "tag"} {
				sha = tagObj(gh, fmt.Sprint("level ", i), sha, kind)
			}
			return "actions/checkout@" + sha
		}, nil, "impostor", "", 8, ""},

		{"cap reached", func(gh *fakeGitHub, n network) string { return "actions/checkout@" + n.fork }, []Option{WithMaxCommitCalls(3)}, "unverified", "the 1 of 3 branch and tag heads of actions/checkout compared before the cap of 3 API calls", 3, ""},
		{"cap reached while listing", func(gh *fakeGitHub, n network) string {
			gh.perPage = 1
			return "actions/checkout@" + n.fork
		}, []Option{WithMaxCommitCalls(1)}, "unverified", "listing the tags of actions/checkout took the whole cap of 1 API calls", 1, ""},
		{"cap reached before the tag object lookup", func(gh *fakeGitHub, n network) string { return "actions/checkout@" + n.fork }, []Option{WithMaxCommitCalls(5)},
			"unverified", "on no branch or tag of actions/checkout, and the cap of 5 API calls came before asking whether it is an annotated tag object", 5, ""},
		{"cap reached while searching for the tag object's commit", func(gh *fakeGitHub, n network) string {
			return "actions/checkout@" + tagObj(gh, "evil", n.fork, "commit")
		}, []Option{WithMaxCommitCalls(7)}, "unverified", "of tag object " + fakeSHA("tag object evil") + ": not in the history of the 1 of 3 branch and tag heads of actions/checkout compared before the cap of 7 API calls", 7, "fork"},
		{"tag object lookup fails", func(gh *fakeGitHub, n network) string {
			gh.tagFail = errors.New("502 Bad Gateway")
			return "actions/checkout@" + n.fork
		}, nil, "unverified", "reading tag object " + fakeSHA("fork") + " of actions/checkout: 502 Bad Gateway", 6, ""},
		{"private repository", func(gh *fakeGitHub, n network) string {
			gh.private["actions/checkout"] = true
			return "actions/checkout@" + n.fork
		}, nil, "unverified", "listing the tags of actions/checkout", 1, ""},
		{"GitHub error", func(gh *fakeGitHub, n network) string {
			gh.broken["actions/checkout"] = true
			return "actions/checkout@" + n.fork
		}, nil, "unverified", "502 Bad Gateway", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh := newFake()
			n := checkoutNetwork(gh)
			ref := tt.setup(gh, n)
			out := resolve(t, New(gh, tt.opts...), workflowDoc(t, ".github/workflows/ci.yml", steps(ref)))
			row := rows(out.Uses)[0]
			if row.Commit != tt.commit || !strings.Contains(out.Uses[0].ImpostorUnverified, tt.reason) {
				t.Errorf("commit %s (%q), want %s (%q)", row.Commit, out.Uses[0].ImpostorUnverified, tt.commit, tt.reason)
			}
			if reason := out.Uses[0].ImpostorUnverified; strings.Contains(reason, "\n") {
				t.Errorf("impostor_unverified %q is not one line", reason)
			}
			want := map[string]string{"": "", "v4": n.v4, "root": n.root, "fork": n.fork}[tt.resolved]
			if row.ResolvedSHA != want {
				t.Errorf("resolved_sha %q, want %q (%s)", row.ResolvedSHA, want, tt.resolved)
			}
			if tt.resolved != "" && row.Unresolved != "" {
				t.Errorf("unresolved %q: the action was not read at the tag object", row.Unresolved)
			}
			if gh.refCalls != tt.calls {
				t.Errorf("%d branch, tag, compare and tag object calls, want %d:\n%s", gh.refCalls, tt.calls, strings.Join(gh.log, "\n"))
			}
		})
	}
}

// A commit found reachable is remembered (while the LRU keeps it); an impostor is asked
// about again on every run, as the repository may have merged it since.
func TestImpostorCache(t *testing.T) {
	gh := newFake()
	n := checkoutNetwork(gh)
	r := New(gh)
	doc := workflowDoc(t, ".github/workflows/ci.yml", steps("actions/checkout@"+n.root, "actions/checkout@"+n.fork))
	first := resolve(t, r, doc)
	if c := rows(first.Uses); c[0].Commit != "reachable" || c[1].Commit != "impostor" {
		t.Fatalf("first run: %+v", c)
	}
	calls := gh.refCalls
	second := resolve(t, r, doc)
	if c := rows(second.Uses); c[0].Commit != "reachable" || c[1].Commit != "impostor" {
		t.Fatalf("second run: %+v", c)
	}
	if gh.refCalls-calls != 6 {
		t.Errorf("second run: %d ref calls, want 6 (the impostor's check only)", gh.refCalls-calls)
	}
	// The fork's commit is merged into main: the next run finds it.
	gh.commit(fakeSHA("merge"), n.head, n.fork)
	gh.branch("actions/checkout", "main", fakeSHA("merge"))
	if c := rows(resolve(t, r, doc).Uses); c[1].Commit != "reachable" {
		t.Errorf("after the merge: %+v", c[1])
	}
}

// An impostor hidden behind a composite action is checked like a direct one.
func TestTransitiveImpostor(t *testing.T) {
	gh := newFake()
	n := checkoutNetwork(gh)
	gh.action("acme/setup@v1", composite("actions/checkout@"+n.fork))
	out := resolve(t, New(gh), workflowDoc(t, ".github/workflows/ci.yml", steps("acme/setup@v1")))
	checkRows(t, out.Uses, []row{
		{Raw: "acme/setup@v1", Kind: "action", Job: "build", Step: 0, Line: 6, ResolvedSHA: fakeSHA("acme/setup@v1")},
		{Raw: "actions/checkout@" + n.fork, Kind: "action", Job: "build", Step: 0, Line: 6, Via: "acme/setup@v1", Commit: "impostor"},
	})
}

// A Fetcher without branch and tag listing leaves pinned commits
// unverified, never silently verified.
func TestImpostorWithoutRefFetcher(t *testing.T) {
	gh := newFake()
	n := checkoutNetwork(gh)
	out := resolve(t, New(contentOnly{gh}), workflowDoc(t, ".github/workflows/ci.yml", steps("actions/checkout@"+n.fork)))
	if got := out.Uses[0].ImpostorUnverified; !strings.Contains(got, "cannot list branches") || out.Uses[0].Impostor != nil {
		t.Errorf("impostor %v, unverified %q; want unverified", out.Uses[0].Impostor, got)
	}
}

type contentOnly struct{ f *fakeGitHub }

func (c contentOnly) Content(ctx context.Context, owner, repo, path, ref string) ([]byte, error) {
	return c.f.Content(ctx, owner, repo, path, ref)
}

func (c contentOnly) CommitSHA(ctx context.Context, owner, repo, ref string) (string, error) {
	return c.f.CommitSHA(ctx, owner, repo, ref)
}

// A tag object found to lead to a reachable commit is remembered with that
// commit: the next run costs no call and still reports resolved_sha, which
// the compromised list's commit entries are matched against.
func TestImpostorCacheKeepsTheTagObjectsCommit(t *testing.T) {
	gh := newFake()
	n := checkoutNetwork(gh)
	tag := fakeSHA("tag object v4")
	gh.annotated(tag, n.v4, "commit")
	r := New(gh)
	doc := workflowDoc(t, ".github/workflows/ci.yml", steps("actions/checkout@"+tag))
	for run := range 2 {
		before := gh.refCalls
		c := rows(resolve(t, r, doc).Uses)[0]
		if c.Commit != "reachable" || c.ResolvedSHA != n.v4 {
			t.Errorf("run %d: %+v; want reachable, resolved_sha %s", run+1, c, n.v4)
		}
		if calls := gh.refCalls - before; run == 1 && calls != 0 {
			t.Errorf("run 2: %d ref calls, want 0 (cached)", calls)
		}
	}
}
