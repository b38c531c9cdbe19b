package bounded

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadAll(t *testing.T) {
	if b, err := ReadAll(strings.NewReader("12345"), 5); err != nil || string(b) != "12345" {
		t.Fatalf("at the limit: %q, %v", b, err)
	}
	_, err := ReadAll(strings.NewReader("123456"), 5)
	var tooLarge *TooLargeError
	if !errors.As(err, &tooLarge) || err.Error() != "larger than 5 bytes" {
		t.Fatalf("past the limit: %v", err)
	}
	if got := (&TooLargeError{Limit: 64 << 20}).Error(); got != "larger than 64 MiB" {
		t.Errorf("MiB limit reads %q", got)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(file, 3); err != nil || string(b) != "abc" {
		t.Fatalf("file: %q, %v", b, err)
	}
	if _, err := ReadFile(file, 2); err == nil || err.Error() != "larger than 2 bytes" {
		t.Errorf("too large: %v", err)
	}
	if _, err := ReadFile(dir, 10); err == nil || err.Error() != "is a directory" {
		t.Errorf("directory: %v", err)
	}
	_, err := ReadFile(filepath.Join(dir, "missing"), 10)
	if !errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), dir) {
		t.Errorf("missing file: %v (wants ErrNotExist without the path)", err)
	}
	if _, err := ReadFile("/dev/zero", 1<<10); err == nil {
		t.Error("/dev/zero read to its end")
	}
}
