package input

import (
	"slices"

	"github.com/rhysd/actionlint"
)

// triggers returns the sorted names of the events that start the workflow.
func triggers(wf *actionlint.Workflow) []string {
	names := []string{}
	for _, e := range wf.On {
		if e == nil {
			continue
		}
		if h, ok := e.(*actionlint.WebhookEvent); ok && h.Hook == nil {
			continue
		}
		names = append(names, e.EventName())
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// on normalizes on: in each of its forms (an event name, a list of them,
// a mapping of events to their filters) into one entry per trigger, every
// filter a list, [] when absent. An event named twice keeps its first entry.
func on(wf *actionlint.Workflow) map[string]*Trigger {
	out := make(map[string]*Trigger, len(wf.On))
	for _, e := range wf.On {
		if e == nil {
			continue
		}
		if h, ok := e.(*actionlint.WebhookEvent); ok && h.Hook == nil {
			continue
		}
		name := e.EventName()
		if _, ok := out[name]; ok {
			continue
		}
		t := &Trigger{
			Types: []string{}, Branches: []string{}, BranchesIgnore: []string{}, Tags: []string{},
			TagsIgnore: []string{}, Paths: []string{}, PathsIgnore: []string{}, Workflows: []string{},
		}
		var pos *actionlint.Pos
		switch e := e.(type) {
		case *actionlint.WebhookEvent:
			pos = e.Pos
			t.Types = values(e.Types)
			t.Branches = filter(e.Branches)
			t.BranchesIgnore = filter(e.BranchesIgnore)
			t.Tags = filter(e.Tags)
			t.TagsIgnore = filter(e.TagsIgnore)
			t.Paths = filter(e.Paths)
			t.PathsIgnore = filter(e.PathsIgnore)
			t.Workflows = values(e.Workflows)
		case *actionlint.RepositoryDispatchEvent:
			pos = e.Pos
			t.Types = values(e.Types)
		case *actionlint.ScheduledEvent:
			pos = e.Pos
		case *actionlint.WorkflowDispatchEvent:
			pos = e.Pos
		case *actionlint.WorkflowCallEvent:
			pos = e.Pos
		case *actionlint.ImageVersionEvent:
			pos = e.Pos
		}
		if pos != nil {
			t.Line = pos.Line
		}
		out[name] = t
	}
	return out
}

func filter(f *actionlint.WebhookEventFilter) []string {
	if f == nil {
		return []string{}
	}
	return values(f.Values)
}

// values returns the values of strings as written; [] for none.
func values(ss []*actionlint.String) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s != nil {
			out = append(out, s.Value)
		}
	}
	return out
}
