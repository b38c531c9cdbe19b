package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// Page 1: the evaluations, newest first, filtered by a GET form, with a
// plot of decisions per day by outcome and one of the top policies.

// filterForm is the filter as the form shows it.
type filterForm struct {
	Organization, Repository, Workflow, Branch, Event, Outcome, Policy, From, To string
}

// outcomes are the outcome filter's choices, in the order the form lists them.
var outcomes = []struct{ Value, Label string }{
	{"", "any"}, {store.OutcomeDeny, "denied"}, {store.OutcomeDryRun, "dry-run findings only"},
	{store.OutcomeAllow, "allowed"}, {store.OutcomeError, "error"},
}

// events are suggestions for the event field; any event is accepted.
var events = []string{"push", "pull_request", "pull_request_target", "merge_group", "workflow_dispatch",
	"schedule", "workflow_call", "workflow_run", "release", "issue_comment"}

const dateLayout = "2006-01-02"

// parseFilter reads the form; an error names the field.
func parseFilter(q url.Values) (store.EvaluationFilter, filterForm, error) {
	form := filterForm{
		Organization: strings.TrimSpace(q.Get("organization")), Repository: strings.TrimSpace(q.Get("repository")),
		Workflow: strings.TrimSpace(q.Get("workflow")), Branch: strings.TrimSpace(q.Get("branch")),
		Event: strings.TrimSpace(q.Get("event")), Outcome: q.Get("outcome"), Policy: strings.TrimSpace(q.Get("policy")),
		From: q.Get("from"), To: q.Get("to"),
	}
	f := store.EvaluationFilter{Organization: form.Organization, Repository: form.Repository, Workflow: form.Workflow,
		Branch: form.Branch, Event: form.Event, Outcome: form.Outcome, Policy: form.Policy}
	for name, v := range map[string]string{"organization": form.Organization, "repository": form.Repository,
		"workflow": form.Workflow, "branch": form.Branch, "event": form.Event, "policy": form.Policy} {
		if len(v) > 255 {
			return f, form, fmt.Errorf("%s: at most 255 characters", name)
		}
	}
	if !slices.ContainsFunc(outcomes, func(o struct{ Value, Label string }) bool { return o.Value == form.Outcome }) {
		return f, form, fmt.Errorf("outcome %q: choose one of the list", form.Outcome)
	}
	var err error
	if form.From != "" {
		if f.Since, err = time.Parse(dateLayout, form.From); err != nil {
			return f, form, errors.New("from: want a date, YYYY-MM-DD")
		}
	}
	if form.To != "" {
		to, err := time.Parse(dateLayout, form.To)
		if err != nil {
			return f, form, errors.New("to: want a date, YYYY-MM-DD")
		}
		f.Until = to.Add(24 * time.Hour) // the whole day
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return f, form, errors.New("to: must not be before from")
	}
	for name, dst := range map[string]**store.Cursor{"before": &f.Before, "after": &f.After} {
		if v := q.Get(name); v != "" {
			c, err := store.ParseCursor(v)
			if err != nil {
				return f, form, fmt.Errorf("%s: not a page of this list", name)
			}
			*dst = &c
		}
	}
	if f.Before != nil && f.After != nil {
		return f, form, errors.New("before and after exclude each other")
	}
	return f, form, nil
}

// row is one evaluation as the list shows it.
type row struct {
	store.Evaluation
	RunURL string
}

type evaluationsData struct {
	common
	Form     filterForm
	Outcomes []struct{ Value, Label string }
	Events   []string
	Policies []string
	Error    string
	Rows     []row
	// Newer and Older link the neighbouring pages; empty at the ends.
	Newer, Older string
	Stats        store.EvaluationStats
	Since, Until time.Time
	Days         dayPlot
	Top          policyPlot
}

func (c *Console) evaluations(w http.ResponseWriter, r *http.Request, v *viewer) {
	data := evaluationsData{common: c.common(r, v, "Evaluations"), Outcomes: outcomes, Events: events}
	data.Nav = "evaluations"
	for name := range c.opts.Engine.Policies() {
		data.Policies = append(data.Policies, name)
	}
	slices.Sort(data.Policies)
	q := r.URL.Query()
	f, form, err := parseFilter(q)
	data.Form = form
	if err != nil {
		data.Error = err.Error()
		c.render(w, http.StatusBadRequest, "evaluations", data)
		return
	}
	f.Scope, f.Limit = v.access.scope, c.pageSize
	page, err := c.opts.Store.Evaluations(r.Context(), f)
	if err != nil {
		c.log.Error("console: evaluations", "err", err)
		c.fail(w, r, http.StatusInternalServerError, "The evaluations could not be read.")
		return
	}
	for _, e := range page.Evaluations {
		data.Rows = append(data.Rows, row{Evaluation: e, RunURL: c.runURL(e.Repository, e.RunID, e.RunAttempt)})
	}
	link := func(param string, cur *store.Cursor) string {
		if cur == nil {
			return ""
		}
		u := url.Values{}
		for k, vs := range q {
			if k != "before" && k != "after" {
				u[k] = vs
			}
		}
		u.Set(param, cur.String())
		return c.base + "?" + u.Encode()
	}
	data.Newer, data.Older = link("after", page.Newer), link("before", page.Older)

	// The plots cover the filter's time range, else the last 30 days, and
	// at most the last 400 days of it.
	sf := f
	today := time.Now().UTC().Truncate(24 * time.Hour)
	if sf.Until.IsZero() {
		sf.Until = today.Add(24 * time.Hour)
	}
	if sf.Since.IsZero() {
		sf.Since = sf.Until.Add(-30 * 24 * time.Hour)
	}
	if sf.Until.Sub(sf.Since) > 400*24*time.Hour {
		sf.Since = sf.Until.Add(-400 * 24 * time.Hour)
	}
	st, err := c.opts.Store.EvaluationStats(r.Context(), sf, 8)
	if err != nil {
		c.log.Error("console: evaluation stats", "err", err)
		c.fail(w, r, http.StatusInternalServerError, "The evaluations could not be counted.")
		return
	}
	data.Stats, data.Since, data.Until = st, sf.Since, sf.Until.Add(-time.Nanosecond)
	data.Days, data.Top = newDayPlot(st.Days), newPolicyPlot(st.TopPolicies)
	c.render(w, http.StatusOK, "evaluations", data)
}

// runURL links a run attempt on GitHub.
func (c *Console) runURL(repo string, id int64, attempt int) string {
	return c.web + "/" + repo + "/actions/runs/" + strconv.FormatInt(id, 10) + "/attempts/" + strconv.Itoa(attempt)
}

// Plots are SVG drawn on the server: no script, and each has a table of
// the same numbers beside it for screen readers and keyboard users.

const plotWidth, plotHeight = 720, 160

type bar struct {
	X, Y, W, H float64
	Class      string
}

type dayColumn struct {
	store.DayCount
	Bars  []bar
	Label string
}

type dayPlot struct {
	Width, Height int
	Columns       []dayColumn
	Max           int
}

func newDayPlot(days []store.DayCount) dayPlot {
	p := dayPlot{Width: plotWidth, Height: plotHeight}
	for _, d := range days {
		p.Max = max(p.Max, d.Total())
	}
	if len(days) == 0 {
		return p
	}
	w := float64(plotWidth) / float64(len(days))
	for i, d := range days {
		col := dayColumn{DayCount: d, Label: fmt.Sprintf("%s: %d denied, %d error, %d dry-run findings, %d allowed",
			d.Day.Format(dateLayout), d.Deny, d.Errors, d.DryRun, d.Allow)}
		y := float64(plotHeight)
		for _, seg := range []struct {
			n     int
			class string
		}{{d.Deny, "deny"}, {d.Errors, "error"}, {d.DryRun, "dry_run"}, {d.Allow, "allow"}} {
			if seg.n == 0 || p.Max == 0 {
				continue
			}
			h := float64(seg.n) / float64(p.Max) * float64(plotHeight)
			y -= h
			col.Bars = append(col.Bars, bar{X: float64(i)*w + 1, Y: y, W: max(w-2, 1), H: h, Class: seg.class})
		}
		p.Columns = append(p.Columns, col)
	}
	return p
}

type policyBar struct {
	store.PolicyCount
	// Y is the bar's top, TextY the baseline of its label and count, and
	// TextX where the count is written, after the bar.
	Y, W, TextY, TextX float64
}

type policyPlot struct {
	Width, Height int
	Bars          []policyBar
}

func newPolicyPlot(top []store.PolicyCount) policyPlot {
	p := policyPlot{Width: plotWidth, Height: 28 * len(top)}
	most := 0
	for _, t := range top {
		most = max(most, t.Decisions)
	}
	for i, t := range top {
		w := max(1, float64(t.Decisions)/float64(most)*(plotWidth-320))
		y := float64(28 * i)
		p.Bars = append(p.Bars, policyBar{PolicyCount: t, Y: y + 4, W: w, TextY: y + 19, TextX: 240 + w + 8})
	}
	return p
}
