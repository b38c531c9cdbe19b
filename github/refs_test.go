package github

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/resolve"
)

func sha(s string) string { return fmt.Sprintf("%040x", []byte(s))[:40] }

// The calls of the impostor check against GitHub's REST API as the fake
// serves it: pages of tags and branches through the Link header, compare
// statuses, 404 for no common history.
func TestRefsAndCompare(t *testing.T) {
	fake, app, _ := setup(t)
	ctx := context.Background()
	c := app.Installation(7)
	root, main, fork := sha("root"), sha("main"), sha("fork")
	fake.AddCommit("acme/tool", root)
	fake.AddCommit("acme/tool", main, root)
	fake.AddFork("evil/tool", "acme/tool")
	fake.AddCommit("evil/tool", fork, root)
	fake.AddCommit("other/repo", sha("other"))
	fake.SetBranch("acme/tool", "main", main)
	for i := range 150 {
		fake.SetTag("acme/tool", fmt.Sprintf("v1.%03d", i), root)
	}

	var tags []resolve.Ref
	pages := 0
	for page := 1; page > 0; pages++ {
		refs, next, err := c.Tags(ctx, "acme", "tool", page)
		if err != nil {
			t.Fatal(err)
		}
		tags = append(tags, refs...)
		page = next
	}
	if len(tags) != 150 || pages != 2 || tags[0] != (resolve.Ref{Name: "v1.000", SHA: root}) {
		t.Errorf("tags: %d in %d pages, first %+v; want 150 in 2 pages", len(tags), pages, tags[0])
	}
	branches, next, err := c.Branches(ctx, "acme", "tool", 1)
	if err != nil || next != 0 || len(branches) != 1 || branches[0] != (resolve.Ref{Name: "main", SHA: main}) {
		t.Errorf("branches = %+v, next %d, %v", branches, next, err)
	}
	if _, _, err := c.Branches(ctx, "acme", "nothing", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("branches of an unknown repository: %v, want ErrNotFound", err)
	}

	for _, tt := range []struct {
		base, head, status string
	}{
		{main, root, "behind"},
		{main, main, "identical"},
		{root, main, "ahead"},
		{main, fork, "diverged"}, // the fork's commit, under the parent's name
	} {
		if got, err := c.Compare(ctx, "acme", "tool", tt.base, tt.head); err != nil || got != tt.status {
			t.Errorf("compare %s...%s = %q, %v; want %s", tt.base[:6], tt.head[:6], got, err, tt.status)
		}
	}
	if _, err := c.Compare(ctx, "acme", "tool", main, sha("other")); !errors.Is(err, ErrNotFound) {
		t.Errorf("compare with a commit of another network: %v, want ErrNotFound", err)
	}
	if _, err := c.CommitSHA(ctx, "acme", "tool", fork); err != nil {
		t.Errorf("a fork's commit under the parent's name: %v; GitHub serves it", err)
	}
	if _, err := c.CommitSHA(ctx, "acme", "tool", sha("other")); !errors.Is(err, ErrNotFound) {
		t.Errorf("a commit of another network: %v, want ErrNotFound", err)
	}
	fake.SetFile("evil/tool", fork, "action.yml", []byte("runs: {using: node20, main: steal.js}\n"))
	if got, err := c.Content(ctx, "acme", "tool", "action.yml", fork); err != nil || !strings.Contains(string(got), "steal.js") {
		t.Errorf("the fork's action.yml under the parent's name = %q, %v", got, err)
	}
}

// An annotated tag object through GET /repos/{o}/{r}/git/tags/{sha}: what
// it points to, a tag of a tag, a fork's tag object under the parent's
// name (GitHub serves it), and 404 (ErrNotFound) for a commit's SHA or a
// tag object of another network.
func TestTagObject(t *testing.T) {
	fake, app, _ := setup(t)
	ctx := context.Background()
	c := app.Installation(7)
	v4, fork := sha("v4"), sha("fork")
	fake.AddCommit("acme/tool", v4)
	fake.AddFork("evil/tool", "acme/tool")
	fake.AddCommit("evil/tool", fork, v4)
	fake.AddCommit("other/repo", sha("other"))
	fake.SetTag("acme/tool", "v4", v4)
	annotated := fake.AddTagObject("acme/tool", "v4", v4, "commit")
	outer := fake.AddTagObject("acme/tool", "v4-signed", annotated, "tag")
	forks := fake.AddTagObject("evil/tool", "v4", fork, "commit")
	elsewhere := fake.AddTagObject("other/repo", "v1", sha("other"), "commit")
	for _, tt := range []struct {
		sha, object, kind string
	}{
		{annotated, v4, "commit"},
		{strings.ToUpper(annotated), v4, "commit"},
		{outer, annotated, "tag"},
		{forks, fork, "commit"},
	} {
		if object, kind, err := c.TagObject(ctx, "acme", "tool", tt.sha); err != nil || object != tt.object || kind != tt.kind {
			t.Errorf("TagObject(%s) = %s %s, %v; want %s %s", tt.sha[:6], object, kind, err, tt.object[:6], tt.kind)
		}
	}
	for _, s := range []string{v4, elsewhere} {
		if _, _, err := c.TagObject(ctx, "acme", "tool", s); !errors.Is(err, ErrNotFound) {
			t.Errorf("TagObject(%s) = %v, want ErrNotFound", s[:6], err)
		}
	}
	// Contents at a tag object's SHA are those of its commit, as git reads them.
	fake.SetFile("acme/tool", v4, "action.yml", []byte("runs: {using: node20, main: index.js}\n"))
	if got, err := c.Content(ctx, "acme", "tool", "action.yml", outer); err != nil || !strings.Contains(string(got), "index.js") {
		t.Errorf("action.yml at a tag object = %q, %v", got, err)
	}
	var statuses []int
	for _, call := range fake.Calls() {
		if strings.HasPrefix(call.Path, "/repos/acme/tool/git/tags/") {
			statuses = append(statuses, call.Status)
		}
	}
	if fmt.Sprint(statuses) != "[200 200 200 200 404 404]" {
		t.Errorf("statuses = %v", statuses)
	}
}

// Issue 15: a tag is looked up for every run, conditionally: the second
// lookup sends the commit as If-None-Match and GitHub's free 304 answers
// it; a moved tag is seen at once.
func TestCommitSHAIsConditional(t *testing.T) {
	fake, app, _ := setup(t)
	ctx := context.Background()
	c := app.Installation(7)
	good, evil := sha("good"), sha("evil")
	fake.SetTag("acme/tool", "v1", good)
	statuses := func() []int {
		var out []int
		for _, call := range fake.Calls() {
			if call.Path == "/repos/acme/tool/commits/v1" {
				out = append(out, call.Status)
			}
		}
		return out
	}
	for range 2 {
		if got, err := c.CommitSHA(ctx, "acme", "tool", "v1"); err != nil || got != good {
			t.Fatalf("CommitSHA = %s, %v; want %s", got, err, good)
		}
	}
	fake.SetTag("acme/tool", "v1", evil)
	if got, err := c.CommitSHA(ctx, "acme", "tool", "v1"); err != nil || got != evil {
		t.Errorf("after the move: CommitSHA = %s, %v; want %s", got, err, evil)
	}
	if got := fmt.Sprint(statuses()); got != "[200 304 200]" {
		t.Errorf("statuses = %s, want [200 304 200]: the unchanged tag answered 304", got)
	}
}

// Issue 15: an action.yml over the client's 10 MB limit, read through the
// real client, leaves its reference unresolved (which block_unresolved
// denies) instead of failing the resolution, which let on_error allow the
// run.
func TestOversizedActionIsUnresolved(t *testing.T) {
	fake, app, _ := setup(t)
	commit := sha("huge")
	fake.SetTag("acme/huge", "v1", commit)
	fake.SetFile("acme/huge", commit, "action.yml", append([]byte("runs:\n  using: composite\n"), bytes.Repeat([]byte("#"), MaxFileSize)...))
	src := []byte("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: acme/huge@v1\n")
	f, err := input.Parse(".github/workflows/ci.yml", src)
	if err != nil {
		t.Fatal(err)
	}
	doc := input.Build(f, input.LocalContext(".github/workflows/ci.yml"))
	out, err := resolve.New(app.Installation(7)).Resolve(context.Background(), doc)
	if err != nil {
		t.Fatalf("Resolve: %v; want the reference unresolved", err)
	}
	if got := out.Uses[0].Unresolved; !strings.Contains(got, "over the size limit of 10485760 bytes") || out.Resolution.Complete {
		t.Errorf("unresolved = %q, complete %v; want the size named", got, out.Resolution.Complete)
	}
}
