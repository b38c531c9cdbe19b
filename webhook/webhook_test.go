package webhook

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/github"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestParseSignature(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"action":"requested"}`)
	good := Sign(secret, body)
	for _, tc := range []struct {
		name, header string
		reason       string
		valid        bool
	}{
		{"good", good, "", true},
		{"missing", "", sigMissing, false},
		{"sha1", "sha1=" + strings.Repeat("0", 40), sigMalformed, false},
		{"short", "sha256=abcd", sigMalformed, false},
		{"not hex", "sha256=" + strings.Repeat("z", 64), sigMalformed, false},
		{"upper-case prefix", "SHA256=" + good[7:], sigMalformed, false},
		{"wrong", "sha256=" + strings.Repeat("0", 64), "", false},
	} {
		sum, reason := parseSignature(tc.header)
		if reason != tc.reason {
			t.Errorf("%s: reason %q, want %q", tc.name, reason, tc.reason)
			continue
		}
		if reason == "" && validSignature(secret, body, sum) != tc.valid {
			t.Errorf("%s: valid = %v, want %v", tc.name, !tc.valid, tc.valid)
		}
	}
	sum, _ := parseSignature(good)
	if validSignature([]byte("other"), body, sum) || validSignature(secret, append(body, ' '), sum) {
		t.Error("signature valid for another secret or body")
	}
}

// testDispatcher has the server's handlers, without what they process
// with: enough to route.
func testDispatcher(t *testing.T, policyRepos ...string) *dispatcher {
	t.Helper()
	shared := &runs{}
	d, err := newDispatcher(nil, nil, 5, "test", newDispatchMetrics(), slog.New(slog.DiscardHandler),
		runHandler{shared}, jobHandler{shared}, installationHandler{}, newPushHandler(nil, nil, policyRepos), pingHandler{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWanted(t *testing.T) {
	d := testDispatcher(t, "acme/policies")
	repo := func(name, branch string) *struct {
		FullName      string `json:"full_name"`
		DefaultBranch string `json:"default_branch"`
	} {
		return &struct {
			FullName      string `json:"full_name"`
			DefaultBranch string `json:"default_branch"`
		}{name, branch}
	}
	for _, tc := range []struct {
		event string
		env   envelope
		want  bool
	}{
		{"workflow_run", envelope{Action: "requested"}, true},
		{"workflow_run", envelope{Action: "completed"}, false},
		{"workflow_run", envelope{Action: "in_progress"}, false},
		{"workflow_job", envelope{Action: "queued"}, true},
		{"workflow_job", envelope{Action: "waiting"}, true},
		{"workflow_job", envelope{Action: "completed"}, false},
		{"ping", envelope{}, true},
		{"installation", envelope{Action: "deleted"}, true},
		{"installation_repositories", envelope{Action: "added"}, true},
		{"push", envelope{Ref: "refs/heads/main", Repository: repo("acme/policies", "main")}, true},
		{"push", envelope{Ref: "refs/heads/main", Repository: repo("ACME/Policies", "main")}, true},
		{"push", envelope{Ref: "refs/heads/dev", Repository: repo("acme/policies", "main")}, false},
		{"push", envelope{Ref: "refs/heads/main", Repository: repo("acme/api", "main")}, false},
		{"push", envelope{Ref: "refs/heads/main"}, false},
		{"issues", envelope{Action: "opened"}, false},
	} {
		tc.env.Event = tc.event
		if got := d.wants(tc.env); got != tc.want {
			t.Errorf("wanted(%s %+v) = %v, want %v", tc.event, tc.env, got, tc.want)
		}
	}
}

func TestJSONPayload(t *testing.T) {
	for _, tc := range []struct {
		contentType, body, want string
		fails                   bool
	}{
		{"application/json", `{"a":1}`, `{"a":1}`, false},
		{"", `{"a":1}`, `{"a":1}`, false},
		{"application/x-www-form-urlencoded", "payload=%7B%22a%22%3A1%7D", `{"a":1}`, false},
		{"application/x-www-form-urlencoded; charset=utf-8", "payload=%7B%7D", `{}`, false},
		{"application/x-www-form-urlencoded", "other=1", "", true},
	} {
		got, err := jsonPayload(tc.contentType, []byte(tc.body))
		if (err != nil) != tc.fails || string(got) != tc.want {
			t.Errorf("jsonPayload(%q, %q) = %q, %v", tc.contentType, tc.body, got, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{base: 100 * time.Millisecond, max: time.Second}
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 30: time.Second} {
		for range 20 {
			d := time.Until(b.NextRetry(&rivertype.JobRow{Attempt: attempt}))
			if d < want/2-10*time.Millisecond || d > want+10*time.Millisecond {
				t.Errorf("attempt %d: retry in %s, want between %s and %s", attempt, d, want/2, want)
			}
		}
	}
}

func TestRetryable(t *testing.T) {
	job := &rivertype.JobRow{Attempt: 1, MaxAttempts: 3}
	last := &rivertype.JobRow{Attempt: 3, MaxAttempts: 3}
	rateLimited := fmt.Errorf("cancel: %w", &github.StatusError{Status: http.StatusForbidden, RetryAfter: 2 * time.Second})
	forbidden := fmt.Errorf("cancel: %w", &github.StatusError{Status: http.StatusForbidden})
	unavailable := fmt.Errorf("get: %w", &github.StatusError{Status: http.StatusBadGateway})
	var snooze *rivertype.JobSnoozeError
	var cancel *rivertype.JobCancelError
	for _, tc := range []struct {
		name  string
		err   error
		job   *rivertype.JobRow
		check func(error) bool
		final bool
	}{
		{"nil", nil, job, func(err error) bool { return err == nil }, false},
		{"not ready", errNotReady, job, func(err error) bool { return errors.As(err, &snooze) }, false},
		{"rate limit waits as asked", rateLimited, job, func(err error) bool { return errors.As(err, &snooze) && snooze.Duration >= 2*time.Second }, false},
		{"403 without a rate limit gives up", forbidden, job, func(err error) bool { return errors.As(err, &cancel) }, true},
		{"404 gives up", fmt.Errorf("x: %w", github.ErrNotFound), job, func(err error) bool { return errors.As(err, &cancel) }, true},
		{"502 is retried", unavailable, job, func(err error) bool { return errors.Is(err, unavailable) }, false},
		{"502 on the last attempt is final", unavailable, last, func(err error) bool { return errors.Is(err, unavailable) }, true},
		{"store error is retried", errors.New("database is locked"), job, func(err error) bool { return err != nil && !errors.As(err, &cancel) }, false},
	} {
		next, final := retryable(tc.err, tc.job)
		if !tc.check(next) || final != tc.final {
			t.Errorf("%s: retryable = %v, final %v", tc.name, next, final)
		}
	}
}

func TestRedeliveryChoice(t *testing.T) {
	for code, want := range map[int]bool{0: true, 500: true, 502: true, 503: true, 408: true, 429: true, 200: false, 202: false, 401: false, 400: false, 413: false} {
		if got := worthRedelivering(code); got != want {
			t.Errorf("worthRedelivering(%d) = %v, want %v", code, got, want)
		}
	}
	d := testDispatcher(t)
	for _, tc := range []struct {
		event, action string
		want          bool
	}{
		{"workflow_run", "requested", true}, {"workflow_run", "completed", false},
		{"workflow_job", "queued", true}, {"workflow_job", "in_progress", false},
		{"installation", "created", true}, {"push", "", false}, {"issues", "opened", false}, {"ping", "", false},
	} {
		if got := d.wants(envelope{Event: tc.event, Action: tc.action, listed: true}); got != tc.want {
			t.Errorf("handles(%s, %s) = %v, want %v", tc.event, tc.action, got, tc.want)
		}
	}
}

// sampleVerdict is a cancelled run with an enforced and a dry-run finding.
func sampleVerdict(cancel bool) *verdict {
	step := 2
	v := &verdict{
		ID:        "0b5e2d1c-0000-4000-8000-000000000001",
		Revisions: map[string]string{"builtin": "builtin-abc", "org": "v7"},
		Run: target{Repository: "acme/api", ID: 42, Attempt: 2, HeadSHA: strings.Repeat("a", 40),
			Path: ".github/workflows/ci.yml", URL: "https://github.com/acme/api/actions/runs/42", PullRequests: []int{7}},
		Result: &engine.Decision{Violations: []engine.Violation{
			{Policy: "allowed_actions", Mode: "dry_run", Message: "evil/action@v1 is not | allowed", Job: "build", Step: &step, Uses: "evil/action@v1", Line: 17},
			{Policy: "compromised_actions", Mode: "enforce", Message: "tj-actions/changed-files@v45 is compromised", Job: "build", Step: &step, Uses: "tj-actions/changed-files@v45", Line: 12},
		}},
		Cancel: cancel,
	}
	if cancel {
		v.cancelResult = string(github.CancelAccepted)
	}
	if !cancel { // a run goes on only when nothing is enforced
		v.Result.Violations = v.Result.Violations[:1]
	}
	return v
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n%s", name, got)
	}
}

// sampleVerdicts are the golden reports' verdicts, by golden file suffix:
// a cancel GitHub accepted, dry-run findings, a cancel that found the run
// over, one GitHub has not confirmed, and a cancel with warnings.
func sampleVerdicts() map[string]*verdict {
	over, unconfirmed, warned := sampleVerdict(true), sampleVerdict(true), sampleVerdict(true)
	over.cancelResult = string(github.CancelFinished)
	unconfirmed.cancelResult = refCancelUnconfirmed
	warned.Result.Warnings = []engine.Violation{
		{Policy: "runner_labels", Message: "job build chooses its runner at run time (${{ matrix.os }}): runner_labels cannot judge it from the file, only when the job is queued",
			Job: "build", Line: 9},
		{Policy: "allowed_actions", Message: "job build runs container image ${{ vars.IMAGE }}, which is chosen at run time: allowed_actions cannot judge it from the file",
			Job: "build"},
	}
	return map[string]*verdict{"cancel-true": sampleVerdict(true), "cancel-false": sampleVerdict(false),
		"cancel-over": over, "cancel-unconfirmed": unconfirmed, "warnings": warned}
}

func TestCommentGolden(t *testing.T) {
	tmpl := template.Must(NewCommentTemplate(DefaultCommentTemplate))
	for name, v := range sampleVerdicts() {
		body, err := commentBody(tmpl, v)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(body, commentMarker) {
			t.Errorf("comment lacks the marker: %q", body)
		}
		golden(t, "comment-"+name+".md", body)
	}
	custom, err := NewCommentTemplate("{{range .Violations}}{{.Policy}} {{end}}on {{.Repository}}#{{.RunID}}")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := commentBody(custom, sampleVerdict(true))
	if !strings.HasPrefix(body, "compromised_actions allowed_actions on acme/api#42") { // enforced first
		t.Errorf("custom template: %q", body)
	}
	if _, err := NewCommentTemplate("{{.Nope"); err == nil {
		t.Error("a broken template parsed")
	}
}

func TestCheckRun(t *testing.T) {
	for _, tc := range []struct {
		name       string
		conclusion string
		title      string
		levels     string // annotation level@line, in order
	}{
		{"cancel-true", "failure", "Run cancelled: 1 policy violation", "[failure@12 warning@17]"},
		{"cancel-false", "neutral", "1 policy finding (dry run, not cancelled)", "[warning@17]"},
		{"warnings", "failure", "Run cancelled: 1 policy violation", "[failure@12 warning@17 notice@9 notice@1]"},
	} {
		v := sampleVerdicts()[tc.name]
		cr := checkRun(v)
		if cr.Name != "runpolicy / .github/workflows/ci.yml" || cr.HeadSHA != v.Run.HeadSHA || cr.Conclusion != tc.conclusion || cr.Title != tc.title ||
			cr.ExternalID != "run-42-attempt-2" {
			t.Errorf("check run = %+v", cr)
		}
		var levels []string
		for _, a := range cr.Annotations {
			if a.GetPath() != ".github/workflows/ci.yml" || a.GetTitle() == "" || a.GetStartLine() != a.GetEndLine() {
				t.Errorf("annotation = %+v", a)
			}
			levels = append(levels, fmt.Sprintf("%s@%d", a.GetAnnotationLevel(), a.GetStartLine()))
		}
		if fmt.Sprint(levels) != tc.levels {
			t.Errorf("annotations = %v, want %s (enforced first)", levels, tc.levels)
		}
		golden(t, "check-run-"+tc.name+".md", cr.Summary)
	}
}

// hostileVerdict is a run whose workflow chose its strings to make the
// App post links, HTML and mentions in its reports.
func hostileVerdict() *verdict {
	step := 0
	return &verdict{
		ID:        "0b5e2d1c-0000-4000-8000-000000000002",
		Revisions: map[string]string{"builtin": "builtin-abc"},
		Run: target{Repository: "acme/api", ID: 43, Attempt: 1, HeadSHA: strings.Repeat("b", 40),
			Path: ".github/workflows/`x`|@acme/admins.yml", URL: "https://github.com/acme/api/actions/runs/43", PullRequests: []int{8}},
		Result: &engine.Decision{Violations: []engine.Violation{{
			Policy: "compromised_actions", Mode: "enforce", Job: "build`@acme/admins`[x](https://evil)",
			Message: "@acme/admins [x](https://evil.example/steal) <img src=https://evil.example/t.png> **bold** " +
				"see https://evil.example and www.evil.example, acme/other#12 and #34, cc x.@acme/security\nnext line\u202egnp.exe " +
				"tj-actions/changed-files@v44",
			Uses: "evil/act@v1`<img src=x>`@acme/admins", Step: &step, Line: 3,
		}}},
		Cancel: true,
	}
}

// TestReportEscapesWorkflowStrings: what a workflow author wrote reaches
// the check run and the comment as text: no link, HTML, mention or
// reference GitHub would act on.
func TestReportEscapesWorkflowStrings(t *testing.T) {
	v := hostileVerdict()
	comment, err := commentBody(template.Must(NewCommentTemplate(DefaultCommentTemplate)), v)
	if err != nil {
		t.Fatal(err)
	}
	summary := checkRun(v).Summary
	for name, text := range map[string]string{"comment": comment, "check run": summary} {
		// Outside code spans nothing may read as markup; inside them GitHub reads nothing.
		// The lines with the workflow's strings (the App's own markup is
		// elsewhere); a backslash-escaped character is a literal one: drop both.
		var hostile []string
		for _, line := range strings.Split(text, "\n") {
			if strings.Contains(line, "acme/admins") {
				hostile = append(hostile, line)
			}
		}
		if len(hostile) != 2 {
			t.Errorf("%s: %d lines with the workflow's strings, want 2 (the workflow, its finding)", name, len(hostile))
		}
		// runpolicy's own links (a policy's documentation, a finding's
		// line, its path percent-escaped) are not the workflow's markup.
		own := regexp.MustCompile(`\]\(https://github\.com/(runpolicy/runpolicy/blob/main/policies/README\.md#[a-z_]+|acme/api/actions/runs/[0-9]+|acme/api/blob/[0-9a-f]{40}/[A-Za-z0-9%._~/-]+#L[0-9]+)\)`)
		prose := regexp.MustCompile(`\\.`).ReplaceAllString(own.ReplaceAllString(stripCodeSpans(strings.Join(hostile, "\n")), "]"), "")
		for _, bad := range []string{"@acme/admins", "@acme/security", "](https://evil", "<img", "https://evil", "www.evil",
			"acme/other#12", " #34", "**", "](", "\u202e"} {
			if strings.Contains(prose, bad) {
				t.Errorf("%s has %q outside a code span:\n%s", name, bad, text)
			}
		}
		if strings.Count(text, "\n| ") != strings.Count(text, "|\n")-1 {
			t.Errorf("%s: a table row was split:\n%s", name, text)
		}
		if !strings.Contains(prose, "tj-actions/changed-files@v44") {
			t.Errorf("%s: an action reference was mangled:\n%s", name, text)
		}
	}
	golden(t, "comment-hostile.md", comment)
	golden(t, "check-run-hostile.md", summary)
}

// stripCodeSpans drops the code spans of Markdown text, fences matched by length.
func stripCodeSpans(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '`' || (i > 0 && s[i-1] == '\\') {
			b.WriteByte(s[i])
			i++
			continue
		}
		n := 0
		for i+n < len(s) && s[i+n] == '`' {
			n++
		}
		fence := strings.Repeat("`", n)
		end := strings.Index(s[i+n:], fence)
		for end >= 0 && i+n+end+n < len(s) && s[i+n+end+n] == '`' { // a longer run is not the fence
			next := strings.Index(s[i+n+end+n:], fence)
			if next < 0 {
				end = -1
				break
			}
			end += n + next
		}
		if end < 0 {
			b.WriteString(fence)
			i += n
			continue
		}
		i += n + end + n
	}
	return b.String()
}

func TestMdCode(t *testing.T) {
	for in, want := range map[string]string{
		"build":      "`build`",
		"a`b":        "``a`b``",
		"`x`":        "`` `x` ``",
		"a``b|c":     "```a``b\\|c```",
		"":           "` `",
		"two\nlines": "`two lines`",
	} {
		if got := mdCode(in); got != want {
			t.Errorf("mdCode(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAuthored: what a workflow's author controls fails closed; what
// GitHub, the store or the job's own clock do is on_error's.
func TestAuthored(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		code     string
		authored bool
	}{
		{"unreadable workflow", &evalError{"bad_workflow", errors.New("parse: binary data: NUL byte at offset 3")}, "bad_workflow", true},
		{"unreadable event", &evalError{"bad_payload", errors.New("read run context")}, "bad_payload", true},
		{"evaluation past eval_timeout", &evalError{"eval_timeout", context.DeadlineExceeded}, "eval_timeout", true},
		{"evaluation failing on the document", &evalError{"evaluation_error", errors.New("eval_conflict_error")}, "evaluation_error", true},
		{"workflow file missing", fmt.Errorf("get a/b/x.yml@sha: %w", github.ErrNotFound), "workflow_not_found", true},
		{"file over the fetch limit", fmt.Errorf("resolve references of x.yml: resolving a/b@v1: %w", github.ErrTooLarge), "too_large", true},
		{"GitHub unavailable", &github.StatusError{Status: 502}, "github_unavailable", false},
		{"GitHub refusing the App", &github.StatusError{Status: 403}, "github_error", false},
		{"the job out of time", fmt.Errorf("fetch: %w", context.DeadlineExceeded), "timeout", false},
		{"the store", errors.New("store: save decision: database is locked"), "error", false},
	} {
		if code := errorCode(tc.err); code != tc.code {
			t.Errorf("%s: code %q, want %q", tc.name, code, tc.code)
		}
		if got := authored(tc.err); got != tc.authored {
			t.Errorf("%s: authored %v, want %v", tc.name, got, tc.authored)
		}
		if !tc.authored {
			continue
		}
		d := unreadable(tc.err)
		if d.Allow || len(d.Violations) != 1 || d.Violations[0].Policy != PolicyUnreadable || d.Violations[0].Mode != "enforce" ||
			!strings.Contains(d.Violations[0].Message, "("+tc.code+")") || d.Violations[0].Details["code"] != tc.code {
			t.Errorf("%s: decision %+v; want one enforced runpolicy finding naming %s", tc.name, d, tc.code)
		}
	}
}

// TestReportNotJudged: a run on_error let go is reported as not judged,
// neither cancelled nor as dry-run findings.
func TestReportNotJudged(t *testing.T) {
	v := sampleVerdict(false)
	v.Result, v.Cancel = nil, false
	v.Error = &judgeError{Code: "github_unavailable", Message: "get acme/api/.github/workflows/ci.yml@aaaa: 502 Bad Gateway", OnError: OnErrorAllow}
	cr := checkRun(v)
	if cr.Title != "Run not judged (on_error: allow, not cancelled)" || len(cr.Annotations) != 0 {
		t.Errorf("check run = %+v", cr)
	}
	comment, err := commentBody(template.Must(NewCommentTemplate(DefaultCommentTemplate)), v)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(comment, "dry-run") || strings.Contains(comment, "cancelled before") {
		t.Errorf("comment = %s", comment)
	}
	golden(t, "check-run-not-judged.md", cr.Summary)
	golden(t, "comment-not-judged.md", comment)
}
