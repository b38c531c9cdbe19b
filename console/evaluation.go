package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// Page 2: one evaluation, with each finding beside the workflow's lines,
// the run context, bundle revisions, timings, the actions taken on GitHub,
// and the input document.

// decisionLog is the stored decision log entry, as webhook writes it.
type decisionLog struct {
	Bundles map[string]map[string]string `json:"bundles"`
	Input   json.RawMessage              `json:"input"`
	Result  *engine.Decision             `json:"result"`
	Error   *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		OnError string `json:"on_error"`
	} `json:"error"`
	Metrics map[string]int64 `json:"metrics"`
	Run     *struct {
		HeadRepository string `json:"head_repository"`
		HeadSHA        string `json:"head_sha"`
		Path           string `json:"workflow_path"`
		PullRequests   []int  `json:"pull_requests"`
	} `json:"run"`
}

// runContext is the part of the input document the page shows first.
type runContext struct {
	Run struct {
		Event           string `json:"event"`
		Branch          string `json:"branch"`
		Actor           string `json:"actor"`
		TriggeringActor string `json:"triggering_actor"`
		FromFork        bool   `json:"from_fork"`
		Number          int    `json:"number"`
	} `json:"run"`
	Workflow struct {
		Name     string `json:"name"`
		Modified bool   `json:"modified"`
	} `json:"workflow"`
}

type sourceLine struct {
	N    int
	Text string
	Hit  bool
}

type finding struct {
	engine.Violation
	Via   []string
	Lines []sourceLine
}

type timing struct {
	Name     string
	Duration string
}

type actionRow struct {
	store.Action
	Label string
	// Mine says this evaluation took the action; another evaluation of
	// the same run attempt may have.
	Mine bool
}

type evaluationData struct {
	common
	D           *store.Decision
	Log         decisionLog
	Context     runContext
	RunURL      string
	HeadRepo    string
	Findings    []finding
	Warnings    []finding
	SourceError string
	Bundles     [][2]string
	Timings     []timing
	Actions     []actionRow
	Input       string
	InputBytes  int
	// InputFile is the name the input document downloads as.
	InputFile string
	// InputShown is false for a document too large to show inline.
	InputShown bool
}

// maxInline bounds the input document printed in the page; larger ones
// are only downloaded.
const maxInline = 512 << 10

// lookup reads the evaluation the viewer may see; one they may not is not
// found, exactly as one that does not exist.
func (c *Console) lookup(w http.ResponseWriter, r *http.Request, v *viewer) (*store.Decision, []store.Action, bool) {
	d, actions, err := c.opts.Store.Evaluation(r.Context(), v.access.scope, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, http.StatusNotFound, "There is no such evaluation.")
		return nil, nil, false
	}
	if err != nil {
		c.log.Error("console: evaluation", "err", err)
		c.fail(w, r, http.StatusInternalServerError, "The evaluation could not be read.")
		return nil, nil, false
	}
	return d, actions, true
}

func (c *Console) evaluation(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, actions, ok := c.lookup(w, r, v)
	if !ok {
		return
	}
	data := evaluationData{common: c.common(r, v, fmt.Sprintf("%s run %d", d.Repository, d.RunID)), D: d,
		RunURL: c.runURL(d.Repository, d.RunID, d.RunAttempt), HeadRepo: d.Repository}
	data.Nav = "evaluations"
	if err := json.Unmarshal(d.Log, &data.Log); err != nil {
		c.log.Error("console: decision log", "id", d.ID, "err", err)
		c.fail(w, r, http.StatusInternalServerError, "The evaluation could not be read.")
		return
	}
	l := &data.Log
	if l.Run != nil && l.Run.HeadRepository != "" {
		data.HeadRepo = l.Run.HeadRepository
	}
	if len(l.Input) > 0 {
		_ = json.Unmarshal(l.Input, &data.Context)
		var pretty bytes.Buffer
		if json.Indent(&pretty, l.Input, "", "  ") == nil {
			data.InputBytes, data.InputFile = pretty.Len(), inputFileName(d)
			if pretty.Len() <= maxInline {
				data.Input, data.InputShown = pretty.String(), true
			}
		}
	}
	if l.Result != nil {
		data.Findings, data.Warnings = findings(l.Result.Violations), findings(l.Result.Warnings)
	}
	if l.Run != nil && l.Run.Path != "" && l.Run.HeadSHA != "" && hasLines(data.Findings, data.Warnings) {
		// The workflow as the user can read it on GitHub, with their own
		// token: nothing reaches the page that they could not see there.
		src, err := source(r.Context(), c.user(v.token), data.HeadRepo, l.Run.Path, l.Run.HeadSHA)
		if err != nil {
			c.log.Info("console: workflow source unavailable", "id", d.ID, "err", err)
			data.SourceError = "The workflow file could not be read with your GitHub account; the findings' line numbers are shown alone."
		} else {
			withLines(data.Findings, src)
			withLines(data.Warnings, src)
		}
	}
	for name, b := range l.Bundles {
		data.Bundles = append(data.Bundles, [2]string{name, b["revision"]})
	}
	slices.SortFunc(data.Bundles, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	for name, n := range l.Metrics {
		// OPA's decision log metrics: timer_…_ns are durations, the rest
		// counts.
		if t, ok := strings.CutPrefix(name, "timer_"); ok {
			data.Timings = append(data.Timings, timing{Name: strings.TrimSuffix(t, "_ns"), Duration: duration(n)})
		} else {
			data.Timings = append(data.Timings, timing{Name: name, Duration: strconv.FormatInt(n, 10)})
		}
	}
	slices.SortFunc(data.Timings, func(a, b timing) int { return strings.Compare(a.Name, b.Name) })
	for _, a := range actions {
		data.Actions = append(data.Actions, actionRow{Action: a, Label: actionLabel(a.Name), Mine: a.Owner == d.ID})
	}
	c.render(w, http.StatusOK, "evaluation", data)
}

func findings(vs []engine.Violation) []finding {
	out := make([]finding, 0, len(vs))
	for _, v := range vs {
		f := finding{Violation: v}
		if via, ok := v.Details["via"].([]any); ok {
			for _, x := range via {
				if s, ok := x.(string); ok {
					f.Via = append(f.Via, s)
				}
			}
		}
		out = append(out, f)
	}
	return out
}

func hasLines(lists ...[]finding) bool {
	for _, l := range lists {
		for _, f := range l {
			if f.Line > 0 {
				return true
			}
		}
	}
	return false
}

// around is how many lines around a finding's line are shown.
const around = 3

func withLines(fs []finding, src []byte) {
	lines := strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
	for i := range fs {
		n := fs[i].Line
		if n <= 0 || n > len(lines) {
			continue
		}
		for j := max(1, n-around); j <= min(len(lines), n+around); j++ {
			fs[i].Lines = append(fs[i].Lines, sourceLine{N: j, Text: lines[j-1], Hit: j == n})
		}
	}
}

// inputDocument downloads the input document: `runpolicy eval --input`
// with the listed bundle revisions reproduces the decision.
func (c *Console) inputDocument(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, _, ok := c.lookup(w, r, v)
	if !ok {
		return
	}
	var l struct {
		Input json.RawMessage `json:"input"`
	}
	if json.Unmarshal(d.Log, &l) != nil || len(l.Input) == 0 {
		c.fail(w, r, http.StatusNotFound, "This evaluation has no input document: the run could not be read.")
		return
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, l.Input, "", "  "); err != nil {
		c.fail(w, r, http.StatusInternalServerError, "The input document could not be read.")
		return
	}
	pretty.WriteByte('\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": inputFileName(d)}))
	w.Header().Set("Last-Modified", d.CreatedAt.UTC().Format(time.RFC1123))
	_, _ = w.Write(pretty.Bytes())
}

// inputFileName is the name an evaluation's input document downloads as,
// which the page's runpolicy eval --input command names.
func inputFileName(d *store.Decision) string {
	return fmt.Sprintf("runpolicy-input-%s-%d.json", strings.ReplaceAll(d.Repository, "/", "-"), d.RunID)
}
