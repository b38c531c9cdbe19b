package store

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"github.com/runpolicy/runpolicy/engine/input"
)

// usage is one action, reusable workflow or docker image a decision's
// input document lists: one inventory row of its run.
type usage struct {
	name, ref, sha, kind, repo, via string
}

// usagesOf reads what the run of a decision log entry used: the input
// document's uses (webhook's decisionLog shape), as summarize found them.
// Uses it cannot read, or a log without an input document (a run not
// judged), used nothing it knows.
func usagesOf(raw json.RawMessage) []usage {
	var uses []input.Use
	if len(raw) == 0 || json.Unmarshal(raw, &uses) != nil {
		return nil
	}
	return usages(uses)
}

// usages lists the distinct actions, reusable workflows and docker images
// of a document, sorted so that concurrent upserts lock inventory rows in
// one order. Local references name paths, not something another
// repository could use, and are left out. A reference seen both directly
// and through another keeps the direct sighting.
func usages(uses []input.Use) []usage {
	seen := map[[3]string]int{}
	var out []usage
	for _, u := range uses {
		x, ok := usageOf(u)
		if !ok {
			continue
		}
		k := [3]string{x.name, x.ref, x.sha}
		if i, dup := seen[k]; dup {
			if x.via == "" {
				out[i].via = ""
			}
			continue
		}
		seen[k] = len(out)
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b usage) int {
		return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.ref, b.ref), strings.Compare(a.sha, b.sha))
	})
	return out
}

// usageOf is the inventory row of one reference: names in lower case, as
// GitHub compares them; the commit it ran at when known (a SHA pin, or the
// resolver's answer for a tag); via, the first reference of the chain
// that led to it.
func usageOf(u input.Use) (usage, bool) {
	x := usage{kind: u.Kind, ref: u.Ref}
	switch u.Kind {
	case input.KindAction, input.KindReusableWorkflow:
		x.name = strings.ToLower(u.Name)
		x.repo = x.name
		if u.Owner != "" && u.Repo != "" {
			x.repo = strings.ToLower(u.Owner + "/" + u.Repo)
		}
	case input.KindDocker:
		x.name = "docker://" + strings.ToLower(u.Name)
		x.repo = x.name
	default:
		return usage{}, false
	}
	if x.name == "" || x.name == "docker://" {
		return usage{}, false
	}
	if u.RefType == input.RefSHA {
		x.sha = u.Ref
	}
	if u.ResolvedSHA != nil && x.sha == "" {
		x.sha = strings.ToLower(*u.ResolvedSHA)
	}
	if len(u.Via) > 0 {
		x.via = u.Via[0]
	}
	return x, true
}
