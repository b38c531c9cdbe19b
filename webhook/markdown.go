package webhook

import (
	"strings"
	"unicode"

	"github.com/runpolicy/runpolicy/internal/oneline"
)

// zwsp is a zero-width space: placed after an @ or inside a URL's scheme,
// it keeps GitHub from reading a mention or an autolink, and is invisible.
const zwsp = "\u200b"

// mdCell makes text from a workflow (a uses: value, a job name, a policy's
// message quoting them) inert as Markdown prose, on one line and inside a
// table cell too: what would be markup ([links](…), <html>, emphasis,
// code, tables) is backslash-escaped; an @-mention, a #123 or owner/repo#123
// reference and a bare URL get a zero-width space, because GitHub finds
// those in the rendered text, after escapes; control and bidirectional
// formatting characters are replaced. A workflow cannot make the App post
// a link or ping a team.
func mdCell(s string) string {
	var b strings.Builder
	var prev rune
	for i, r := range s {
		switch {
		case r == '\r':
			continue
		case r == '\n' || r == '\t':
			b.WriteByte(' ')
		case r == '_' && alnum(prev) && i+1 < len(s) && alnum(rune(s[i+1])):
			b.WriteRune(r) // within a word (snake_case) it is no emphasis
		case strings.ContainsRune("\\`*_[]<>|~&", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '@' && !alnum(prev):
			b.WriteString("@" + zwsp)
		case r == '#' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			b.WriteString("#" + zwsp)
		case r == ':' && strings.HasPrefix(s[i:], "://"):
			b.WriteString(":" + zwsp)
		case r == '.' && i >= 3 && strings.EqualFold(s[i-3:i], "www"):
			b.WriteString(zwsp + ".")
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			b.WriteRune(unicode.ReplacementChar)
		default:
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}

func alnum(r rune) bool { return r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) }

// mdCode puts text from a workflow in a Markdown code span, where GitHub
// reads no markup, mention or link: the fence is longer than any run of
// backticks inside, and pipes are escaped for table cells.
func mdCode(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return unicode.ReplacementChar
		}
		return r
	}, oneline.Flatten(s))
	s = strings.ReplaceAll(s, "|", `\|`)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if s == "" {
		return "` `"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
