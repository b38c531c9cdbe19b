package input

import (
	"reflect"
	"testing"
)

// TestOn checks that every form of on: gives one entry per trigger, each
// filter a list, [] where absent.
func TestOn(t *testing.T) {
	empty := func(line int) *Trigger {
		return &Trigger{Types: []string{}, Branches: []string{}, BranchesIgnore: []string{}, Tags: []string{}, TagsIgnore: []string{},
			Paths: []string{}, PathsIgnore: []string{}, Workflows: []string{}, Line: line}
	}
	with := func(line int, set func(*Trigger)) *Trigger {
		t := empty(line)
		set(t)
		return t
	}
	tests := []struct {
		name, on string
		want     map[string]*Trigger
	}{
		{"string", "on: push", map[string]*Trigger{"push": empty(1)}},
		{"list", "on: [push, pull_request, push]", map[string]*Trigger{"push": empty(1), "pull_request": empty(1)}},
		{"block list", "on:\n  - workflow_dispatch\n  - issues", map[string]*Trigger{"workflow_dispatch": empty(2), "issues": empty(3)}},
		{"map with filters", `on:
  push:
    branches: [main, 'releases/**']
    branches-ignore: [wip]
    tags: v*
    tags-ignore: [v0*]
    paths: ['src/**']
    paths-ignore: ['docs/**']
  pull_request_target:
    types: [opened, synchronize]
  workflow_run:
    workflows: [CI]
    types: completed
  schedule:
    - cron: '0 0 * * *'
  repository_dispatch:
    types: [deploy]
  workflow_call:
  issue_comment:`, map[string]*Trigger{
			"push": with(2, func(t *Trigger) {
				t.Branches, t.BranchesIgnore, t.Tags, t.TagsIgnore = []string{"main", "releases/**"}, []string{"wip"}, []string{"v*"}, []string{"v0*"}
				t.Paths, t.PathsIgnore = []string{"src/**"}, []string{"docs/**"}
			}),
			"pull_request_target": with(9, func(t *Trigger) { t.Types = []string{"opened", "synchronize"} }),
			"workflow_run":        with(11, func(t *Trigger) { t.Workflows, t.Types = []string{"CI"}, []string{"completed"} }),
			"schedule":            empty(14),
			"repository_dispatch": with(16, func(t *Trigger) { t.Types = []string{"deploy"} }),
			"workflow_call":       empty(18),
			"issue_comment":       empty(19),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, tt.on+"\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: make\n")
			if !reflect.DeepEqual(f.On, tt.want) {
				for name, got := range f.On {
					t.Logf("%s: %+v", name, *got)
				}
				t.Errorf("on differs from the want")
			}
			if len(f.On) != len(f.Triggers) {
				t.Errorf("%d entries for triggers %v", len(f.On), f.Triggers)
			}
			for _, name := range f.Triggers {
				if f.On[name] == nil {
					t.Errorf("trigger %s has no entry", name)
				}
			}
		})
	}
}
