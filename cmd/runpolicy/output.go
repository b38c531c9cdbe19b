package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/internal/oneline"
)

// report is what every printer may use besides the results.
type report struct {
	// policies describes the loaded policies from their METADATA.
	policies map[string]engine.PolicyInfo
	// repoRoot is the checkout SARIF URIs are relative to; empty means
	// each file's git top level.
	repoRoot string
}

// printers render eval results by --format.
var printers = map[string]func(io.Writer, []result, report) error{
	"text":   printText,
	"json":   printJSON,
	"sarif":  printSARIF,
	"github": printGitHub,
}

// formats names the --format values for usage and errors.
const formats = "text, json, sarif or github"

// printText writes one line per finding, file:line first so editors and
// terminals link it, then the workflow's line with the finding marked, as
// compilers do, and a summary line a person reads at a glance.
func printText(w io.Writer, results []result, _ report) error {
	var denied, enforced, dryRun, warnings int
	for _, r := range results {
		byLine(r.Violations)
		byLine(r.Warnings)
		src := sourceLines(r.src)
		for _, pe := range r.ParseErrors {
			fmt.Fprintf(w, "%s:%d:%d: parse error: %s\n", r.File, pe.Line, pe.Column, printable(pe.Message))
			quote(w, src, pe.Line, pe.Column, 1)
		}
		for _, v := range r.Violations {
			label := "DENY"
			if !v.Enforced() {
				label = "DRY-RUN"
				dryRun++
			} else {
				enforced++
			}
			fmt.Fprintf(w, "%s: %s %s: %s\n", location(r.File, v.Line), label, printable(v.Policy), printable(v.Message))
			col, width := span(src, v)
			quote(w, src, v.Line, col, width)
		}
		for _, v := range r.Warnings {
			warnings++
			fmt.Fprintf(w, "%s: WARN %s: %s\n", location(r.File, v.Line), printable(v.Policy), printable(v.Message))
			col, width := span(src, v)
			quote(w, src, v.Line, col, width)
		}
		if !r.Allow {
			denied++
		}
	}
	verdict := "allowed"
	if denied > 0 {
		verdict = fmt.Sprintf("%d denied", denied)
	}
	_, err := fmt.Fprintf(w, "%s, %s: %s, %s, %s\n",
		plural(len(results), "workflow"), verdict,
		plural(enforced, "enforced violation"), plural(dryRun, "dry-run violation"), plural(warnings, "warning"))
	return err
}

// sourceLines splits the bytes a file was judged on into lines for
// quoting (an action's own lines: actionWorkflow keeps every line in place).
func sourceLines(src []byte) []string {
	if src == nil {
		return nil
	}
	return strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
}

// span finds the 1-based column and width of what a finding is about on
// its line: the uses reference when the line spells it, otherwise the
// line's text after its indentation. 0, 0 when the line is unknown.
func span(src []string, v engine.Violation) (col, width int) {
	if v.Line <= 0 || v.Line > len(src) {
		return 0, 0
	}
	text := src[v.Line-1]
	if v.Uses != "" {
		// The reference itself, not a longer one it begins (a/b@v1 in a/b@v10).
		for off := 0; off < len(text); {
			i := strings.Index(text[off:], v.Uses)
			if i < 0 {
				break
			}
			start, end := off+i, off+i+len(v.Uses)
			if end == len(text) || !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/@", rune(text[end])) {
				return start + 1, len(v.Uses)
			}
			off = start + 1
		}
	}
	trimmed := strings.TrimLeft(text, " \t")
	if trimmed == "" {
		return 0, 0
	}
	trimmed = strings.TrimLeft(trimmed, "- ")
	if trimmed == "" {
		return 0, 0
	}
	i := strings.Index(text, trimmed)
	end := strings.TrimRight(trimmed, " \t")
	return i + 1, len(end)
}

// charSpan is span in characters rather than bytes, as GitHub and SARIF
// (utf16CodeUnits, the same for the text workflows hold) count columns.
func charSpan(src []string, v engine.Violation) (col, width int) {
	col, width = span(src, v)
	if col <= 0 {
		return 0, 0
	}
	text := src[v.Line-1]
	end := min(col-1+width, len(text))
	return utf8.RuneCountInString(text[:col-1]) + 1, utf8.RuneCountInString(text[col-1 : end])
}

// quote prints line n of src under a finding, with carets under width
// bytes from column col (1-based), the way compilers point at code. The
// line is the workflow author's text: control characters are shown as '?'
// so it cannot drive the reader's terminal.
func quote(w io.Writer, src []string, n, col, width int) {
	if n <= 0 || n > len(src) {
		return
	}
	text := src[n-1]
	gutter := strconv.Itoa(n)
	fmt.Fprintf(w, "  %s | %s\n", gutter, printable(text))
	if col <= 0 || col > len(text) {
		return
	}
	end := min(col-1+max(width, 1), len(text))
	pad := utf8.RuneCountInString(text[:col-1])
	carets := max(utf8.RuneCountInString(text[col-1:end]), 1)
	fmt.Fprintf(w, "  %s | %s%s\n", strings.Repeat(" ", len(gutter)), strings.Repeat(" ", pad), strings.Repeat("^", carets))
}

// printable replaces tabs by spaces and other control characters by '?',
// one for one so columns still line up.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case unicode.IsControl(r) || r == utf8.RuneError:
			return '?'
		}
		return r
	}, s)
}

// byLine orders findings as a person reads the file: by line, then policy.
func byLine(vs []engine.Violation) {
	sort.SliceStable(vs, func(i, j int) bool {
		if vs[i].Line != vs[j].Line {
			return vs[i].Line < vs[j].Line
		}
		return vs[i].Policy < vs[j].Policy
	})
}

func location(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func printJSON(w io.Writer, results []result, _ report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}

// printGitHub writes GitHub Actions workflow commands, which the runner
// turns into annotations on the run and the pull request without code
// scanning: enforced violations as errors; dry-run violations and parse
// errors, which do not deny the run, as warnings; warnings as notices.
func printGitHub(w io.Writer, results []result, rep report) error {
	var err error
	emit := func(cmd, file string, line, col int, title, msg string) {
		props := []string{"file=" + escapeProperty(file)}
		if line > 0 {
			props = append(props, "line="+strconv.Itoa(line))
		}
		if col > 0 {
			props = append(props, "col="+strconv.Itoa(col))
		}
		props = append(props, "title="+escapeProperty(title))
		if _, werr := fmt.Fprintf(w, "::%s %s::%s\n", cmd, strings.Join(props, ","), escapeData(msg)); werr != nil && err == nil {
			err = werr
		}
	}
	for _, r := range results {
		byLine(r.Violations)
		byLine(r.Warnings)
		src := sourceLines(r.src)
		file := r.uri(rep.repoRoot)
		for _, pe := range r.ParseErrors {
			emit("warning", file, pe.Line, pe.Column, "runpolicy parse error", pe.Message)
		}
		for _, v := range r.Violations {
			cmd, label := "error", "DENY"
			if !v.Enforced() {
				cmd, label = "warning", "DRY-RUN"
			}
			col, _ := charSpan(src, v)
			emit(cmd, file, v.Line, col, fmt.Sprintf("runpolicy %s %s", label, v.Policy), v.Message)
		}
		for _, v := range r.Warnings {
			col, _ := charSpan(src, v)
			emit("notice", file, v.Line, col, "runpolicy WARN "+v.Policy, v.Message)
		}
	}
	return err
}

// escapeData escapes a workflow command's message as @actions/core's
// escapeData does, so a message cannot end the command or start another.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value as
// @actions/core's escapeProperty does: also ':' and ',', which end a value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// securitySeverity is GitHub code scanning's security-severity (a CVSS-like
// score) of the built-in policies; a policy's METADATA custom.severity
// overrides it and sets it for custom policies.
var securitySeverity = map[string]string{
	"compromised_actions": "9.8", // known-malicious code runs with the job's secrets
	"impostor_commits":    "9.1", // code from a fork posing as the action
	"secret_exfiltration": "8.6",
	"vulnerable_actions":  "7.5",
	"workflow_syntax":     "7.0", // what runpolicy cannot read it cannot judge
	"allowed_actions":     "5.5",
	"runner_labels":       "5.0",
	"harden_runner":       "4.0",
}

// severityScore turns a METADATA severity word or number into a score.
func severityScore(s string) string {
	switch strings.ToLower(s) {
	case "critical":
		return "9.5"
	case "high":
		return "8.0"
	case "medium":
		return "5.5"
	case "low":
		return "3.0"
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f <= 10 {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return ""
}

// sarif types are the subset of SARIF 2.1.0 runpolicy writes.
type (
	sarifMessage struct {
		Text     string `json:"text"`
		Markdown string `json:"markdown,omitempty"`
	}
	sarifRegion struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
		EndColumn   int `json:"endColumn,omitempty"`
	}
	sarifArtifact struct {
		URI       string `json:"uri"`
		URIBaseID string `json:"uriBaseId,omitempty"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           *sarifRegion  `json:"region,omitempty"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
	}
	sarifResult struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             sarifMessage      `json:"message"`
		Locations           []sarifLocation   `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Properties          map[string]any    `json:"properties,omitempty"`
	}
	sarifRule struct {
		ID                   string         `json:"id"`
		Name                 string         `json:"name,omitempty"`
		ShortDescription     sarifMessage   `json:"shortDescription"`
		FullDescription      *sarifMessage  `json:"fullDescription,omitempty"`
		Help                 *sarifMessage  `json:"help,omitempty"`
		HelpURI              string         `json:"helpUri,omitempty"`
		DefaultConfiguration map[string]any `json:"defaultConfiguration,omitempty"`
		Properties           map[string]any `json:"properties,omitempty"`
	}
)

// printSARIF writes SARIF 2.1.0 as GitHub code scanning reads it: one rule
// per policy with help from its METADATA, one result per finding at a path
// relative to the repository root, with a fingerprint that survives edits
// elsewhere in the file so alerts are not reopened on every push.
func printSARIF(w io.Writer, results []result, rep report) error {
	var out []sarifResult
	used := map[string]bool{}
	seen := map[string]int{} // fingerprint → occurrences, to keep them unique
	unique := func(fp string) string {
		seen[fp]++
		if n := seen[fp]; n > 1 {
			fp += ":" + strconv.Itoa(n)
		}
		return fp
	}
	add := func(file, uri string, src []string, v engine.Violation, level, kind string) {
		used[v.Policy] = true
		loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri, URIBaseID: "%SRCROOT%"}}}
		if v.Line > 0 {
			reg := &sarifRegion{StartLine: v.Line}
			if col, width := charSpan(src, v); col > 0 {
				reg.StartColumn, reg.EndColumn = col, col+width
			}
			loc.PhysicalLocation.Region = reg
		}
		fp := unique(fingerprint(v.Policy, uri, v))
		props := map[string]any{"kind": kind}
		if v.Mode != "" {
			props["mode"] = v.Mode
		}
		if v.Job != "" {
			props["job"] = v.Job
		}
		if v.Step != nil {
			props["step"] = *v.Step // the 0-based index, as in --format json
		}
		if v.Uses != "" {
			props["uses"] = v.Uses
		}
		out = append(out, sarifResult{
			RuleID: v.Policy, Level: level, Message: sarifMessage{Text: v.Message},
			Locations:           []sarifLocation{loc},
			PartialFingerprints: map[string]string{"runpolicyFinding/v1": fp},
			Properties:          props,
		})
	}
	for _, r := range results {
		uri := r.uri(rep.repoRoot)
		src := sourceLines(r.src)
		for _, pe := range r.ParseErrors {
			used[parseErrorRule] = true
			reg := &sarifRegion{StartLine: max(pe.Line, 1), StartColumn: pe.Column}
			fp := unique(fingerprint(parseErrorRule, uri, engine.Violation{Message: pe.Message}))
			out = append(out, sarifResult{
				RuleID: parseErrorRule, Level: "warning", Message: sarifMessage{Text: pe.Message},
				Locations:           []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri, URIBaseID: "%SRCROOT%"}, Region: reg}}},
				PartialFingerprints: map[string]string{"runpolicyFinding/v1": fp},
				Properties:          map[string]any{"kind": "parse_error"},
			})
		}
		for _, v := range r.Violations {
			level, kind := "error", "violation"
			if !v.Enforced() {
				level, kind = "warning", engine.ModeDryRun
			}
			add(r.File, uri, src, v, level, kind)
		}
		for _, v := range r.Warnings {
			add(r.File, uri, src, v, "note", "warning")
		}
	}
	// Every loaded policy is a rule, so code scanning can close the alerts
	// of a policy that stopped finding anything.
	for name := range rep.policies {
		used[name] = true
	}
	ids := make([]string, 0, len(used))
	for id := range used {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	index := map[string]int{}
	rules := make([]sarifRule, 0, len(ids))
	for i, id := range ids {
		index[id] = i
		rules = append(rules, sarifRuleFor(id, rep.policies[id]))
	}
	for i := range out {
		out[i].RuleIndex = index[out[i].RuleID]
	}
	if out == nil {
		out = []sarifResult{}
	}
	doc := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{
				"name": "runpolicy", "informationUri": "https://github.com/runpolicy/runpolicy", "rules": rules,
			}},
			"automationDetails": map[string]any{"id": "runpolicy/"},
			"results":           out,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// parseErrorRule is the SARIF rule of actionlint's parse errors, which
// eval reports beside the policies' findings without denying the run.
const parseErrorRule = "parse_error"

// sarifRuleFor describes a policy as a SARIF rule from its METADATA.
func sarifRuleFor(id string, p engine.PolicyInfo) sarifRule {
	if id == parseErrorRule {
		d := "The workflow does not follow GitHub's workflow syntax where actionlint reports it; runpolicy judged what it could read."
		return sarifRule{
			ID: id, Name: ruleName(id), ShortDescription: sarifMessage{Text: "Workflow parse error"},
			FullDescription:      &sarifMessage{Text: d},
			Help:                 &sarifMessage{Text: d},
			HelpURI:              "https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax",
			DefaultConfiguration: map[string]any{"level": "warning"},
			Properties:           map[string]any{"tags": []string{"correctness", "github-actions"}},
		}
	}
	title := p.Title
	if title == "" {
		title = "runpolicy policy " + strings.ReplaceAll(id, "_", " ")
	}
	r := sarifRule{ID: id, Name: ruleName(id), ShortDescription: sarifMessage{Text: title}}
	if p.Description != "" {
		desc := oneline.Fold(p.Description)
		r.FullDescription = &sarifMessage{Text: desc}
		help := sarifMessage{Text: desc, Markdown: "**" + title + "**\n\n" + p.Description}
		for _, u := range p.URLs {
			help.Text += "\n" + u
			help.Markdown += "\n\n- <" + u + ">"
		}
		r.Help = &help
	}
	if len(p.URLs) > 0 {
		r.HelpURI = p.URLs[0]
	}
	// Code scanning ranks an alert by security-severity; a custom policy
	// that states none is ranked medium rather than left unranked.
	sev, ok := securitySeverity[id]
	if !ok {
		sev = severityScore("medium")
	}
	if s := severityScore(p.Severity); s != "" {
		sev = s
	}
	props := map[string]any{"tags": []string{"security", "github-actions"}, "security-severity": sev}
	r.Properties = props
	r.DefaultConfiguration = map[string]any{"level": "error"}
	return r
}

// ruleName is a policy id in the PascalCase SARIF viewers show.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// fingerprint identifies a finding across commits without its line, which
// moves when unrelated lines are edited: the policy, the file, and what the
// finding is about (job, reference; the message when neither is set).
func fingerprint(policy, uri string, v engine.Violation) string {
	key := []string{policy, uri, v.Job, v.Uses}
	if v.Job == "" && v.Uses == "" {
		key = append(key, v.Message)
	}
	sum := sha256.Sum256([]byte(strings.Join(key, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// repoRelative is file's path from the repository root, with forward
// slashes, as code scanning matches it to the repository's files: root when
// given, otherwise the file's git top level; the path as given when the file
// is outside it.
func repoRelative(file, root string) string {
	if root == "" {
		root = findRepoRoot(file)
	}
	abs, err := filepath.Abs(file)
	if err != nil || root == "" {
		return filepath.ToSlash(file)
	}
	if r, err := filepath.Abs(root); err == nil {
		root = r
	}
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	if a, err := filepath.EvalSymlinks(abs); err == nil {
		abs = a
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(file)
	}
	return filepath.ToSlash(rel)
}
