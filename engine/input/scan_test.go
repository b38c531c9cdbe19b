package input

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// TestSimpleYAMLTakesRealWorkflows checks that the byte scan lets the real
// workflows of the corpus skip the measuring decode: that is what makes
// Parse cost about one actionlint.Parse.
func TestSimpleYAMLTakesRealWorkflows(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpus, "workflows", "*.y*ml"))
	if err != nil || len(files) < 40 {
		t.Fatalf("found %d corpus workflows (%v)", len(files), err)
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !simpleYAML(src) {
			t.Errorf("%s: simpleYAML = false, want true", filepath.Base(path))
		}
		checkScanSound(t, src)
	}
}

// TestSimpleYAMLRefusesAliases lists every place a YAML alias can sit: the
// scan must send each of these files to the measuring decode.
func TestSimpleYAMLRefusesAliases(t *testing.T) {
	tests := map[string]string{
		"block value":               "a: &x [1]\nb: *x\n",
		"value on the next line":    "a: &x [1]\nb:\n  *x\n",
		"sequence entry":            "a: &x [1]\nb:\n  - *x\n",
		"compact sequence":          "a: &x [1]\nb:\n- - *x\n",
		"flow sequence":             "a: &x [1]\nb: [1,*x]\n",
		"flow mapping value":        "a: &x [1]\nb: {\"k\":*x}\n",
		"flow over lines":           "a: &x [1]\nb: [\n  1,\n  *x ]\n",
		"key":                       "a: &x k\n*x : 1\n",
		"explicit key":              "a: &x k\n? *x\n: 1\n",
		"after a quoted string":     "a: &x [1]\nb: ['s # t',*x]\n",
		"after escaped quotes":      "a: &x [1]\nb: [\"s\\\" # t\",*x]\n",
		"after doubled quotes":      "a: &x [1]\nb: ['it''s # t',*x]\n",
		"after a comment line":      "a: &x [1]\n# *x\nb: *x\n",
		"with tabs":                 "a: &x [1]\nb: [\t*x]\n",
		"after a document marker":   "a: &x [1]\n--- *x\n",
		"alone after a lone CR":     "a: &x [1]\r*x: 1\n",
		"after NEL":                 "a: &x [1]\u0085*x: 1\n",
		"after LS":                  "a: &x [1]\u2028*x: 1\n",
		"after a byte order mark":   "\uFEFF*x: 1\n",
		"quoted over lines":         "a: &x [1]\nb: [ 'one\n', *x ]\n",
		"double quoted over lines":  "a: &x [1]\nb: [ \"one\n\", *x ]\n",
		"tagged string over lines":  "a: &x [1]\nb: [ !!str 'one\n', *x ]\n",
		"anchored string over line": "a: &x [1]\nb: [ &y 'one\n', *x ]\n",
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			if simpleYAML([]byte(src)) {
				t.Errorf("simpleYAML(%q) = true, want false", src)
			}
		})
	}
}

// TestSimpleYAMLKeepsCommonText checks that text that only looks like an
// alias in scripts, globs and crons does not cost a second decode.
func TestSimpleYAMLKeepsCommonText(t *testing.T) {
	tests := map[string]string{
		"glob in a list":      "on:\n  push:\n    paths: ['src/**', \"*.go\"]\n",
		"cron":                "on:\n  schedule:\n    - cron: '*/5 * * * *'\n",
		"shell":               "jobs:\n  j:\n    steps:\n      - run: |\n          ls *.txt && rm -rf ./out/*\n          echo \"it's\" # done\n",
		"markdown bullets":    "jobs:\n  j:\n    steps:\n      - run: |\n          * one\n          * two\n",
		"expressions":         "jobs:\n  j:\n    if: ${{ github.event_name == 'push' && !cancelled() }}\n",
		"apostrophe in plain": "name: don't panic\non: push\n",
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			if !simpleYAML([]byte(src)) {
				t.Errorf("simpleYAML(%q) = false, want true", src)
			}
			checkScanSound(t, []byte(src))
		})
	}
}

// checkScanSound checks the promise of simpleYAML on src: when it says
// true, the decoded tree has no alias and is no deeper than MaxYAMLDepth.
func checkScanSound(t *testing.T, src []byte) {
	t.Helper()
	if !simpleYAML(src) {
		return
	}
	var doc yaml.Node
	if err := guard(func() error { return yaml.Unmarshal(src, &doc) }); err != nil {
		return // not YAML: actionlint reports it, nothing expands
	}
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n.Kind == yaml.AliasNode {
			t.Fatalf("simpleYAML = true for a file with an alias at line %d: %q", n.Line, src)
		}
		if depth > MaxYAMLDepth {
			t.Fatalf("simpleYAML = true for a file nested deeper than %d at line %d: %.200q", MaxYAMLDepth, n.Line, src)
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(&doc, 1)
}

func FuzzSimpleYAML(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpus, "workflows", "*.y*ml"))
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add(aliasBomb())
	f.Add(nested(99))
	f.Add([]byte("a: &x [1]\nb: [ 'one\n', *x ]\n"))
	f.Add([]byte(strings.Repeat("- ", 60) + "x\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		checkScanSound(t, src)
	})
}
