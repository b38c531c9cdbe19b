package webhook

import (
	"testing"

	"github.com/runpolicy/runpolicy/engine/input"
)

// Without a resolver the local callees of a run off the default branch are
// not compared: they count as modified, once per path, with the reason.
func TestUncomparedLocalCallees(t *testing.T) {
	src := []byte("on: push\njobs:\n  call:\n    uses: ./.github/workflows/reusable.yml\n    secrets: inherit\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: ./.github/actions/x\n      - uses: ./.github/actions/x\n")
	f, err := input.Parse(".github/workflows/ci.yml", src)
	if err != nil {
		t.Fatal(err)
	}
	c := input.LocalContext(".github/workflows/ci.yml")
	c.Run.IsDefaultBranch, c.Run.Branch = false, "feature"
	sum := f.SHA256
	c.DefaultBranchKnown, c.DefaultBranchSHA256 = true, &sum
	doc := input.Build(f, c)
	uncompared(doc)
	if !doc.Workflow.Modified {
		t.Error("workflow.modified = false, want true")
	}
	var paths []string
	for _, m := range doc.Workflow.ModifiedFiles {
		if m.Change != input.ChangeUnknown || m.Reason != "not compared: resolve is off" || m.SHA256 != nil {
			t.Errorf("modified file %+v, want unknown, not compared", m)
		}
		paths = append(paths, m.Path)
	}
	if len(paths) != 2 || paths[0] != ".github/workflows/reusable.yml" || paths[1] != ".github/actions/x" {
		t.Errorf("modified paths = %q, want the reusable workflow and the action once", paths)
	}
}
