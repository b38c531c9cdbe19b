package input

import (
	"slices"
	"strings"

	"github.com/rhysd/actionlint"
)

// maxCandidates bounds the runners listed for one job; a runs-on that can
// become more is judged as decided at run time.
const maxCandidates = 1024

// runnerCandidates lists every runner a job can run on (RunsOn.Candidates):
// its runs-on as written, or, when runs-on reads matrix values, one runner
// per distinct value. A label or group an expression decides at run time
// (an input, a matrix value or row given by an expression) stays in its
// runner as the expression's text, beside the literal labels, which are
// still judged, and keeps the job Dynamic; a runner with nothing but such
// values is left out. Dynamic is cleared when every candidate is known.
//
// Labels and group are judged without the whitespace around them: whether
// GitHub matches " self-hosted" to a self-hosted runner it does not say,
// and judging it as self-hosted is safe either way.
func runnerCandidates(ro *RunsOn, r *actionlint.Runner, matrix func() matrixValues) {
	ro.Candidates = []Runner{}
	if r == nil {
		return
	}
	for i, l := range ro.Labels {
		ro.Labels[i] = strings.TrimSpace(l)
	}
	if ro.Group != nil {
		g := strings.TrimSpace(*ro.Group)
		ro.Group = &g
	}
	if !ro.Dynamic {
		if len(ro.Labels) > 0 || ro.Group != nil {
			ro.Candidates = append(ro.Candidates, Runner{Labels: ro.Labels, Group: ro.Group})
		}
		return
	}
	var (
		whole  *template
		labels []template
		group  *template
	)
	if r.LabelsExpr != nil {
		t := readTemplate(r.LabelsExpr.Value)
		whole = &t
	}
	for _, l := range r.Labels {
		if l != nil {
			labels = append(labels, readTemplate(l.Value))
		}
	}
	if r.Group != nil {
		t := readTemplate(r.Group.Value)
		group = &t
	}
	mv := matrix()
	if !mv.known {
		return
	}
	runTime := mv.unsure
	seen := map[string]bool{}
	var out []Runner
	for _, c := range mv.combinations {
		runners, ok := combinationRunners(c, whole, labels, group)
		if !ok {
			return
		}
		for _, rn := range runners {
			if decidedAtRunTime(rn) {
				runTime = true
				if !hasLiteral(rn) {
					continue
				}
			}
			key := strings.Join(rn.Labels, "\x00") + "\x01"
			if rn.Group != nil {
				key += *rn.Group
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			if out = append(out, rn); len(out) > maxCandidates {
				return
			}
		}
	}
	if len(out) == 0 {
		// No combination names a runner: the matrix is not what this
		// reading of it thinks, so the job stays decided at run time.
		return
	}
	ro.Candidates = out
	ro.Dynamic = runTime
}

// combinationRunners returns the runners one combination makes of runs-on;
// several when a value's YAML type is ambiguous, none when runs-on comes
// out empty (GitHub cannot run such a job). A part that cannot be read as
// labels (an object in a label, a group among labels) is kept as written:
// decided at run time. ok is false when there would be more than
// maxCandidates label lists.
func combinationRunners(c combination, whole *template, labels []template, group *template) ([]Runner, bool) {
	choices := [][]string{{}} // alternative label lists
	var groups []*string      // alternative groups; nil: none
	if whole != nil {
		if whole.whole() {
			ls, gs, ok := valueRunner(lookup(c, whole.paths[0]))
			if !ok {
				ls, gs = [][]string{{whole.text}}, nil
			}
			choices, groups = ls, gs
		} else {
			choices = alternatives(whole.renderOr(c))
		}
	}
	for _, t := range labels {
		var next [][]string
		if t.whole() {
			ls, gs, ok := valueRunner(lookup(c, t.paths[0]))
			if !ok || gs != nil {
				ls = [][]string{{t.text}} // a group inside a list of labels is not a label
			}
			next = ls
		} else {
			next = alternatives(t.renderOr(c))
		}
		var ok bool
		if choices, ok = cross(choices, next); !ok {
			return nil, false
		}
	}
	if group != nil {
		groups = nil
		for _, g := range group.renderOr(c) {
			if g = strings.TrimSpace(g); g != "" {
				groups = append(groups, &g)
			}
		}
	}
	if len(groups) == 0 {
		groups = []*string{nil}
	}
	var out []Runner
	for _, ls := range choices {
		for _, g := range groups {
			if len(ls) > 0 || g != nil {
				out = append(out, Runner{Labels: ls, Group: g})
			}
		}
	}
	return out, true
}

// decidedAtRunTime reports whether an expression decides a label or the
// group of a runner.
func decidedAtRunTime(r Runner) bool {
	if r.Group != nil && strings.Contains(*r.Group, "${{") {
		return true
	}
	return slices.ContainsFunc(r.Labels, func(l string) bool { return strings.Contains(l, "${{") })
}

// hasLiteral reports whether a runner names a label or group without an
// expression: something the file decides.
func hasLiteral(r Runner) bool {
	if r.Group != nil && !strings.Contains(*r.Group, "${{") {
		return true
	}
	return slices.ContainsFunc(r.Labels, func(l string) bool { return !strings.Contains(l, "${{") })
}

// valueRunner reads a matrix value that is the whole of runs-on or of one
// label: a label, a list of labels, or a {group, labels} mapping. It
// returns the alternative label lists and groups it can stand for.
func valueRunner(v actionlint.RawYAMLValue) (labels [][]string, groups []*string, ok bool) {
	switch v := v.(type) {
	case nil:
		return [][]string{{}}, nil, true // null: no label
	case *actionlint.RawYAMLString:
		return alternatives(scalarForms(v.Value)), nil, true
	case *actionlint.RawYAMLArray:
		labels = [][]string{{}}
		for _, e := range v.Elems {
			s, isString := e.(*actionlint.RawYAMLString)
			if !isString {
				return nil, nil, false
			}
			if labels, ok = cross(labels, alternatives(scalarForms(s.Value))); !ok {
				return nil, nil, false
			}
		}
		return labels, nil, true
	case *actionlint.RawYAMLObject:
		labels = [][]string{{}}
		for key, p := range v.Props {
			switch key {
			case "labels":
				ls, gs, ok := valueRunner(p)
				if !ok || gs != nil {
					return nil, nil, false
				}
				labels = ls
			case "group":
				s, isString := p.(*actionlint.RawYAMLString)
				if !isString {
					return nil, nil, false
				}
				for _, g := range scalarForms(s.Value) {
					if g = strings.TrimSpace(g); g != "" {
						groups = append(groups, &g)
					}
				}
			default:
				return nil, nil, false
			}
		}
		return labels, groups, true
	}
	return nil, nil, false
}

// alternatives makes each text a one-label list, without the whitespace
// around it (see runsOn); an empty text is no label.
func alternatives(texts []string) [][]string {
	out := make([][]string, 0, len(texts))
	for _, t := range texts {
		if t = strings.TrimSpace(t); t == "" {
			out = append(out, []string{})
		} else {
			out = append(out, []string{t})
		}
	}
	return out
}

// cross appends every list of b to every list of a; ok is false when that
// makes more than maxCandidates lists.
func cross(a, b [][]string) (out [][]string, ok bool) {
	if len(a)*len(b) > maxCandidates {
		return nil, false
	}
	out = make([][]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, append(append(make([]string, 0, len(x)+len(y)), x...), y...))
		}
	}
	return out, true
}

// appendRunnerLabels appends the labels a job can run on: those written
// without an expression, and those of every candidate.
func appendRunnerLabels(labels []string, ro RunsOn) []string {
	for _, l := range ro.Labels {
		if !actionlint.ContainsExpression(l) {
			labels = append(labels, l)
		}
	}
	for _, c := range ro.Candidates {
		for _, l := range c.Labels {
			if !strings.Contains(l, "${{") {
				labels = append(labels, l)
			}
		}
	}
	return labels
}
