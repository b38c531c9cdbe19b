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
	// Workflow is the workflow file; WorkflowName its name ("" when it
	// has none of its own).
	Workflow     string
	WorkflowName string
	HeadSHA      string
	// Cancelled is true when runpolicy denied the run and asked GitHub to
	// cancel it; Stopped only when GitHub accepted the cancel or the
	// force-cancel (not for a run already over, nor for a cancel GitHub
	// has not confirmed).
	Cancelled bool
	Stopped   bool
	// Title says what was done in one line, as the check run's title does
	// ("Run cancelled: 1 policy violation", "Denied: 1 policy violation;
	// the run was already over"); Conclusion is the check run's (failure,
	// success once approved, neutral).
	Title      string
	Conclusion string
	// Done says what runpolicy did to the run, in Markdown: a cancel
	// GitHub accepted, one that found the run over or that GitHub has not
	// confirmed, a force-cancel, or nothing.
	Done string
	// Violations are the findings, enforced ones first.
	Violations []engine.Violation
	// Enforced, DryRun and Warnings are the findings by section, each with
	// its policy's documentation and its line linked (Markdown, made by
	// runpolicy: print them as they are).
	Enforced []Finding
	DryRun   []Finding
	Warnings []Finding
	// Approval says who approved the workflow version, or how it may be
	// approved, in Markdown; "" when it cannot be.
	Approval string
	// Error says why the run could not be judged (on_error decided).
	Error      string
	DecisionID string
	DeliveryID string
}

// DefaultCommentTemplate is the pull request comment unless
// comment_template_file says otherwise.
const DefaultCommentTemplate = `### {{if eq .Conclusion "failure"}}:no_entry:{{else if eq .Conclusion "success"}}:white_check_mark:{{else}}:warning:{{end}} runpolicy: {{.Title}}

{{.Done}} Workflow {{if .WorkflowName}}{{code .WorkflowName}} ({{code .Workflow}}){{else}}{{code .Workflow}}{{end}} at {{code (short .HeadSHA)}}.
{{if .Error}}
The run could not be judged: {{md .Error}}
{{end}}{{if .Enforced}}
**{{if .Stopped}}Findings that stopped the run{{else}}Enforced findings{{end}}**

| Policy | Finding | Where |
|---|---|---|
{{range .Enforced}}| {{.PolicyLink}} | {{md .Message}} | {{.Where}} |
{{end}}{{end}}{{if .DryRun}}
**Dry-run findings** (reported, not enforced)

| Policy | Finding | Where |
|---|---|---|
{{range .DryRun}}| {{.PolicyLink}} | {{md .Message}} | {{.Where}} |
{{end}}{{end}}{{if .Warnings}}
**Warnings** (never block)

| Policy | Warning | Where |
|---|---|---|
{{range .Warnings}}| {{.PolicyLink}} | {{md .Message}} | {{.Where}} |
{{end}}{{end}}{{if .Approval}}
{{.Approval}}
{{end}}
<sub>runpolicy decision {{.DecisionID}}; this comment is updated as later runs of the pull request are judged</sub>`

// NewCommentTemplate parses a comment template with runpolicy's functions:
// md (make text inert Markdown prose, table cells included), code (a
// Markdown code span of any text), short (a commit sha's first 7
// characters) and runlink (a Markdown link to the run). Strings from the
// workflow (.Workflow, .WorkflowName, .Message, .Job, .Uses, .Error) must
// go through md or code: text/template escapes nothing.
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

// commentBody renders the comment and appends the marker that finds the
// pull request's one comment again.
func commentBody(tmpl *template.Template, v *verdict) (string, error) {
	t := &v.Run
	data := CommentData{Repository: t.Repository, RunID: t.ID, RunAttempt: t.Attempt, RunURL: t.URL, Workflow: t.Path,
		HeadSHA: t.HeadSHA, Cancelled: v.Cancel, Stopped: stopped(v), Title: headline(v), Conclusion: conclusion(v), Done: whatWasDone(v), Violations: v.violations(), Approval: approvalText(v),
		DecisionID: v.ID, DeliveryID: v.DeliveryID}
	if t.Name != t.Path {
		data.WorkflowName = t.Name
	}
	for _, sec := range sections(v) {
		switch sec.kind {
		case sectionEnforced:
			data.Enforced = sec.findings
		case sectionDryRun:
			data.DryRun = sec.findings
		case sectionWarnings:
			data.Warnings = sec.findings
		}
	}
	if v.Error != nil {
		data.Error = v.Error.Message
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("comment template: %w", err)
	}
	return truncate(b.String(), 60000) + "\n" + commentMarker, nil
}

// commentMarker finds runpolicy's one comment on a pull request, whichever
// run wrote it last.
const commentMarker = "<!-- runpolicy: pull request report -->"
