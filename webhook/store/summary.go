package store

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/runpolicy/runpolicy/engine/input"
)

// Verdicts of a decision, as the console filters them: Outcome says
// whether the run was let through; the verdict also tells apart the runs
// let through with dry-run findings.
const (
	VerdictAllow  = "allow"   // no finding that counts: nothing enforced, nothing in dry run
	VerdictDryRun = "dry_run" // let through, with dry-run findings only
	VerdictDeny   = "deny"    // an enforced finding
	VerdictError  = "error"   // not judged; on_error decided
)

// summary is what the store indexes of a decision log entry: the columns
// the console filters by, the policies that fired and the actions used.
type summary struct {
	owner, workflow, branch, runEvent, verdict string
	policies                                   []PolicyHit
	uses                                       []usage
}

// PolicyHit is one policy that found something in a decision: its
// strongest mode (enforce, else dry_run) and how many findings it made.
type PolicyHit struct {
	Policy   string `json:"policy"`
	Mode     string `json:"mode"`
	Findings int    `json:"findings"`
}

// usage is one action, reusable workflow or docker image a decision's
// input document lists.
type usage struct {
	name, ref, sha, kind, repo, via string
}

// logShape is the part of a decision log entry (webhook's decisionLog) the
// store reads.
type logShape struct {
	Run *struct {
		WorkflowPath string `json:"workflow_path"`
	} `json:"run"`
	Input *struct {
		Run struct {
			Event  string `json:"event"`
			Branch string `json:"branch"`
		} `json:"run"`
		Workflow struct {
			Path string `json:"path"`
		} `json:"workflow"`
		Uses []input.Use `json:"uses"`
	} `json:"input"`
	Result *struct {
		Violations []struct {
			Policy string `json:"policy"`
			Mode   string `json:"mode"`
		} `json:"violations"`
	} `json:"result"`
}

// summarize reads a decision's log entry. A log that is not a JSON object
// is an error; missing fields leave their part of the summary empty.
func summarize(d Decision) (summary, error) {
	sm := summary{owner: ownerOf(d.Repository), verdict: d.Outcome}
	var l logShape
	if err := json.Unmarshal(d.Log, &l); err != nil {
		return sm, fmt.Errorf("read decision log %s: %w", d.ID, err)
	}
	if l.Run != nil {
		sm.workflow = l.Run.WorkflowPath
	}
	if l.Input != nil {
		sm.branch, sm.runEvent = l.Input.Run.Branch, l.Input.Run.Event
		if sm.workflow == "" {
			sm.workflow = l.Input.Workflow.Path
		}
		sm.uses = usages(l.Input.Uses)
	}
	if l.Result != nil {
		byPolicy := map[string]*PolicyHit{}
		for _, v := range l.Result.Violations {
			h := byPolicy[v.Policy]
			if h == nil {
				h = &PolicyHit{Policy: v.Policy, Mode: v.Mode}
				byPolicy[v.Policy] = h
			}
			h.Findings++
			if v.Mode == "enforce" {
				h.Mode = "enforce"
			}
		}
		for _, h := range byPolicy {
			sm.policies = append(sm.policies, *h)
		}
		slices.SortFunc(sm.policies, func(a, b PolicyHit) int { return strings.Compare(a.Policy, b.Policy) })
		if d.Outcome == OutcomeAllow && len(sm.policies) > 0 {
			sm.verdict = VerdictDryRun
		}
	}
	return sm, nil
}

// ownerOf is the owner of an owner/name repository.
func ownerOf(repository string) string {
	owner, _, _ := strings.Cut(repository, "/")
	return owner
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
		if u.RefType == input.RefSHA {
			x.sha = u.Ref
		}
	case input.KindDocker:
		x.name = "docker://" + strings.ToLower(u.Name)
		x.repo = x.name
		if u.RefType == input.RefSHA {
			x.sha = u.Ref
		}
	default:
		return usage{}, false
	}
	if x.name == "" {
		return usage{}, false
	}
	if u.ResolvedSHA != nil && x.sha == "" {
		x.sha = strings.ToLower(*u.ResolvedSHA)
	}
	if len(u.Via) > 0 {
		x.via = u.Via[0]
	}
	return x, true
}
