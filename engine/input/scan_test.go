package input

import (
	"fmt"
	"math/rand/v2"
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
		"block value":                "a: &x [1]\nb: *x\n",
		"value on the next line":     "a: &x [1]\nb:\n  *x\n",
		"sequence entry":             "a: &x [1]\nb:\n  - *x\n",
		"compact sequence":           "a: &x [1]\nb:\n- - *x\n",
		"flow sequence":              "a: &x [1]\nb: [1,*x]\n",
		"flow mapping value":         "a: &x [1]\nb: {\"k\":*x}\n",
		"flow over lines":            "a: &x [1]\nb: [\n  1,\n  *x ]\n",
		"key":                        "a: &x k\n*x : 1\n",
		"explicit key":               "a: &x k\n? *x\n: 1\n",
		"after a quoted string":      "a: &x [1]\nb: ['s # t',*x]\n",
		"after escaped quotes":       "a: &x [1]\nb: [\"s\\\" # t\",*x]\n",
		"after doubled quotes":       "a: &x [1]\nb: ['it''s # t',*x]\n",
		"after a comment line":       "a: &x [1]\n# *x\nb: *x\n",
		"with tabs":                  "a: &x [1]\nb: [\t*x]\n",
		"after a document marker":    "a: &x [1]\n--- *x\n",
		"alone after a lone CR":      "a: &x [1]\r*x: 1\n",
		"after NEL":                  "a: &x [1]\u0085*x: 1\n",
		"after LS":                   "a: &x [1]\u2028*x: 1\n",
		"after a byte order mark":    "\uFEFF*x: 1\n",
		"NEL before a CRLF":          "a: &x [1]\u0085*x: 1\r\nb: 2\r\n",
		"lone CR after a CRLF":       "a: &x [1]\r\nb: 2\r*x: 1\n",
		"quoted over lines":          "a: &x [1]\nb: [ 'one\n', *x ]\n",
		"double quoted over lines":   "a: &x [1]\nb: [ \"one\n\", *x ]\n",
		"tagged string over lines":   "a: &x [1]\nb: [ !!str 'one\n', *x ]\n",
		"anchored string over line":  "a: &x [1]\nb: [ &y 'one\n', *x ]\n",
		"after a block scalar":       "a: &x [1]\nb:\n  run: |\n    echo\n  c: *x\n",
		"after an empty block":       "a: &x [1]\nb:\n- key: |\n  other: *x\n",
		"after a quoted key's block": "a: &x [1]\nb:\n- \"key\": |\n  other: *x\n",
		"after a folded block":       "a: &x [1]\nb: >-\n    text\n  \nc: *x\n",
		"after an indented block":    "a: &x [1]\nb:\n  c: |1\n    text\n  d: *x\n",
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

// TestSimpleYAMLRandomDocuments checks the promise of simpleYAML on
// generated documents that mix what the scan follows: block and flow
// collections, quoted and block scalars, comments, anchors and aliases.
func TestSimpleYAMLRandomDocuments(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 11))
	pick := func(choices ...string) string { return choices[rnd.IntN(len(choices))] }
	var scalar func(depth int) string
	var node func(indent, depth int) string
	scalar = func(depth int) string {
		switch rnd.IntN(9) {
		case 0:
			return "*a"
		case 1:
			return "&a " + pick("x", "[1, 2]", "'q'")
		case 2:
			return pick(`'it''s # *a'`, `"q \" *a # x"`, `'*a'`)
		case 3:
			return "[" + scalar(depth+1) + ", " + scalar(depth+1) + "]"
		case 4:
			return "{k: " + scalar(depth+1) + ", \"j\":" + scalar(depth+1) + "}"
		case 5:
			return pick("echo *.txt", "a - *b", "x: *y", "${{ secrets.X }}", "!!str *a")
		default:
			return pick("x", "1", "true", "a b c", "'*'", "\"\"")
		}
	}
	node = func(indent, depth int) string {
		pad := strings.Repeat(" ", indent)
		var b strings.Builder
		for i := range 1 + rnd.IntN(3) {
			key := pick("k", "run", "'q k'", "*a", "? x\n"+pad)
			switch rnd.IntN(6) {
			case 0:
				if depth < 4 {
					fmt.Fprintf(&b, "%s%s%d:\n%s", pad, key, i, node(indent+2, depth+1))
					continue
				}
			case 1:
				fmt.Fprintf(&b, "%s%s%d: %s\n%s  %s\n%s  %s\n", pad, key, i, pick("|", ">-", "|2"), pad, scalar(depth), pad, pick("*a", "- x", "'open"))
				continue
			case 2:
				fmt.Fprintf(&b, "%s- %s\n%s- - %s # *a\n", pad, scalar(depth), pad, scalar(depth))
				continue
			}
			fmt.Fprintf(&b, "%s%s%d: %s%s\n", pad, key, i, scalar(depth), pick("", " # c *a", "  "))
		}
		return b.String()
	}
	tried, simple, valid, validSimple := 0, 0, 0, 0
	for range 20_000 {
		src := []byte("a0: &a [x]\n" + node(0, 0))
		tried++
		if simpleYAML(src) {
			simple++
		}
		checkScanSound(t, src)
		var doc yaml.Node
		if yaml.Unmarshal(src, &doc) == nil {
			valid++
			if simpleYAML(src) {
				validSimple++
			}
		}
	}
	// The check means something only if some valid documents pass the scan
	// and some documents do not.
	if validSimple == 0 || simple == tried {
		t.Errorf("simpleYAML was true for %d of %d documents (%d of %d valid ones): the generator does not test both sides", simple, tried, validSimple, valid)
	}
}

func BenchmarkSimpleYAML(b *testing.B) {
	src, err := os.ReadFile(filepath.Join(corpus, "workflows", "databricks__cli__push.yml"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if !simpleYAML(src) {
			b.Fatal("not simple")
		}
	}
}

func BenchmarkCheckBytes(b *testing.B) {
	src, err := os.ReadFile(filepath.Join(corpus, "workflows", "databricks__cli__push.yml"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if err := checkBytes(src); err != nil {
			b.Fatal(err)
		}
	}
}
