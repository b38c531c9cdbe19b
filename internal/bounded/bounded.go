// Package bounded reads files and streams up to a size limit, so that a huge
// or endless input (a FIFO, /dev/zero) fails fast with a clear error instead
// of filling memory.
package bounded

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// TooLargeError is an input longer than the limit it was read with.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	if e.Limit >= 1<<20 && e.Limit%(1<<20) == 0 {
		return fmt.Sprintf("larger than %d MiB", e.Limit>>20)
	}
	return fmt.Sprintf("larger than %d bytes", e.Limit)
}

// ReadAll reads r to its end, or fails with a *TooLargeError past limit bytes.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	return b, nil
}

// ReadFile reads the file at path, which must not be a directory, with
// ReadAll's limit. Errors do not repeat the path, so callers name it once.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if pe := (*os.PathError)(nil); errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.IsDir() {
		return nil, errors.New("is a directory")
	}
	return ReadAll(f, limit)
}
