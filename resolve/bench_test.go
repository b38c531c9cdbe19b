package resolve

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// With every layer cached, resolving a workflow that uses a chain of ten
// composite actions costs no fetch and well under a millisecond. Only a
// trusted owner's tags are cached; any other owner's cost one conditional
// lookup each per run.
func BenchmarkResolveCached10Layers(b *testing.B) {
	gh := newFake()
	chain(gh, 11) // ten composite layers and the JavaScript action at the bottom
	doc := workflowDoc(b, ".github/workflows/ci.yml", steps("acme/a1@v1"))
	r := New(gh, WithTrustedOwners("acme"))
	ctx := context.Background()
	if out, err := r.Resolve(ctx, doc); err != nil || len(out.Uses) != 11 || !out.Resolution.Complete {
		b.Fatalf("warm-up: %v", err)
	}
	calls := gh.calls()
	for b.Loop() {
		if _, err := r.Resolve(ctx, doc); err != nil {
			b.Fatal(err)
		}
	}
	if gh.calls() != calls {
		b.Fatalf("cached runs fetched %d times", gh.calls()-calls)
	}
}

// With an empty cache and a GitHub that answers after 50 ms, twenty
// distinct actions of one level are fetched in parallel: a tag lookup and a
// metadata read each, so about two round trips in all (100 ms), not forty.
func BenchmarkResolveCold20Actions(b *testing.B) {
	gh := newFake()
	gh.delay = 50 * time.Millisecond
	var refs []string
	for i := range 20 {
		ref := fmt.Sprintf("acme/action%d@v1", i)
		gh.node(ref)
		refs = append(refs, ref)
	}
	doc := workflowDoc(b, ".github/workflows/ci.yml", steps(refs...))
	ctx := context.Background()
	for b.Loop() {
		out, err := New(gh).Resolve(ctx, doc)
		if err != nil {
			b.Fatal(err)
		}
		if out.Resolution.Fetches != 40 || !out.Resolution.Complete {
			b.Fatalf("resolution %+v, want 40 fetches, complete", out.Resolution)
		}
	}
}
