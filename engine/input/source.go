package input

import (
	"bytes"
	"sort"
	"unicode/utf8"

	"github.com/rhysd/actionlint"
)

// source maps positions of the parser (1-based line, rune column) to byte
// offsets in the file and back, so that an expression inside a multi-line
// run: script is reported on its own line rather than on the line of run:.
type source struct {
	text       []byte // the caller's bytes, read only while Parse runs
	lineStarts []int  // byte offset of the first byte of each line
	// walk bounds the bytes offset and column step through to count
	// runes: on one long line of a hostile file, each count would start
	// over from the line's start. Once spent, columns count bytes.
	walk int
}

func newSource(src []byte) *source {
	s := &source{text: src, lineStarts: make([]int, 1, bytes.Count(src, []byte("\n"))+1), walk: 4 * MaxWorkflowSize}
	for i := 0; ; {
		n := bytes.IndexByte(src[i:], '\n') // vectorized, unlike a byte loop
		if n < 0 {
			return s
		}
		i += n + 1
		s.lineStarts = append(s.lineStarts, i)
	}
}

// offset returns the byte offset of pos, clamped to the file.
func (s *source) offset(pos *actionlint.Pos) int {
	if pos == nil || pos.Line < 1 {
		return 0
	}
	if pos.Line > len(s.lineStarts) {
		return len(s.text)
	}
	start := s.lineStarts[pos.Line-1]
	off := start
	for col := 1; col < pos.Col && off < len(s.text) && s.text[off] != '\n'; col++ {
		if s.walk <= 0 {
			off = start + pos.Col - 1 // as if the line were ASCII
			break
		}
		_, size := utf8.DecodeRune(s.text[off:])
		off += size
		s.walk -= size
	}
	return min(off, len(s.text))
}

// indexWithin returns the offset of the first sub at or after from, or -1.
// It searches at most *budget bytes and takes them from it: text the file
// does not hold as written (an escape in a quoted scalar) must not make a
// search per expression run to the end of the file.
func (s *source) indexWithin(from int, sub string, budget *int) int {
	if from < 0 || from > len(s.text) || *budget <= 0 {
		return -1
	}
	window := s.text[from:]
	if len(window) > *budget {
		window = window[:*budget]
	}
	i := bytes.Index(window, []byte(sub))
	if i < 0 {
		*budget -= len(window)
		return -1
	}
	*budget -= i + len(sub)
	return from + i
}

// column returns the 1-based rune column of a byte offset.
func (s *source) column(off int) int {
	off = min(max(off, 0), len(s.text))
	before := s.text[s.lineStart(s.line(off)):off]
	if s.walk -= len(before); s.walk < 0 {
		return len(before) + 1 // as if the line were ASCII
	}
	return utf8.RuneCount(before) + 1
}

// line returns the 1-based line of a byte offset.
func (s *source) line(off int) int {
	return sort.Search(len(s.lineStarts), func(i int) bool { return s.lineStarts[i] > off })
}

// lineStart returns the byte offset where a 1-based line starts.
func (s *source) lineStart(line int) int {
	if line < 1 {
		return 0
	}
	if line > len(s.lineStarts) {
		return len(s.text)
	}
	return s.lineStarts[line-1]
}
