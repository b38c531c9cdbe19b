package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/internal/oneline"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// CheckRunName is the name of runpolicy's check runs, before the workflow's
// name: "runpolicy / CI".
const CheckRunName = "runpolicy"

// checkRunName names a run's check run after its workflow, so that a
// required check is not ambiguous when several workflows run on one
// commit: the workflow's name, else its file.
func checkRunName(t *target) string {
	name := strings.TrimSpace(t.Name)
	if name == "" {
		name = t.Path
	}
	return CheckRunName + " / " + truncate(oneline.Flatten(name), 200)
}

// Report levels: a report is written once per run attempt, and rewritten
// only by a later decision that must say more.
const (
	levelFindings  = 1 // dry-run findings or warnings, the run goes on
	levelCancelled = 2 // the run was cancelled
)

// report writes the check run and, when comment_on wants one, the comment
// on each pull request of the run: one comment per pull request, which
// later runs update.
func (a *actor) report(ctx context.Context, v *verdict, log *slog.Logger) error {
	t := &v.Run
	level := levelFindings
	if v.Cancel {
		level = levelCancelled
	}
	owner, name := t.owner()
	client := a.clients(t.Installation)
	a.done(ctx, v)
	v.approveRole = a.approveRole
	cr := checkRun(v)
	err := a.once(ctx, v, actionCheckRun, level, log, writer{
		kind: "check_run",
		find: func() (int64, error) {
			// By the run attempt's external id alone: the name of an
			// earlier decision's check run may have fallen back to the
			// file when GitHub did not name the workflow.
			return client.FindCheckRun(ctx, owner, name, t.HeadSHA, "", cr.ExternalID)
		},
		create: func() (int64, error) { return client.CreateCheckRun(ctx, owner, name, cr) },
		update: func(id int64) error { return client.UpdateCheckRun(ctx, owner, name, id, cr) },
	})
	if err != nil {
		return err
	}
	if len(t.PullRequests) == 0 || !a.wantsComment(v) {
		return nil
	}
	body, err := commentBody(a.comment, v)
	if err != nil {
		log.Error("comment template failed; no pull request comment", "err", err)
		return nil
	}
	// In one order for every decision: two waiting on each other's claims
	// (take) would wait for ever.
	prs := append([]int(nil), t.PullRequests...)
	sort.Ints(prs)
	for _, pr := range prs {
		err := a.once(ctx, v, actionComment+strconv.Itoa(pr), level, log, a.commentWriter(ctx, client, owner, name, pr, body, v, log))
		if err != nil {
			return err
		}
	}
	return nil
}

// commentWriter writes the pull request's one comment for a run attempt
// (once, per attempt and level): through writeComment, whichever run of
// the pull request comes first.
func (a *actor) commentWriter(ctx context.Context, client actorClient, owner, name string, pr int, body string, v *verdict, log *slog.Logger) writer {
	write := func() (int64, error) { return a.writeComment(ctx, client, owner, name, pr, body, v, log) }
	return writer{
		kind:   "comment",
		find:   func() (int64, error) { return 0, nil }, // writeComment finds it
		create: write,
		update: func(int64) error { _, err := write(); return err },
	}
}

// actionPullRequestComment is claimed, per pull request (prKey), by the
// decision that creates runpolicy's one comment on it; its ref is the
// comment's id, which every later decision updates. Two runs of a pull
// request judged at once write one comment, not two.
const actionPullRequestComment = "pull_request_comment"

// actionCommentShows is marked, per pull request (prKey), by each
// decision about to write the pull request's comment: its ref is the run
// attempt the comment shows (runRef). A rewrite of an earlier run's
// reports leaves a comment a later run wrote alone.
const actionCommentShows = "pull_request_comment_run"

// runRef names a run attempt in actionCommentShows: "<run id>/<attempt>".
func runRef(t *target) string { return fmt.Sprintf("%d/%d", t.ID, t.Attempt) }

// prKey keys a pull request's actions: no run has id 0.
func prKey(repo string, pr int) store.RunKey {
	return store.RunKey{Repository: repo, RunID: 0, Attempt: pr}
}

// writeComment creates the pull request's comment, or updates it: found by
// the claim's ref, or by its marker when it was written before the claim
// (or by a decision that crashed before completing it).
func (a *actor) writeComment(ctx context.Context, client actorClient, owner, name string, pr int, body string, v *verdict, log *slog.Logger) (int64, error) {
	key := prKey(v.Run.Repository, pr)
	claim, mine, err := a.take(ctx, key, actionPullRequestComment, v.ID, 0, log)
	if err != nil {
		return 0, err
	}
	// Marked before the write: a write that fails is retried, and until
	// then no rewrite of an earlier run's reports may put that run back.
	if err := a.actions.Mark(ctx, key, actionCommentShows, v.ID, runRef(&v.Run)); err != nil {
		return 0, err
	}
	id, _ := strconv.ParseInt(claim.Ref, 10, 64)
	if !mine && id != 0 {
		return id, client.UpdateComment(ctx, owner, name, id, body)
	}
	if id == 0 {
		if id, err = client.FindComment(ctx, owner, name, pr, commentMarker); err != nil {
			return 0, err
		}
	}
	if id == 0 {
		if id, err = client.CreateComment(ctx, owner, name, pr, body); err != nil {
			return 0, err
		}
	} else if err := client.UpdateComment(ctx, owner, name, id, body); err != nil {
		return 0, err
	}
	if mine {
		err = a.actions.Complete(ctx, key, actionPullRequestComment, v.ID, github.FormatID(id))
	}
	return id, err
}

// wantsComment applies comment_on: deny comments on a run stopped, an
// enforced finding or a run not judged, never on dry-run findings or
// warnings alone; findings on any finding too.
func (a *actor) wantsComment(v *verdict) bool {
	switch a.commentOn {
	case CommentOnNever:
		return false
	case CommentOnFindings:
		return v.Cancel || v.Error != nil || len(v.violations()) > 0
	default:
		return v.Cancel || v.Error != nil || v.enforced() > 0
	}
}

// done reads what was done to the run (the cancel's and the force-cancel's
// results) for the report to say exactly that.
func (a *actor) done(ctx context.Context, v *verdict) {
	if !v.Cancel {
		return
	}
	key := v.Run.key()
	if act, err := a.actions.Action(ctx, key, actionCancel); err == nil && act.Done() {
		v.cancelResult = act.Ref
	}
	if act, err := a.actions.Action(ctx, key, actionForceCancel); err == nil && act.Done() {
		v.forceResult = act.Ref
	}
}

// rewrite updates the check run and the comments a verdict's run attempt
// already has, to say what happened since (a force-cancel, an approval):
// only those written, found by the refs their actions recorded, and of
// the comments only those that still show this run attempt, or not known
// to show another: a pull request's one comment shows its latest run's
// report, not an earlier run's news.
func (a *actor) rewrite(ctx context.Context, v *verdict, log *slog.Logger) error {
	t := &v.Run
	owner, name := t.owner()
	client := a.clients(t.Installation)
	key := t.key()
	a.done(ctx, v)
	v.approveRole = a.approveRole
	if act, err := a.actions.Action(ctx, key, actionCheckRun); err == nil && act.Done() {
		if id, _ := strconv.ParseInt(act.Ref, 10, 64); id != 0 {
			if err := client.UpdateCheckRun(ctx, owner, name, id, checkRun(v)); err != nil {
				return err
			}
			a.metrics.reports.WithLabelValues("check_run", "updated").Inc()
		}
	}
	if len(t.PullRequests) == 0 || !a.wantsComment(v) {
		return nil
	}
	body, err := commentBody(a.comment, v)
	if err != nil {
		log.Error("comment template failed; comment not updated", "err", err)
		return nil
	}
	for _, pr := range t.PullRequests {
		act, err := a.actions.Action(ctx, key, actionComment+strconv.Itoa(pr))
		if err != nil || !act.Done() {
			continue
		}
		// A comment written before the marks (or by an older replica)
		// has none: which run it shows is unknown, and it is rewritten,
		// as it was before them.
		shows, err := a.actions.Action(ctx, prKey(t.Repository, pr), actionCommentShows)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err == nil && shows.Ref != runRef(t) {
			log.Info("comment not rewritten: it shows another run of the pull request", "pull_request", pr, "shows", shows.Ref)
			continue
		}
		if id, _ := strconv.ParseInt(act.Ref, 10, 64); id != 0 {
			if err := client.UpdateComment(ctx, owner, name, id, body); err != nil {
				return err
			}
			a.metrics.reports.WithLabelValues("comment", "updated").Inc()
		}
	}
	log.Info("report rewritten", "decision_id", v.ID)
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
	_, err = a.actions.Raise(ctx, key, action, v.ID, level)
	return err
}

// checkRun builds the check run of a verdict: what was done, each finding
// by section with a link to its line, the warnings, and annotations at the
// workflow file's lines. A cancelled run whose enforced findings are all
// approvable offers the approve action.
func checkRun(v *verdict) github.CheckRun {
	t := &v.Run
	violations := v.violations()
	cr := github.CheckRun{Name: checkRunName(t), HeadSHA: t.HeadSHA, Conclusion: conclusion(v), Title: headline(v),
		ExternalID: fmt.Sprintf("run-%d-attempt-%d", t.ID, t.Attempt)}
	var b strings.Builder
	b.WriteString(whatWasDone(v) + "\n\n")
	fmt.Fprintf(&b, "Workflow %s at %s.\n\n", workflowText(t), mdCode(short(t.HeadSHA)))
	if v.Error != nil {
		fmt.Fprintf(&b, "The run could not be judged (%s): %s\n\n`on_error` is `%s`.\n\n", v.Error.Code, mdCell(v.Error.Message), v.Error.OnError)
	}
	for _, sec := range sections(v) {
		fmt.Fprintf(&b, "### %s\n\n| Policy | %s | Where |\n|---|---|---|\n", sec.title, sec.noun)
		for _, f := range sec.findings {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", f.PolicyLink, mdCell(f.Message), f.Where)
		}
		b.WriteString("\n")
	}
	if note := approvalText(v); note != "" {
		b.WriteString(note + "\n\n")
	}
	fmt.Fprintf(&b, "Decision `%s`, policy bundles %s.\n", v.ID, revisions(v.Revisions))
	cr.Summary = truncate(b.String(), 60000)
	if v.approvable() && (v.approval == nil || v.approval.Approver == "") {
		cr.Actions = []*gh.CheckRunAction{{Label: approveLabel, Description: approveDescription, Identifier: approveIdentifier}}
	}
	for _, x := range append(violations, v.warnings()...) {
		level := "warning"
		switch {
		case x.Enforced():
			level = "failure"
		case x.Mode == "":
			level = "notice" // a warning: never blocks
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

// headline says what was done to the run in one line, as whatWasDone
// says it in full: the check run's title and the comment's heading. A
// run is "cancelled" only when GitHub accepted the cancel or the
// force-cancel.
func headline(v *verdict) string {
	switch {
	case v.approval != nil && v.approval.Approver != "":
		return "Workflow version approved by @" + v.approval.Approver + ", run re-run"
	case v.Cancel:
		why := plural(v.enforced(), "policy violation")
		if v.Error != nil {
			why = "it could not be judged"
		}
		switch {
		case v.forceResult == string(github.CancelAccepted):
			return "Run force-cancelled: " + why
		case v.cancelResult == string(github.CancelAccepted):
			return "Run cancelled: " + why
		case v.cancelResult == string(github.CancelFinished):
			return "Denied: " + why + "; the run was already over"
		default:
			return "Denied: " + why + "; cancel not confirmed"
		}
	case v.Error != nil:
		return "Run not judged (on_error: allow, not cancelled)"
	case len(v.violations()) > 0:
		return fmt.Sprintf("%s (dry run, not cancelled)", plural(len(v.violations()), "policy finding"))
	default:
		return fmt.Sprintf("%s, run not cancelled", plural(len(v.warnings()), "warning"))
	}
}

// conclusion is the check run's: success once approved, failure for a
// denied run, neutral for a run that went on.
func conclusion(v *verdict) string {
	switch {
	case v.approval != nil && v.approval.Approver != "":
		return "success"
	case v.Cancel:
		return "failure"
	}
	return "neutral"
}

// stopped reports a run GitHub confirmed stopping: it accepted the cancel
// or the force-cancel.
func stopped(v *verdict) bool {
	return v.Cancel && (v.cancelResult == string(github.CancelAccepted) || v.forceResult == string(github.CancelAccepted))
}

// workflowText names the workflow in a report: its name and file, or the
// file alone.
func workflowText(t *target) string {
	if t.Name == "" || t.Name == t.Path {
		return mdCode(t.Path)
	}
	return mdCode(t.Name) + " (" + mdCode(t.Path) + ")"
}

// whatWasDone says what runpolicy did to the run, and no more: a cancel
// GitHub accepted, one that found the run over, one not confirmed yet, a
// force-cancel after it; or nothing.
func whatWasDone(v *verdict) string {
	t := &v.Run
	switch {
	case v.Cancel:
		var s string
		switch v.cancelResult {
		case string(github.CancelAccepted):
			s = fmt.Sprintf("runpolicy **cancelled** %s: GitHub accepted the cancel request.", runLink(t))
		case string(github.CancelFinished):
			s = fmt.Sprintf("runpolicy asked GitHub to cancel %s; the run was already over.", runLink(t))
		default:
			s = fmt.Sprintf("runpolicy asked GitHub to cancel %s; GitHub has not confirmed the cancel.", runLink(t))
		}
		switch v.forceResult {
		case "":
		case string(github.CancelAccepted):
			s += " The run kept going after the cancel: runpolicy **force-cancelled** it."
		default:
			s += " The run was over before a force-cancel was needed."
		}
		return s
	case v.Error != nil:
		return fmt.Sprintf("runpolicy could not judge %s and let it go on: nothing was cancelled.", runLink(t))
	case len(v.violations()) > 0:
		return fmt.Sprintf("runpolicy found policy violations in %s. Their policies run in dry-run mode: nothing was cancelled.", runLink(t))
	default:
		return fmt.Sprintf("runpolicy let %s go on: nothing was cancelled. It has warnings about what it could not see.", runLink(t))
	}
}

// Finding is a finding as a report shows it: the violation, its policy as
// a link to the policy's documentation when runpolicy has one, and where
// it is, linked to its line at the head commit.
type Finding struct {
	engine.Violation
	// PolicyLink is the policy's name in a code span, linked to its
	// documentation for a built-in policy.
	PolicyLink string
	// Where is the job, step, line and reference, the line linked; Link is
	// that link alone ("" when the finding has no line).
	Where string
	Link  string
}

// Sections of a report.
const (
	sectionEnforced = iota
	sectionDryRun
	sectionWarnings
)

type section struct {
	kind        int
	title, noun string
	findings    []Finding
}

// sections groups a verdict's findings: enforced, dry-run, warnings.
func sections(v *verdict) []section {
	var enforced, dry, warn []Finding
	for _, x := range v.violations() {
		if x.Enforced() {
			enforced = append(enforced, finding(&v.Run, x))
		} else {
			dry = append(dry, finding(&v.Run, x))
		}
	}
	for _, x := range v.warnings() {
		warn = append(warn, finding(&v.Run, x))
	}
	var out []section
	if len(enforced) > 0 {
		title := "Findings that stopped the run"
		if !stopped(v) {
			title = "Enforced findings"
		}
		out = append(out, section{sectionEnforced, title, "Finding", enforced})
	}
	if len(dry) > 0 {
		out = append(out, section{sectionDryRun, "Dry-run findings (reported, not enforced)", "Finding", dry})
	}
	if len(warn) > 0 {
		out = append(out, section{sectionWarnings, "Warnings (never block)", "Warning", warn})
	}
	return out
}

func finding(t *target, x engine.Violation) Finding {
	f := Finding{Violation: x, PolicyLink: policyLink(x.Policy), Link: lineURL(t, x.Line)}
	f.Where = where(x, f.Link)
	return f
}

// builtinPolicies have a section of policies/README.md.
var builtinPolicies = map[string]bool{"compromised_actions": true, "impostor_commits": true, "vulnerable_actions": true,
	"secret_exfiltration": true, "allowed_actions": true, "runner_labels": true, "harden_runner": true, "workflow_syntax": true}

// policiesDoc is the built-in policies' documentation, each policy a
// section of it (with a before-and-after fix).
const policiesDoc = "https://github.com/runpolicy/runpolicy/blob/main/policies/README.md"

func policyLink(policy string) string {
	if builtinPolicies[policy] {
		return fmt.Sprintf("[%s](%s#%s)", mdCode(policy), policiesDoc, policy)
	}
	return mdCode(policy)
}

// lineURL links a line of the workflow file at the head commit, on the
// server the run's URL names; "" without a line.
func lineURL(t *target, line int) string {
	if line < 1 || t.Path == "" || t.HeadSHA == "" {
		return ""
	}
	server := "https://github.com"
	if i := strings.Index(t.URL, "/"+t.Repository+"/"); i > 0 && strings.HasPrefix(t.URL, "https://") {
		server = t.URL[:i]
	}
	var parts []string
	for _, p := range strings.Split(t.Path, "/") {
		parts = append(parts, escapeSegment(p))
	}
	owner, name := t.owner()
	return fmt.Sprintf("%s/%s/%s/blob/%s/%s#L%d", server, escapeSegment(owner), escapeSegment(name),
		escapeSegment(t.HeadSHA), strings.Join(parts, "/"), line)
}

// escapeSegment percent-escapes all but RFC 3986's unreserved characters
// of a path segment: url.PathEscape keeps @, which GitHub would read as
// a mention in a file name the workflow's author chose.
func escapeSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 128 && (alnum(rune(c)) || strings.IndexByte("-._~", c) >= 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func runLink(t *target) string {
	text := fmt.Sprintf("workflow run %d (attempt %d)", t.ID, t.Attempt)
	if t.URL == "" {
		return text
	}
	return fmt.Sprintf("[%s](%s)", text, t.URL)
}

func where(x engine.Violation, link string) string {
	var parts []string
	if x.Job != "" {
		parts = append(parts, "job "+mdCode(x.Job))
	}
	if x.Step != nil {
		parts = append(parts, fmt.Sprintf("step %d", *x.Step+1)) // people count from 1, index from 0
	}
	switch {
	case x.Line > 0 && link != "":
		parts = append(parts, fmt.Sprintf("[line %d](%s)", x.Line, link))
	case x.Line > 0:
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
