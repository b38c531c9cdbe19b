package input

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestCacheSharesFactsByContent(t *testing.T) {
	src := []byte("on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n")
	edited := append(bytes.Clone(src), "# edited\n"...)
	c := NewCache(8)
	first, err := c.Get("a.yml", src)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		src  []byte
		same bool
	}{
		{"same bytes", "a.yml", src, true},
		{"same bytes at another path", "b.yml", bytes.Clone(src), true},
		{"one byte more", "a.yml", edited, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := c.Get(tt.path, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if (f == first) != tt.same {
				t.Errorf("same facts = %v, want %v", f == first, tt.same)
			}
			if want, _ := Parse(tt.path, tt.src); f.SHA256 != want.SHA256 || len(f.Uses) != len(want.Uses) {
				t.Errorf("cached facts %s differ from Parse's %s", f.SHA256, want.SHA256)
			}
		})
	}
	if c.Len() != 2 {
		t.Errorf("Len = %d, want 2", c.Len())
	}
}

func TestCacheIsBounded(t *testing.T) {
	c := NewCache(2)
	workflow := func(i int) []byte { return fmt.Appendf(nil, "on: push\njobs: {}\n# %d\n", i) }
	first, err := c.Get("w.yml", workflow(0))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if _, err := c.Get("w.yml", workflow(i)); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() != 2 {
		t.Errorf("Len = %d after 3 files, want 2", c.Len())
	}
	again, err := c.Get("w.yml", workflow(0))
	if err != nil {
		t.Fatal(err)
	}
	if again == first {
		t.Error("the least recently used file was not evicted")
	}
}

func TestCacheReturnsParseErrors(t *testing.T) {
	tests := map[string][]byte{
		"alias bomb": aliasBomb(),
		"20 MB":      bytes.Repeat([]byte("# padding\n"), 2<<20),
		"binary":     []byte("on: push\x00\n"),
		"not YAML":   []byte("on: push\njobs: [unclosed\n"),
	}
	c := NewCache(8)
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			_, want := Parse("bad.yml", src)
			for range 2 { // the second time must not find a cached success
				_, err := c.Get("bad.yml", src)
				if err == nil || want == nil || err.Error() != want.Error() {
					t.Fatalf("Get error = %v, want Parse's %v", err, want)
				}
			}
			if c.Len() != 0 {
				t.Errorf("Len = %d, want 0", c.Len())
			}
		})
	}
	if _, err := c.Get("bad.yml", nil); err == nil || !strings.Contains(err.Error(), "empty file") {
		t.Errorf("empty file: err = %v", err)
	}
}
