package resolve

import (
	"path"
	"strings"

	"github.com/runpolicy/runpolicy/engine/input"
)

// What a reference points to, as far as the resolver is concerned.
const (
	targetNone     = iota // nothing to fetch: docker image, or not a reference
	targetAction          // action.yml / action.yaml in a directory
	targetWorkflow        // a reusable workflow file
)

// location is a repository at a commit (or, for the command line, a ref).
type location struct {
	owner, repo, ref string
}

func (l location) valid() bool { return l.owner != "" && l.repo != "" && l.ref != "" }

// target is what the resolver fetches for one reference.
type target struct {
	kind              int
	local             bool // read from a location, not from the reference's own repository
	owner, repo, path string
	ref               string // the ref as written, or the location's commit for local references
	invalid           string // set when the reference cannot be followed at all
}

// key identifies the target for cycle detection: the same file at the same ref.
func (t target) key() string {
	return repoKey(t.owner, t.repo) + "/" + t.path + "@" + t.ref
}

// targetOf reads what u points to. Local actions ("./dir") are read from the
// workspace, which is the run's repository at its head commit; local
// reusable workflows are read from the repository and commit of the file
// that calls them (GitHub: "the called workflow is from the same commit as
// the caller workflow"). Self-repository references ("$/dir", actions and
// workflows alike) are read from self, the repository and commit of the
// file that holds the reference (GitHub: "your workflow's own repository at
// the exact commit that is running").
func targetOf(u input.Use, workspace, caller, self location) target {
	raw := strings.TrimSpace(u.Raw)
	isSelf := strings.HasPrefix(raw, input.SelfRepository)
	switch {
	case u.Kind == input.KindDocker || strings.HasPrefix(raw, "docker://"):
		return target{kind: targetNone}
	case strings.Contains(raw, "${{"):
		return target{invalid: "the reference is an expression, which GitHub does not allow in uses"}
	case u.Kind == input.KindLocal || isSelf || strings.HasPrefix(raw, "./") || raw == ".":
		p := strings.TrimPrefix(raw, "./")
		if isSelf {
			// $/path[@ref]: the file's own repository at the commit that
			// runs; GitHub ignores a ref written after it.
			p, _, _ = strings.Cut(strings.TrimPrefix(raw, input.SelfRepository), "@")
		}
		p = path.Clean(p)
		if p == "." {
			p = ""
		}
		if strings.HasPrefix(p, "../") || p == ".." || strings.HasPrefix(p, "/") {
			return target{invalid: "the local path leaves the repository"}
		}
		t := target{kind: targetAction, local: true, path: p}
		from := workspace
		if u.Kind == input.KindReusableWorkflow || isWorkflowPath(p) {
			t.kind, from = targetWorkflow, caller
		}
		if isSelf {
			from = self
		}
		if !from.valid() {
			return target{invalid: "local reference with no repository commit to read it from"}
		}
		t.owner, t.repo, t.ref = from.owner, from.repo, from.ref
		return t
	}
	name, ref, _ := strings.Cut(raw, "@")
	parts := strings.SplitN(name, "/", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return target{invalid: "not an owner/repo[/path]@ref reference"}
	}
	if ref == "" {
		return target{invalid: "the reference has no @ref"}
	}
	if u.RefType == input.RefSHA {
		ref = u.Ref // GitHub takes a SHA in any case; ParseUses wrote it in lower case
	}
	t := target{kind: targetAction, owner: parts[0], repo: parts[1], ref: ref}
	if len(parts) == 3 {
		t.path = strings.Trim(path.Clean(parts[2]), "/")
		if t.path == "." {
			t.path = ""
		}
		if strings.HasPrefix(t.path, "..") {
			return target{invalid: "the path leaves the repository"}
		}
	}
	if u.Kind == input.KindReusableWorkflow || isWorkflowPath(t.path) {
		t.kind = targetWorkflow
	}
	return t
}

// isWorkflowPath reports whether p names a file in .github/workflows, the
// only place GitHub reads reusable workflows from.
func isWorkflowPath(p string) bool {
	return strings.HasPrefix(p, ".github/workflows/") &&
		(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml"))
}
