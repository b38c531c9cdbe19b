package input

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// aliasBomb is a "billion laughs" document: nine levels of nine aliases
// each, 9^9 (387 million) nodes once expanded, a few hundred bytes on disk.
func aliasBomb() []byte {
	var b strings.Builder
	b.WriteString("on: push\nx0: &a0 [lol]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [", i, i)
		for j := 0; j < 9; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("jobs:\n  j:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        v: *a9\n    steps:\n      - run: echo\n")
	return []byte(b.String())
}

// nested returns a workflow whose matrix value is nested depth levels deep.
func nested(depth int) []byte {
	return []byte("on: push\njobs:\n  j:\n    runs-on: x\n    strategy:\n      matrix:\n        v: " +
		strings.Repeat("[", depth) + strings.Repeat("]", depth) + "\n    steps:\n      - run: echo\n")
}

func TestParseBadInput(t *testing.T) {
	big := bytes.Repeat([]byte("# padding\n"), 2<<20) // 20 MiB
	tests := []struct {
		name  string
		src   []byte
		cause string
	}{
		{"empty", nil, "empty file"},
		{"blank", []byte("  \n\t\n"), "empty file"},
		{"comments only", []byte("# nothing here\n"), "no YAML document"},
		{"not YAML", []byte("on: push\njobs: [unclosed\n"), "not YAML"},
		{"tab indentation", []byte("on: push\njobs:\n\tj: 1\n"), "not YAML"},
		{"scalar", []byte("just a string\n"), "not a workflow: the document is a scalar"},
		{"sequence", []byte("- on\n- jobs\n"), "not a workflow: the document is a sequence"},
		{"mapping without on or jobs", []byte("name: x\nsteps: []\n"), `neither "on" nor "jobs"`},
		{"NUL byte", []byte("on: push\x00\njobs: {}\n"), "binary data: NUL byte at offset 8"},
		{"invalid UTF-8", []byte("on: push\njobs: \xff\xfe\n"), "binary data: not valid UTF-8"},
		{"PNG", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "binary data"},
		{"20 MB", big, "over the limit of 4194304"},
		{"dense structure", bytes.Repeat([]byte("[a,"), MaxYAMLStructure), "too much YAML structure"},
		{"alias bomb", aliasBomb(), "alias bomb"},
		{"recursive alias", []byte("on: push\njobs: &j\n  a: *j\n"), "alias to its own ancestor"},
		{"10,000 levels of flow nesting", nested(10_000), "nested deeper than 100 levels"},
		{"101 levels of nesting", nested(101), "nested deeper than 100 levels"},
		{"10,000 levels of block nesting", []byte("on: push\njobs:\n" + strings.Repeat("- ", 10_000) + "x\n"), "deeper than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("bad.yml", tt.src)
			if err == nil {
				t.Fatalf("Parse returned facts with %d jobs, want an error", len(f.Jobs))
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error has several lines: %q", msg)
			}
			if !strings.HasPrefix(msg, "bad.yml: ") {
				t.Errorf("error %q does not start with the file name", msg)
			}
			if !strings.Contains(msg, tt.cause) {
				t.Errorf("error %q does not say %q", msg, tt.cause)
			}
			if len(msg) > 300 {
				t.Errorf("error is %d bytes long: %.300q", len(msg), msg)
			}
		})
	}
}

// TestParseWithinLimits checks that the limits leave room for real,
// if unusual, workflows.
func TestParseWithinLimits(t *testing.T) {
	tests := map[string][]byte{
		"nesting of 90":       nested(90),
		"anchors and aliases": []byte("on: push\njobs:\n  a: &job\n    runs-on: x\n    steps: [{run: echo}]\n  b: *job\n"),
		"long run script": []byte("on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n" +
			strings.Repeat("          echo 'a line of a long script with no structure at all'\n", 20_000)),
		"only on": []byte("on: push\n"),
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse("ok.yml", src); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func BenchmarkParseBadInput(b *testing.B) {
	inputs := map[string][]byte{
		"alias bomb":   aliasBomb(),
		"nesting":      nested(10_000),
		"20 MB":        bytes.Repeat([]byte("# padding\n"), 2<<20),
		"dense 600 KB": bytes.Repeat([]byte("[a,"), MaxYAMLStructure),
	}
	for name, src := range inputs {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse("bad.yml", src); err == nil {
					b.Fatal("no error")
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, dir := range []string{"workflows", "fixtures"} {
		files, _ := filepath.Glob(filepath.Join(corpus, dir, "*.y*ml"))
		for _, path := range files {
			src, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
	// parallel steps, unmodeled shapes, uses spellings, matrix expansion, images, expressions and permissions
	for _, name := range []string{"parallel-steps.yml", "unmodeled.yml", "uses-spellings.yml", "runs-on-matrix.yml", "images.yml", "injection.yml", "permissions.yml"} {
		src, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add(aliasBomb())
	f.Add([]byte("on: push\njobs:\n  j:\n    runs-on: x\n    steps: [{run: '${{ secrets[ }}'}]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		facts, err := Parse("fuzz.yml", src)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		doc := Build(facts, LocalContext("fuzz.yml"))
		_ = doc.Value()
	})
}

// BenchmarkParseHostileExpressions parses files that are valid YAML but
// built to make reading expressions cost more than their size: every
// expression on one long line with a multi-byte character before it,
// expressions that read thousands of contexts or secrets each. Each must
// stay within a small multiple of a plain file of the same size.
func BenchmarkParseHostileExpressions(b *testing.B) {
	var line bytes.Buffer
	line.WriteString("{on: push, jobs: {j: {runs-on: x, steps: [")
	for i := range 19_000 {
		fmt.Fprintf(&line, `{run: "é${{ a%d == }}"},`, i)
	}
	line.WriteString("]}}}\n")
	wide := func(format string) []byte {
		var src bytes.Buffer
		src.WriteString("on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n")
		for e := 0; src.Len() < MaxWorkflowSize-2*MaxExpressionSize; e++ {
			src.WriteString("      - run: ${{ x")
			for i := 0; i < 1200; i++ {
				fmt.Fprintf(&src, format, e, i)
			}
			src.WriteString(" }}\n")
		}
		return src.Bytes()
	}
	inputs := map[string][]byte{
		"one line":     line.Bytes(),
		"wide context": wide(" || c%d.p%d"),
		"wide secrets": wide(" || secrets.s%d_%d"),
	}
	for name, src := range inputs {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, err := Parse("hostile.yml", src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
