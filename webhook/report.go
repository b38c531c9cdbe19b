package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"unicode"

	gh "github.com/google/go-github/v62/github"
	"github.com/riverqueue/river/rivertype"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/github"
)

// CheckRunName is the name of the check run on the head commit.
const CheckRunName = "runpolicy"

// Report levels: a report is written once per run attempt, and rewritten
// only by a later decision that must say more.
const (
	levelFindings  = 1 // dry-run findings, the run goes on
	levelCancelled = 2 // the run was cancelled
)

// report writes the check run and one comment on each pull request of the
// run, once per run attempt.
func (s *Server) report(ctx context.Context, job *rivertype.JobRow, v *verdict, log *slog.Logger) error {
	t := v.log.Run
	level, conclusion := levelFindings, "neutral"
	if v.Cancel {
		level, conclusion = levelCancelled, "failure"
	}
	owner, name := t.owner()
	client := s.app.Installation(t.Installation)
	cr := s.checkRun(v, conclusion)
	err := s.once(ctx, job, v, actionCheckRun, level, log, writer{
		kind: "check_run",
		find: func() (int64, error) {
			return client.FindCheckRun(ctx, owner, name, t.HeadSHA, CheckRunName, cr.ExternalID)
		},
		create: func() (int64, error) { return client.CreateCheckRun(ctx, owner, name, cr) },
		update: func(id int64) error { return client.UpdateCheckRun(ctx, owner, name, id, cr) },
	})
	if err != nil {
		return err
	}
	if len(t.PullRequests) == 0 {
		return nil
	}
	body, err := s.commentBody(v)
	if err != nil {
		log.Error("comment template failed; no pull request comment", "err", err)
		return nil
	}
	marker := commentMarker(t)
	// In one order for every decision: two waiting on each other's claims
	// (take) would wait for ever.
	prs := append([]int(nil), t.PullRequests...)
	sort.Ints(prs)
	for _, pr := range prs {
		err := s.once(ctx, job, v, actionComment+strconv.Itoa(pr), level, log, writer{
			kind:   "comment",
			find:   func() (int64, error) { return client.FindComment(ctx, owner, name, pr, marker) },
			create: func() (int64, error) { return client.CreateComment(ctx, owner, name, pr, body) },
			update: func(id int64) error { return client.UpdateComment(ctx, owner, name, id, body) },
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// writer creates, finds again or updates one thing on GitHub.
type writer struct {
	kind   string
	find   func() (int64, error)
	create func() (int64, error)
	update func(id int64) error
}

// once writes a report at most once per run attempt. The decision that
// claims it creates it (or, after an earlier try that may have created it,
// finds it and updates it); a decision that needs it while another one's
// claim is unfinished waits for it (take); a later decision with a higher
// level updates it.
func (s *Server) once(ctx context.Context, job *rivertype.JobRow, v *verdict, action string, level int, log *slog.Logger, w writer) error {
	key := v.key()
	a, mine, err := s.take(ctx, key, action, v.ID, level, log)
	if err != nil {
		return err
	}
	if mine {
		id, _ := strconv.ParseInt(a.Ref, 10, 64)
		if id == 0 && !a.Fresh {
			if id, err = w.find(); err != nil {
				return err
			}
		}
		if id == 0 {
			if id, err = w.create(); err != nil {
				return err
			}
			s.metrics.reports.WithLabelValues(w.kind, "created").Inc()
			log.Info("report written", "report", action, "id", id)
		} else {
			if err := w.update(id); err != nil {
				return err
			}
			s.metrics.reports.WithLabelValues(w.kind, "updated").Inc()
		}
		return s.store.Complete(ctx, key, action, v.ID, github.FormatID(id))
	}
	if a.Owner == v.ID || a.Level >= level {
		return nil // done, saying as much
	}
	id, _ := strconv.ParseInt(a.Ref, 10, 64)
	if err := w.update(id); err != nil {
		return err
	}
	s.metrics.reports.WithLabelValues(w.kind, "updated").Inc()
	log.Info("report updated", "report", action, "id", id, "previous_decision", a.Owner)
	_, err = s.store.Raise(ctx, key, action, level)
	return err
}

func commentMarker(t *target) string {
	return fmt.Sprintf("<!-- runpolicy: run %d attempt %d -->", t.ID, t.Attempt)
}

// checkRun builds the check run of a verdict: a summary of each violation
// and annotations at the workflow file's lines.
func (s *Server) checkRun(v *verdict, conclusion string) github.CheckRun {
	t := v.log.Run
	violations := v.violations()
	cr := github.CheckRun{Name: CheckRunName, HeadSHA: t.HeadSHA, Conclusion: conclusion,
		ExternalID: fmt.Sprintf("run-%d-attempt-%d", t.ID, t.Attempt)}
	enforced := 0
	for _, x := range violations {
		if x.Mode == "enforce" {
			enforced++
		}
	}
	switch {
	case v.log.Error != nil && v.Cancel:
		cr.Title = "Run cancelled: it could not be judged"
	case v.log.Error != nil:
		cr.Title = "Run not judged (on_error: allow, not cancelled)"
	case v.Cancel:
		cr.Title = fmt.Sprintf("Run cancelled: %s", plural(enforced, "policy violation"))
	default:
		cr.Title = fmt.Sprintf("%s (dry run, not cancelled)", plural(len(violations), "policy finding"))
	}
	var b strings.Builder
	switch {
	case v.Cancel:
		fmt.Fprintf(&b, "runpolicy **cancelled** %s.\n\n", runLink(t))
	case v.log.Error != nil:
		fmt.Fprintf(&b, "runpolicy could not judge %s and let it go on.\n\n", runLink(t))
	default:
		fmt.Fprintf(&b, "runpolicy found policy violations in %s. Their policies run in dry-run mode: the run was not cancelled.\n\n", runLink(t))
	}
	fmt.Fprintf(&b, "Workflow %s at %s.\n\n", mdCode(t.Path), mdCode(short(t.HeadSHA)))
	if v.log.Error != nil {
		fmt.Fprintf(&b, "The run could not be judged (%s): %s\n\n`on_error` is `%s`.\n\n", v.log.Error.Code, mdCell(v.log.Error.Message), v.log.Error.OnError)
	}
	if len(violations) > 0 {
		b.WriteString("| Policy | Mode | Finding | Where |\n|---|---|---|---|\n")
		for _, x := range violations {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCode(x.Policy), x.Mode, mdCell(x.Message), where(x))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Decision `%s`, policy bundles %s.\n", v.ID, revisions(v.log.Bundles))
	cr.Summary = truncate(b.String(), 60000)
	for _, x := range violations {
		level := "warning"
		if x.Mode == "enforce" {
			level = "failure"
		}
		line := max(x.Line, 1)
		msg := x.Message
		if x.Uses != "" && !strings.Contains(msg, x.Uses) {
			msg += " (" + x.Uses + ")"
		}
		cr.Annotations = append(cr.Annotations, &gh.CheckRunAnnotation{
			Path: gh.String(t.Path), StartLine: gh.Int(line), EndLine: gh.Int(line),
			AnnotationLevel: gh.String(level), Title: gh.String(x.Policy), Message: gh.String(truncate(msg, 4000)),
		})
	}
	return cr
}

func runLink(t *target) string {
	text := fmt.Sprintf("workflow run %d (attempt %d)", t.ID, t.Attempt)
	if t.URL == "" {
		return text
	}
	return fmt.Sprintf("[%s](%s)", text, t.URL)
}

func where(x engine.Violation) string {
	var parts []string
	if x.Job != "" {
		parts = append(parts, "job "+mdCode(x.Job))
	}
	if x.Step != nil {
		parts = append(parts, fmt.Sprintf("step %d", *x.Step+1)) // people count from 1, index from 0
	}
	if x.Line > 0 {
		parts = append(parts, fmt.Sprintf("line %d", x.Line))
	}
	if x.Uses != "" {
		parts = append(parts, mdCode(x.Uses))
	}
	return strings.Join(parts, ", ")
}

func revisions(b map[string]map[string]string) string {
	names := make([]string, 0, len(b))
	for n := range b {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		out = append(out, fmt.Sprintf("`%s@%s`", n, b[n]["revision"]))
	}
	return strings.Join(out, ", ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

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
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			return unicode.ReplacementChar
		}
		return r
	}, s)
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// CommentData is what the pull request comment template receives.
type CommentData struct {
	Repository string
	RunID      int64
	RunAttempt int
	RunURL     string
	Workflow   string
	HeadSHA    string
	// Cancelled is true when the run was cancelled, false for dry-run findings.
	Cancelled bool
	// Violations are the findings, enforced ones first.
	Violations []engine.Violation
	// Error says why the run could not be judged (on_error decided).
	Error      string
	DecisionID string
	DeliveryID string
}

// DefaultCommentTemplate is the pull request comment unless
// comment_template_file says otherwise.
const DefaultCommentTemplate = `{{if .Cancelled}}### :no_entry: runpolicy cancelled {{runlink .}}{{else if .Error}}### :warning: runpolicy could not judge {{runlink .}}{{else}}### :warning: runpolicy found policy violations in {{runlink .}}{{end}}

{{if .Cancelled}}The run was cancelled before its jobs could do harm.{{else if .Error}}` + "`on_error`" + ` is ` + "`allow`" + `: the run was **not** cancelled.{{else}}These policies run in dry-run mode: the run was **not** cancelled.{{end}} Workflow {{code .Workflow}} at {{code (short .HeadSHA)}}.
{{if .Error}}
The run could not be judged: {{md .Error}}
{{end}}{{if .Violations}}
| Policy | Mode | Finding |
|---|---|---|
{{range .Violations}}| {{code .Policy}} | {{.Mode}} | {{md .Message}}{{if .Job}} (job {{code .Job}}{{if .Line}}, line {{.Line}}{{end}}){{end}} |
{{end}}{{end}}
<sub>runpolicy decision {{.DecisionID}}</sub>`

// NewCommentTemplate parses a comment template with runpolicy's functions:
// md (make text inert Markdown prose, table cells included), code (a
// Markdown code span of any text), short (a commit sha's first 7
// characters) and runlink (a Markdown link to the run). Strings from the
// workflow (.Workflow, .Message, .Job, .Uses, .Error) must go through md
// or code: text/template escapes nothing.
func NewCommentTemplate(text string) (*template.Template, error) {
	return template.New("comment").Funcs(template.FuncMap{
		"md":    mdCell,
		"code":  mdCode,
		"short": short,
		"runlink": func(d CommentData) string {
			return runLink(&target{ID: d.RunID, Attempt: d.RunAttempt, URL: d.RunURL})
		},
	}).Parse(text)
}

// commentBody renders the comment and appends the marker that finds it
// again after a crash.
func (s *Server) commentBody(v *verdict) (string, error) {
	t := v.log.Run
	data := CommentData{Repository: t.Repository, RunID: t.ID, RunAttempt: t.Attempt, RunURL: t.URL, Workflow: t.Path,
		HeadSHA: t.HeadSHA, Cancelled: v.Cancel, Violations: v.violations(), DecisionID: v.ID, DeliveryID: t.deliveryID}
	if v.log.Error != nil {
		data.Error = v.log.Error.Message
	}
	var b strings.Builder
	if err := s.comment.Execute(&b, data); err != nil {
		return "", fmt.Errorf("comment template: %w", err)
	}
	return truncate(b.String(), 60000) + "\n" + commentMarker(t), nil
}
