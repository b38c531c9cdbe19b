package webhook

import (
	"fmt"
	"strings"
	"text/template"

	"github.com/runpolicy/runpolicy/engine"
)

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
func commentBody(tmpl *template.Template, v *verdict) (string, error) {
	t := &v.Run
	data := CommentData{Repository: t.Repository, RunID: t.ID, RunAttempt: t.Attempt, RunURL: t.URL, Workflow: t.Path,
		HeadSHA: t.HeadSHA, Cancelled: v.Cancel, Violations: v.violations(), DecisionID: v.ID, DeliveryID: v.DeliveryID}
	if v.Error != nil {
		data.Error = v.Error.Message
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("comment template: %w", err)
	}
	return truncate(b.String(), 60000) + "\n" + commentMarker(t), nil
}

func commentMarker(t *target) string {
	return fmt.Sprintf("<!-- runpolicy: run %d attempt %d -->", t.ID, t.Attempt)
}
