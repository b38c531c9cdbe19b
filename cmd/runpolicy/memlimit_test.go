package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSoftMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v2 := write("memory.max", "1073741824\n")
	unlimited := write("max", "max\n")
	v1Unlimited := write("v1", "9223372036854771712\n")
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		name  string
		files []string
		want  int64
	}{
		{"cgroup v2 limit", []string{v2}, 858993456},
		{"first file that exists", []string{missing, v2}, 858993456},
		{"v2 without a limit", []string{unlimited, v2}, 0},
		{"v1 without a limit", []string{v1Unlimited}, 0},
		{"no cgroup", []string{missing}, 0},
	} {
		if got := softMemoryLimit(tc.files...); got != tc.want {
			t.Errorf("%s: softMemoryLimit = %d, want %d", tc.name, got, tc.want)
		}
	}
}
