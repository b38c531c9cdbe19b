package input

import (
	"slices"
	"strings"
)

// ParseUses splits the value of a `uses:` key into a Use. jobLevel is true
// for jobs.<id>.uses, which always calls a reusable workflow; a step's uses
// names an action, a local action or a docker image. The position fields
// (Job, Step, Line) are left for the caller. Every string is accepted:
// malformed references keep what can be read and never fail, since GitHub,
// not runpolicy, is the judge of what runs.
//
// The fields are what GitHub sees, not what the author typed (Raw keeps
// that): GitHub trims the whitespace around the value (a block scalar
// `uses: |` ends in a line break), reads `@refs/tags/X` and `@refs/heads/X`
// as the ref X, and takes a 40-hex ref in any case as a commit SHA. A
// spelling runpolicy read differently from GitHub would slip past every
// list that names the action.
func ParseUses(raw string, jobLevel bool) Use {
	u := Use{Raw: raw, RefType: RefNone, Via: []string{}, Source: SourceStep}
	if jobLevel {
		u.Source = SourceJob
	}
	s := strings.TrimSpace(raw)
	switch {
	case strings.HasPrefix(s, "docker://"):
		// An image reference holds no whitespace: the runner hands the
		// image to docker on a command line, which drops the whitespace
		// around it, and a reference with whitespace inside cannot be
		// pulled. Without it, a `!docker://` block entry sees the image.
		image := withoutSpace(strings.TrimPrefix(s, "docker://"))
		s = "docker://" + image
		parseDocker(&u, image)
	case strings.HasPrefix(s, "./") || s == ".":
		// A path in the repository at the run's own commit: no ref, no owner.
		// A job-level one is a local reusable workflow; Step is nil then.
		u.Kind = KindLocal
		u.Name = s
		u.Path = strings.TrimPrefix(strings.TrimPrefix(s, "."), "/")
	case strings.HasPrefix(s, SelfRepository):
		parseSelf(&u, s)
	default:
		u.Kind = KindAction
		if jobLevel {
			u.Kind = KindReusableWorkflow
		}
		name, ref, _ := strings.Cut(s, "@")
		// No owner, repository or ref can hold whitespace: GitHub either
		// refuses a reference with some or reads it without (workflow_syntax
		// reports it, see Facts.Unmodeled).
		u.Owner, u.Repo, u.Path = actionName(strings.TrimSpace(name))
		u.Name = strings.Join(slices.DeleteFunc([]string{u.Owner, u.Repo, u.Path}, func(s string) bool { return s == "" }), "/")
		parseRef(&u, withoutSpace(ref))
	}
	u.Names = names(&u, s)
	return u
}

// actionName splits owner/repo[/path] as GitHub's workflow parser does
// (actions/runner, PipelineTemplateConverter): at every / or \, empty
// segments dropped, so tj-actions//changed-files and
// /tj-actions/changed-files name tj-actions/changed-files. Whitespace,
// which no owner or repository name can hold, is dropped from those two; a
// path keeps it, since a directory's name may hold some.
func actionName(name string) (owner, repo, path string) {
	var segments []string
	for _, seg := range strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		if len(segments) < 2 {
			if seg = withoutSpace(seg); seg == "" {
				continue
			}
		}
		segments = append(segments, seg)
	}
	switch len(segments) {
	case 0:
		return "", "", ""
	case 1:
		return segments[0], "", ""
	}
	return segments[0], segments[1], strings.Join(segments[2:], "/")
}

// withoutSpace drops every whitespace character from s.
func withoutSpace(s string) string {
	return strings.Join(strings.Fields(s), "")
}

// SelfRepository starts a self-repository reference (GitHub, July 2026):
// `$/path` is path in the workflow's own repository at the very commit that
// runs, like `./path` but without a checkout.
const SelfRepository = "$/"

// parseSelf reads `$/path[@ref]`. GitHub resolves it at the running commit,
// so it is a local reference, pinned by construction; a ref written after
// it is superfluous (zizmor's unpinned-uses audit reads it the same way)
// and stays only in Raw.
func parseSelf(u *Use, s string) {
	path, _, _ := strings.Cut(strings.TrimPrefix(s, SelfRepository), "@")
	u.Kind = KindLocal
	u.Name = SelfRepository + path
	u.Path = path
	u.Pinned = true
}

// parseRef sets Ref, RefType and Pinned from the ref of an action or
// reusable workflow as GitHub reads it.
func parseRef(u *Use, ref string) {
	qualified := false
	for _, prefix := range []string{"refs/tags/", "refs/heads/"} {
		if r, ok := strings.CutPrefix(ref, prefix); ok {
			ref, qualified = r, true
			break
		}
	}
	switch {
	case !qualified && IsFullSHA(strings.ToLower(ref)):
		u.Ref, u.RefType, u.Pinned = strings.ToLower(ref), RefSHA, true
	case ref != "":
		// A tag or branch, even one named like a SHA after refs/tags/ or
		// refs/heads/: a name can be moved.
		u.Ref, u.RefType = ref, RefTagOrBranch
	}
}

// names lists the lower-case names of a reference (see Use.Names); s is
// the reference without its surrounding whitespace.
func names(u *Use, s string) []string {
	if u.Kind == KindLocal {
		return []string{}
	}
	out := make([]string, 0, 3)
	add := func(n string) {
		if n != "" && (len(out) == 0 || out[len(out)-1] != n) {
			out = append(out, n)
		}
	}
	switch u.Kind {
	case KindDocker:
		raw := strings.ToLower(s)
		add(raw)
		add(dockerImage(raw))
	default:
		add(strings.ToLower(u.Name))
		if u.Repo != "" {
			add(strings.ToLower(u.Name[:len(u.Owner)+1+len(u.Repo)])) // owner/repo
		}
		if u.Owner != "" {
			add(strings.ToLower(u.Owner) + "/*")
		}
	}
	return out
}

// dockerImage drops the digest, then the tag, of a docker:// reference:
// docker://alpine:3.19@sha256:… → docker://alpine. A colon before the last
// slash is a registry port and stays.
func dockerImage(raw string) string {
	image, _, _ := strings.Cut(raw, "@")
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		image = image[:i]
	}
	return image
}

// parseDocker reads image[:tag][@sha256:digest]. Name is the image without
// tag or digest; a digest pins the image, a tag does not.
func parseDocker(u *Use, image string) {
	u.Kind = KindDocker
	name, digest, hasDigest := strings.Cut(image, "@")
	if hasDigest {
		u.Name, u.Ref = name, digest
		if strings.HasPrefix(digest, "sha256:") && isHex(strings.TrimPrefix(digest, "sha256:"), 64) {
			u.RefType, u.Pinned = RefSHA, true
		} else if digest != "" {
			u.RefType = RefTagOrBranch
		}
		return
	}
	// A colon after the last slash separates the tag; one before it is a
	// registry port (localhost:5000/image).
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		u.Name, u.Ref = name[:i], name[i+1:]
		if u.Ref != "" {
			u.RefType = RefTagOrBranch
		}
		return
	}
	u.Name = name
}

// IsFullSHA reports whether ref is a full 40-hex commit SHA in lower case;
// parseRef lower-cases a ref first, since GitHub takes a 40-hex ref in any
// case as a commit.
func IsFullSHA(ref string) bool {
	return isHex(ref, 40)
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
