package main

import (
	"errors"
	"fmt"
	"strings"
)

// errNotComposite is returned for an action that is not composite (node,
// docker): it has no steps, so nothing of it is a workflow to judge.
var errNotComposite = errors.New("not a composite action")

// actionWorkflow rewrites a composite action's metadata file (action.yml)
// as the one-job workflow the policies judge, keeping every line where it
// was so findings point into action.yml:
//
//	name: …                       (kept)
//	description:, inputs:, …      (commented out)
//	jobs:                         (was runs:)
//	  action:                     (was using: composite)
//	    steps: …                  (runs.steps, indented two more columns)
//	    runs-on: ubuntu-latest    (appended)
//	on: workflow_call             (appended)
//
// The steps' uses are then references of job "action" like any workflow's.
// When runs.using does not come first in runs:, the line before runs:
// (a commented-out entry) becomes jobs: and runs: becomes action:.
func actionWorkflow(src []byte) ([]byte, error) {
	lines := strings.Split(string(src), "\n")
	type entry struct {
		key        string
		start, end int // lines [start, end)
	}
	var entries []entry
	for i, l := range lines {
		t := strings.TrimRight(l, "\r")
		if t == "" || t[0] == ' ' || t[0] == '\t' || t[0] == '#' || strings.HasPrefix(t, "---") || strings.HasPrefix(t, "...") {
			continue
		}
		k, _, ok := strings.Cut(t, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: not a key of action metadata", i+1)
		}
		if n := len(entries); n > 0 {
			entries[n-1].end = i
		}
		entries = append(entries, entry{key: strings.Trim(strings.TrimSpace(k), `"'`), start: i, end: len(lines)})
	}
	runs := -1
	for i, e := range entries {
		if e.key == "runs" {
			runs = i
		}
	}
	if runs < 0 {
		return nil, errors.New("not action metadata: runs is missing")
	}
	r := entries[runs]
	if rest := strings.TrimSpace(strings.TrimRight(lines[r.start], "\r")[len("runs:"):]); rest != "" && !strings.HasPrefix(rest, "#") {
		return nil, errors.New("runs: written in flow style cannot be judged; write it as a block mapping")
	}
	// The direct children of runs: their indentation is the first one's.
	indent, using, first, steps := -1, -1, -1, false
	usingValue := ""
	for i := r.start + 1; i < r.end; i++ {
		t := strings.TrimRight(lines[i], "\r")
		trimmed := strings.TrimLeft(t, " ")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		n := len(t) - len(trimmed)
		if indent < 0 {
			indent, first = n, i
		}
		if n != indent {
			continue
		}
		k, v, _ := strings.Cut(trimmed, ":")
		switch strings.TrimSpace(k) {
		case "using":
			using = i
			if v, _, _ = strings.Cut(v, " #"); true {
				usingValue = strings.ToLower(strings.Trim(strings.TrimSpace(v), `"'`))
			}
		case "steps":
			steps = true
		}
	}
	if using < 0 {
		return nil, errors.New("not action metadata: runs.using is missing")
	}
	if usingValue != "composite" {
		return nil, fmt.Errorf("%w: runs.using is %q", errNotComposite, usingValue)
	}
	if !steps {
		return nil, errors.New("composite action without runs.steps")
	}
	out := make([]string, len(lines))
	copy(out, lines)
	for _, e := range entries {
		if e.key == "name" || e.key == "runs" {
			continue
		}
		for i := e.start; i < e.end; i++ {
			out[i] = "#" + lines[i]
		}
	}
	for i := r.start + 1; i < r.end; i++ {
		if strings.TrimSpace(lines[i]) != "" {
			out[i] = "  " + lines[i]
		}
	}
	switch {
	case using == first:
		out[r.start] = "jobs:"
		out[using] = "  action:"
	case r.start > 0 && strings.HasPrefix(out[r.start-1], "#") || r.start > 0 && strings.TrimSpace(out[r.start-1]) == "":
		out[r.start-1] = "jobs:"
		out[r.start] = "  action:"
		out[using] = "#" + lines[using]
	default:
		return nil, errors.New("cannot be judged as written: put runs.using first in runs:")
	}
	out = append(out, strings.Repeat(" ", indent+2)+"runs-on: ubuntu-latest", "on: workflow_call", "")
	return []byte(strings.Join(out, "\n")), nil
}

// topLevelKey returns the line index of a top-level key in YAML source, or
// -1: enough to tell action metadata from a workflow on stdin.
func topLevelKey(src []byte, key string) int {
	for i, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(l, key+":") || strings.HasPrefix(l, `"`+key+`":`) || strings.HasPrefix(l, "'"+key+"':") {
			return i
		}
	}
	return -1
}
