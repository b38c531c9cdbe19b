package input

import "strings"

// ParseUses splits the value of a `uses:` key into a Use. jobLevel is true
// for jobs.<id>.uses, which always calls a reusable workflow; a step's uses
// names an action, a local action or a docker image. The position fields
// (Job, Step, Line) are left for the caller. Every string is accepted:
// malformed references keep what can be read and never fail, since GitHub,
// not runpolicy, is the judge of what runs.
func ParseUses(raw string, jobLevel bool) Use {
	u := Use{Raw: raw, RefType: RefNone, Via: []string{}, Source: SourceStep}
	if jobLevel {
		u.Source = SourceJob
	}
	switch {
	case strings.HasPrefix(raw, "docker://"):
		parseDocker(&u, strings.TrimPrefix(raw, "docker://"))
	case strings.HasPrefix(raw, "./") || raw == ".":
		// A path in the repository at the run's own commit: no ref, no owner.
		// A job-level one is a local reusable workflow; Step is nil then.
		u.Kind = KindLocal
		u.Name = raw
		u.Path = strings.TrimPrefix(strings.TrimPrefix(raw, "."), "/")
	default:
		u.Kind = KindAction
		if jobLevel {
			u.Kind = KindReusableWorkflow
		}
		name, ref, _ := strings.Cut(raw, "@")
		u.Name = name
		u.Ref = ref
		u.Owner, u.Repo, _ = strings.Cut(name, "/")
		u.Repo, u.Path, _ = strings.Cut(u.Repo, "/")
		switch {
		case isFullSHA(ref):
			u.RefType, u.Pinned = RefSHA, true
		case ref != "":
			u.RefType = RefTagOrBranch
		}
	}
	u.Names = names(&u)
	return u
}

// names lists the lower-case names of a reference (see Use.Names).
func names(u *Use) []string {
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
		raw := strings.ToLower(u.Raw)
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

// isFullSHA reports whether ref is a full 40-hex commit SHA. Only lower case
// counts: that is how git prints SHAs, and an upper-case "SHA" could be a
// branch name.
func isFullSHA(ref string) bool {
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
