package input

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// runsOnOf parses a workflow with one job "j" and returns its runs_on.
func runsOnOf(t *testing.T, job string) RunsOn {
	t.Helper()
	f, err := Parse("m.yml", []byte("on: push\njobs:\n  j:\n"+job+"    steps: [{run: 'true'}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	return f.Jobs["j"].RunsOn
}

// labelsOf joins each candidate's labels with "+", and its group after "@".
func labelsOf(ro RunsOn) []string {
	out := []string{}
	for _, c := range ro.Candidates {
		s := strings.Join(c.Labels, "+")
		if c.Group != nil {
			s += "@" + *c.Group
		}
		out = append(out, s)
	}
	return out
}

// GitHub's documented example of include: values are added to every
// combination whose original values they match, added values can be
// overwritten, and an entry matching none is a combination of its own.
// https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#example-expanding-configurations
func TestMatrixIncludeFollowsGitHub(t *testing.T) {
	ro := runsOnOf(t, `    strategy:
      matrix:
        fruit: [apple, pear]
        animal: [cat, dog]
        include:
          - color: green
          - color: pink
            animal: cat
          - fruit: apple
            shape: circle
          - fruit: banana
          - fruit: banana
            animal: cat
    runs-on: "${{ matrix.fruit }}-${{ matrix.animal }}-${{ matrix.color }}-${{ matrix.shape }}"
`)
	want := []string{"apple-cat-pink-circle", "apple-dog-green-circle", "pear-cat-pink-", "pear-dog-green-", "banana---", "banana-cat--"}
	if got := labelsOf(ro); !reflect.DeepEqual(got, want) || ro.Dynamic {
		t.Errorf("candidates = %q (dynamic %v), want %q", got, ro.Dynamic, want)
	}
}

func TestRunnerCandidates(t *testing.T) {
	tests := []struct {
		name    string
		job     string
		want    []string // the candidates
		dynamic bool     // an expression decides a runner at run time
	}{
		{"static", "    runs-on: [self-hosted, linux]\n", []string{"self-hosted+linux"}, false},
		{"row", "    strategy: {matrix: {os: [a, b, a]}}\n    runs-on: ${{ matrix.os }}\n", []string{"a", "b"}, false},
		{"spacing and case", "    strategy: {matrix: {OS: [a]}}\n    runs-on: ${{matrix.Os}}\n", []string{"a"}, false},
		{"index syntax", "    strategy: {matrix: {os: [a]}}\n    runs-on: ${{ matrix['os'] }}\n", []string{"a"}, false},
		{"list value", "    strategy: {matrix: {r: [[self-hosted, gpu]]}}\n    runs-on: ${{ matrix.r }}\n", []string{"self-hosted+gpu"}, false},
		{"label in a list", "    strategy: {matrix: {r: [gpu, cpu]}}\n    runs-on: [self-hosted, '${{ matrix.r }}']\n", []string{"self-hosted+gpu", "self-hosted+cpu"}, false},
		{"group", "    strategy: {matrix: {g: [one]}}\n    runs-on: {group: '${{ matrix.g }}', labels: [x]}\n", []string{"x@one"}, false},
		// 3.10 unquoted is the number 3.1 to GitHub; quoted it is 3.10.
		{"ambiguous number", "    strategy: {matrix: {v: [3.10]}}\n    runs-on: py-${{ matrix.v }}\n", []string{"py-3.10", "py-3.1"}, false},
		{"missing value runs nowhere", "    strategy: {matrix: {t: [a, b], include: [{t: a, os: x}]}}\n    runs-on: ${{ matrix.os }}\n", []string{"x"}, false},
		{"exclude", "    strategy: {matrix: {os: [a, b], exclude: [{os: b}]}}\n    runs-on: ${{ matrix.os }}\n", []string{"a"}, false},
		// Excluding fewer combinations judges more runners, never fewer.
		{"exclude by expression is ignored", "    strategy: {matrix: {os: [a, b], exclude: '${{ fromJSON(inputs.x) }}'}}\n    runs-on: ${{ matrix.os }}\n", []string{"a", "b"}, false},
		// A value an expression decides is not read by this runs-on.
		{"expression in a value runs-on does not read", "    strategy: {matrix: {os: [a], node: ['${{ vars.NODE }}']}}\n    runs-on: ${{ matrix.os }}\n", []string{"a"}, false},
		// Surrounding whitespace is no part of a label or group.
		{"padded label", "    runs-on: [' self-hosted ']\n", []string{"self-hosted"}, false},
		{"padded matrix value", "    strategy: {matrix: {os: [' self-hosted']}}\n    runs-on: ${{ matrix.os }}\n", []string{"self-hosted"}, false},
		{"padded group", "    runs-on: {group: ' evil '}\n", []string{"@evil"}, false},

		// Every literal is judged; what an expression decides keeps the
		// job dynamic.
		{"row mixing literals and an expression", "    strategy: {matrix: {os: [self-hosted, '${{ vars.OS }}']}}\n    runs-on: ${{ matrix.os }}\n", []string{"self-hosted"}, true},
		{"include entries mixing literals and an expression", "    strategy: {matrix: {include: [{os: '${{ vars.OS }}'}, {os: self-hosted}]}}\n    runs-on: ${{ matrix.os }}\n", []string{"self-hosted"}, true},
		{"include entry with an expression", "    strategy: {matrix: {os: [a], include: [{os: '${{ inputs.os }}'}]}}\n    runs-on: ${{ matrix.os }}\n", []string{"a"}, true},
		// Whether the entry matches a value decided at run time is itself
		// decided then: it adds x to a combination or one of its own.
		{"include entry matching a value decided at run time", "    strategy: {matrix: {os: [a, '${{ vars.OS }}'], include: [{os: b, extra: x}]}}\n    runs-on: ['${{ matrix.extra }}', y]\n", []string{"y", "x+y"}, true},
		{"include expression", "    strategy: {matrix: {os: [a], include: '${{ fromJSON(inputs.i) }}'}}\n    runs-on: ${{ matrix.os }}\n", []string{"a"}, true},
		{"include entry given by an expression", "    strategy: {matrix: {os: [a], include: ['${{ fromJSON(inputs.i) }}']}}\n    runs-on: ${{ matrix.os }}\n", []string{"a"}, true},
		{"row expression beside a literal include", "    strategy: {matrix: {os: '${{ fromJSON(inputs.os) }}', include: [{os: self-hosted}]}}\n    runs-on: ${{ matrix.os }}\n", []string{"self-hosted"}, true},
		{"literal label beside a value decided at run time", "    strategy: {matrix: {include: [{os: '${{ vars.OS }}', extra: self-hosted}]}}\n    runs-on: ['${{ matrix.os }}', '${{ matrix.extra }}']\n", []string{"${{ vars.OS }}+self-hosted"}, true},
		{"literal label beside an input", "    strategy: {matrix: {os: [a]}}\n    runs-on: ['${{ matrix.os }}', '${{ inputs.x }}']\n", []string{"a+${{ inputs.x }}"}, true},
		{"literal label beside an input, no matrix", "    runs-on: [self-hosted, '${{ inputs.x }}']\n", []string{"self-hosted+${{ inputs.x }}"}, true},
		{"object in a label", "    strategy: {matrix: {os: [{a: b}]}}\n    runs-on: [x, 'y-${{ matrix.os }}']\n", []string{"x+y-${{ matrix.os }}"}, true},
		{"literal group beside a label decided at run time", "    strategy: {matrix: {l: ['${{ vars.L }}']}}\n    runs-on: {group: g, labels: ['${{ matrix.l }}']}\n", []string{"${{ vars.L }}@g"}, true},

		// Nothing the file decides: no candidate.
		{"matrix expression", "    strategy: {matrix: '${{ fromJSON(needs.a.outputs.m) }}'}\n    runs-on: ${{ matrix.os }}\n", nil, true},
		{"row expression", "    strategy: {matrix: {os: '${{ fromJSON(inputs.os) }}'}}\n    runs-on: ${{ matrix.os }}\n", nil, true},
		{"value with an expression", "    strategy: {matrix: {os: ['${{ inputs.os }}']}}\n    runs-on: ${{ matrix.os }}\n", nil, true},
		{"not only matrix", "    strategy: {matrix: {os: [a]}}\n    runs-on: ${{ matrix.os || 'b' }}\n", nil, true},
		{"other context", "    runs-on: ${{ inputs.runner }}\n", nil, true},
		{"no matrix", "    runs-on: ${{ matrix.os }}\n", nil, true},
		{"unknown key in an object", "    strategy: {matrix: {r: [{group: g, extra: 1}]}}\n    runs-on: ${{ matrix.r }}\n", nil, true},
		// Each ambiguous value doubles the texts: past the bound, dynamic.
		{"too many texts", "    strategy: {matrix: {v: [3.10]}}\n    runs-on: x" + strings.Repeat("${{ matrix.v }}", 11) + "\n", nil, true},
		{"every value empty", "    strategy: {matrix: {t: [a]}}\n    runs-on: ${{ matrix.os }}\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ro := runsOnOf(t, tt.job)
			want := tt.want
			if want == nil {
				want = []string{}
			}
			if got := labelsOf(ro); ro.Dynamic != tt.dynamic || !reflect.DeepEqual(got, want) {
				t.Errorf("got dynamic %v, candidates %q; want dynamic %v, candidates %q", ro.Dynamic, got, tt.dynamic, want)
			}
		})
	}
}

// A matrix larger than GitHub could run is judged as decided at run time
// rather than expanded without bound.
func TestRunnerCandidatesBounded(t *testing.T) {
	var rows strings.Builder
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		rows.WriteString("        " + k + ": [1, 2, 3, 4, 5, 6]\n")
	}
	ro := runsOnOf(t, "    strategy:\n      matrix:\n"+rows.String()+"    runs-on: ${{ matrix.a }}\n")
	if !ro.Dynamic || len(ro.Candidates) != 0 {
		t.Errorf("6^5 combinations: got dynamic %v with %d candidates, want dynamic", ro.Dynamic, len(ro.Candidates))
	}
}

func TestImages(t *testing.T) {
	f, err := Parse("i.yml", []byte(`on: push
jobs:
  j:
    runs-on: ubuntu-latest
    strategy: {matrix: {v: ['1', '2']}}
    container: DOCKER://alpine:${{ matrix.v }}
    services:
      a: {image: 'ghcr.io/x/y@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'}
      b: {image: '${{ inputs.b }}'}
      c: {image: ''}
    steps: [{uses: docker://alpine:3}]
`))
	if err != nil {
		t.Fatal(err)
	}
	type ref struct {
		Raw, Source string
		Step        bool
		Pinned      bool
		Names       []string
	}
	var got []ref
	for _, u := range f.Uses {
		got = append(got, ref{u.Raw, u.Source, u.Step != nil, u.Pinned, u.Names})
	}
	digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	want := []ref{
		{"docker://alpine:1", SourceContainer, false, false, []string{"docker://alpine:1", "docker://alpine"}},
		{"docker://alpine:2", SourceContainer, false, false, []string{"docker://alpine:2", "docker://alpine"}},
		{"docker://ghcr.io/x/y@" + digest, SourceService, false, true, []string{"docker://ghcr.io/x/y@" + digest, "docker://ghcr.io/x/y"}},
		{"docker://alpine:3", SourceStep, true, false, []string{"docker://alpine:3", "docker://alpine"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("uses:\n got %+v\nwant %+v", got, want)
	}
	j := f.Jobs["j"]
	if j.ContainerDynamic {
		t.Error("container from matrix values the file lists: dynamic, want not")
	}
	if s := j.Services["b"]; s == nil || !s.Dynamic || s.Image != "${{ inputs.b }}" {
		t.Errorf("service b = %+v, want dynamic ${{ inputs.b }}", s)
	}
	if s := j.Services["c"]; s == nil || s.Dynamic {
		t.Errorf("service c with an empty image = %+v, want listed, not dynamic", s)
	}
}

// An image is judged on every literal it can be, and marked dynamic where
// an expression decides it; whitespace around it is no part of it.
func TestImageValues(t *testing.T) {
	tests := []struct {
		name    string
		job     string
		want    []string // the container's reference names
		dynamic bool
	}{
		{"literal", "    container: redis:7\n", []string{"docker://redis:7"}, false},
		{"padded", "    container: {image: ' redis:7 '}\n", []string{"docker://redis:7"}, false},
		{"padded docker://", "    container: 'docker:// redis:7'\n", []string{"docker://redis:7"}, false},
		{"matrix values", "    strategy: {matrix: {i: [redis, ' evil/x']}}\n    container: ${{ matrix.i }}\n", []string{"docker://redis", "docker://evil/x"}, false},
		{"literal beside a value decided at run time", "    strategy: {matrix: {i: [evil/x, '${{ vars.I }}']}}\n    container: ${{ matrix.i }}\n", []string{"docker://evil/x"}, true},
		{"include entries", "    strategy: {matrix: {include: [{i: '${{ vars.I }}'}, {i: evil/x}]}}\n    container: ${{ matrix.i }}\n", []string{"docker://evil/x"}, true},
		{"input", "    container: ${{ inputs.image }}\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("i.yml", []byte("on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n"+tt.job+"    steps: [{run: 'true'}]\n"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range f.Uses {
				if u.Source == SourceContainer {
					got = append(got, u.Names[0])
				}
			}
			if dynamic := f.Jobs["j"].ContainerDynamic; !reflect.DeepEqual(got, tt.want) || dynamic != tt.dynamic {
				t.Errorf("got %q, dynamic %v; want %q, dynamic %v", got, dynamic, tt.want, tt.dynamic)
			}
		})
	}
}

func TestScalarForms(t *testing.T) {
	tests := map[string][]string{
		"ubuntu": {"ubuntu"},
		"18":     {"18"},
		"3.10":   {"3.10", "3.1"},
		"1e3":    {"1e3", "1000"},
		"0x10":   {"0x10", "16"},
		"True":   {"True", "true"},
		"~":      {"~", ""},
		"abc":    {"abc"},
		"1.2.3":  {"1.2.3"},
	}
	for in, want := range tests {
		if got := scalarForms(in); !reflect.DeepEqual(got, want) {
			t.Errorf("scalarForms(%q) = %q, want %q", in, got, want)
		}
	}
}

// A file of many large matrices has a bounded cost: once the file's budget
// is spent, the remaining jobs are judged as decided at run time.
func TestMatrixWorkBounded(t *testing.T) {
	var src strings.Builder
	src.WriteString("on: push\njobs:\n")
	const jobs = 200 // 1,364 units each: the budget runs out near the end
	for i := range jobs {
		fmt.Fprintf(&src, "  j%03d:\n    strategy: {matrix: {a: [1,2,3,4], b: [1,2,3,4], c: [1,2,3,4], d: [1,2,3,4], e: [1,2,3,4]}}\n    runs-on: r-${{ matrix.a }}\n    steps: [{run: x}]\n", i)
	}
	f, err := Parse("big.yml", []byte(src.String()))
	if err != nil {
		t.Fatal(err)
	}
	first, last := f.Jobs["j000"].RunsOn, f.Jobs[fmt.Sprintf("j%03d", jobs-1)].RunsOn
	if first.Dynamic || len(first.Candidates) != 4 {
		t.Errorf("first job: dynamic %v, %d candidates; want 4 candidates", first.Dynamic, len(first.Candidates))
	}
	if !last.Dynamic || len(last.Candidates) != 0 {
		t.Errorf("last job: dynamic %v, %d candidates; want dynamic once the budget is spent", last.Dynamic, len(last.Candidates))
	}
}

// Each ambiguous value doubles the texts a template renders to: past
// maxCandidates, render gives up rather than growing without bound.
func TestRenderBounded(t *testing.T) {
	tmpl, ok := parseTemplate(strings.Repeat("${{ matrix.v }}", 11))
	if !ok {
		t.Fatal("template not parsed")
	}
	c := combination{"v": &actionlint.RawYAMLString{Value: "3.10"}}
	if texts, ok := tmpl.render(c); ok {
		t.Errorf("11 ambiguous values rendered to %d texts, want a refusal", len(texts))
	}
	tmpl, _ = parseTemplate(strings.Repeat("${{ matrix.v }}", 10))
	if texts, ok := tmpl.render(c); !ok || len(texts) != 1024 {
		t.Errorf("10 ambiguous values: %d texts (ok %v), want 1024", len(texts), ok)
	}
}
