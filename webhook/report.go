package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v62/github"

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
func (a *actor) report(ctx context.Context, v *verdict, log *slog.Logger) error {
	t := &v.Run
	level, conclusion := levelFindings, "neutral"
	if v.Cancel {
		level, conclusion = levelCancelled, "failure"
	}
	owner, name := t.owner()
	client := a.clients(t.Installation)
	cr := checkRun(v, conclusion)
	err := a.once(ctx, v, actionCheckRun, level, log, writer{
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
	body, err := commentBody(a.comment, v)
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
		err := a.once(ctx, v, actionComment+strconv.Itoa(pr), level, log, writer{
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
func (a *actor) once(ctx context.Context, v *verdict, action string, level int, log *slog.Logger, w writer) error {
	key := v.Run.key()
	claim, mine, err := a.take(ctx, key, action, v.ID, level, log)
	if err != nil {
		return err
	}
	if mine {
		id, _ := strconv.ParseInt(claim.Ref, 10, 64)
		if id == 0 && !claim.Fresh {
			if id, err = w.find(); err != nil {
				return err
			}
		}
		if id == 0 {
			if id, err = w.create(); err != nil {
				return err
			}
			a.metrics.reports.WithLabelValues(w.kind, "created").Inc()
			log.Info("report written", "report", action, "id", id)
		} else {
			if err := w.update(id); err != nil {
				return err
			}
			a.metrics.reports.WithLabelValues(w.kind, "updated").Inc()
		}
		return a.actions.Complete(ctx, key, action, v.ID, github.FormatID(id))
	}
	if claim.Owner == v.ID || claim.Level >= level {
		return nil // done, saying as much
	}
	id, _ := strconv.ParseInt(claim.Ref, 10, 64)
	if err := w.update(id); err != nil {
		return err
	}
	a.metrics.reports.WithLabelValues(w.kind, "updated").Inc()
	log.Info("report updated", "report", action, "id", id, "previous_decision", claim.Owner)
	_, err = a.actions.Raise(ctx, key, action, level)
	return err
}

// checkRun builds the check run of a verdict: a summary of each violation
// and annotations at the workflow file's lines.
func checkRun(v *verdict, conclusion string) github.CheckRun {
	t := &v.Run
	violations := v.violations()
	cr := github.CheckRun{Name: CheckRunName, HeadSHA: t.HeadSHA, Conclusion: conclusion,
		ExternalID: fmt.Sprintf("run-%d-attempt-%d", t.ID, t.Attempt)}
	switch {
	case v.Error != nil && v.Cancel:
		cr.Title = "Run cancelled: it could not be judged"
	case v.Error != nil:
		cr.Title = "Run not judged (on_error: allow, not cancelled)"
	case v.Cancel:
		cr.Title = fmt.Sprintf("Run cancelled: %s", plural(v.enforced(), "policy violation"))
	default:
		cr.Title = fmt.Sprintf("%s (dry run, not cancelled)", plural(len(violations), "policy finding"))
	}
	var b strings.Builder
	switch {
	case v.Cancel:
		fmt.Fprintf(&b, "runpolicy **cancelled** %s.\n\n", runLink(t))
	case v.Error != nil:
		fmt.Fprintf(&b, "runpolicy could not judge %s and let it go on.\n\n", runLink(t))
	default:
		fmt.Fprintf(&b, "runpolicy found policy violations in %s. Their policies run in dry-run mode: the run was not cancelled.\n\n", runLink(t))
	}
	fmt.Fprintf(&b, "Workflow %s at %s.\n\n", mdCode(t.Path), mdCode(short(t.HeadSHA)))
	if v.Error != nil {
		fmt.Fprintf(&b, "The run could not be judged (%s): %s\n\n`on_error` is `%s`.\n\n", v.Error.Code, mdCell(v.Error.Message), v.Error.OnError)
	}
	if len(violations) > 0 {
		b.WriteString("| Policy | Mode | Finding | Where |\n|---|---|---|---|\n")
		for _, x := range violations {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCode(x.Policy), x.Mode, mdCell(x.Message), where(x))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Decision `%s`, policy bundles %s.\n", v.ID, revisions(v.Revisions))
	cr.Summary = truncate(b.String(), 60000)
	for _, x := range violations {
		level := "warning"
		if x.Enforced() {
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

// revisions lists bundle revisions by name.
func revisions(revs map[string]string) string {
	names := make([]string, 0, len(revs))
	for n := range revs {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		out = append(out, fmt.Sprintf("`%s@%s`", n, revs[n]))
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
