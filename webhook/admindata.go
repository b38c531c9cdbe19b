package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/runpolicy/runpolicy/bundles"
	"github.com/runpolicy/runpolicy/replay"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// dataAPI serves the admin API's data routes: the inventory, the
// evaluation lists and replays, for scripts with the admin token; the
// console calls the same store and replay functions for its pages.
type dataAPI struct {
	store   *store.Store
	replays *replay.Runner
}

func (d *dataAPI) routes(admin *echo.Group) {
	admin.GET("/inventory", d.inventory)
	admin.GET("/evaluations", d.evaluations)
	admin.GET("/evaluations/stats", d.evaluationStats)
	admin.GET("/decisions/:id", d.decision)
	admin.POST("/replays", d.startReplay)
	admin.GET("/replays", d.replayList)
	admin.GET("/replays/:id", d.replay)
}

func badRequest(c echo.Context, format string, a ...any) error {
	return c.JSON(http.StatusBadRequest, map[string]string{"status": fmt.Sprintf(format, a...)})
}

// inventory answers ?name=NAME[@REF] (who uses it) or
// ?repository=OWNER/NAME (what it uses), with &limit=N.
func (d *dataAPI) inventory(c echo.Context) error {
	q := store.InventoryQuery{Repository: c.QueryParam("repository"), Scope: store.Scope{All: true}}
	if v := c.QueryParam("name"); v != "" {
		var err error
		if q.Name, q.Ref, err = store.ParseInventoryName(v); err != nil {
			return badRequest(c, "name: %v", err)
		}
	}
	if (q.Name == "") == (q.Repository == "") {
		return badRequest(c, "give name=NAME[@REF] or repository=OWNER/NAME")
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return badRequest(c, "limit must be a positive number")
		}
		q.Limit = n
	}
	rows, more, err := d.store.Inventory(c.Request().Context(), q)
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []store.InventoryEntry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": rows, "truncated": more})
}

// evaluationFilter reads the evaluation filters of a query string:
// organization, repository, workflow, branch, event, outcome, policy,
// since, until (see replay.ParseTime), before and after (a page's older
// and newer cursors) and limit. The admin token sees every repository.
func evaluationFilter(c echo.Context) (store.EvaluationFilter, error) {
	f := store.EvaluationFilter{
		Scope:        store.Scope{All: true},
		Organization: c.QueryParam("organization"), Repository: c.QueryParam("repository"),
		Workflow: c.QueryParam("workflow"), Branch: c.QueryParam("branch"), Event: c.QueryParam("event"),
		Outcome: c.QueryParam("outcome"), Policy: c.QueryParam("policy"),
	}
	switch f.Outcome {
	case "", store.OutcomeAllow, store.OutcomeDryRun, store.OutcomeDeny, store.OutcomeError:
	default:
		return f, fmt.Errorf("outcome %q: want allow, dry_run, deny or error", f.Outcome)
	}
	now := time.Now()
	var err error
	if v := c.QueryParam("since"); v != "" {
		if f.Since, err = replay.ParseTime(v, now); err != nil {
			return f, fmt.Errorf("since: %w", err)
		}
	}
	if v := c.QueryParam("until"); v != "" {
		if f.Until, err = replay.ParseTime(v, now); err != nil {
			return f, fmt.Errorf("until: %w", err)
		}
	}
	for _, p := range []struct {
		name string
		dst  **store.Cursor
	}{{"before", &f.Before}, {"after", &f.After}} {
		if v := c.QueryParam(p.name); v != "" {
			cur, err := store.ParseCursor(v)
			if err != nil {
				return f, fmt.Errorf("%s: %w", p.name, err)
			}
			*p.dst = &cur
		}
	}
	if v := c.QueryParam("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit <= 0 {
			return f, errors.New("limit must be a positive number")
		}
	}
	return f, nil
}

// evaluationJSON is an evaluation as the admin API shows it.
func evaluationJSON(e store.Evaluation) map[string]any {
	policies := make([]map[string]string, 0, len(e.Policies))
	for _, p := range e.Policies {
		policies = append(policies, map[string]string{"policy": p.Policy, "mode": p.Mode})
	}
	actions := make([]map[string]any, 0, len(e.Actions))
	for _, a := range e.Actions {
		actions = append(actions, actionJSON(a))
	}
	return map[string]any{"id": e.ID, "delivery_id": e.DeliveryID, "delivery_event": e.Event, "repository": e.Repository,
		"run_id": e.RunID, "run_attempt": e.RunAttempt, "workflow": e.Workflow, "branch": e.Branch, "event": e.RunEvent,
		"outcome": e.Outcome, "dry_run": e.DryRun, "cancel": e.Cancel, "created_at": e.CreatedAt,
		"policies": policies, "actions": actions}
}

func actionJSON(a store.Action) map[string]any {
	return map[string]any{"action": a.Name, "ref": a.Ref, "begun_at": a.CreatedAt, "done_at": a.DoneAt, "done": a.Done()}
}

// evaluations lists decisions newest first, a page at a time: older is
// the before= of the next page, newer the after= of the previous, empty
// at either end.
func (d *dataAPI) evaluations(c echo.Context) error {
	f, err := evaluationFilter(c)
	if err != nil {
		return badRequest(c, "%v", err)
	}
	page, err := d.store.Evaluations(c.Request().Context(), f)
	if err != nil {
		return err
	}
	list := make([]map[string]any, 0, len(page.Evaluations))
	for _, e := range page.Evaluations {
		list = append(list, evaluationJSON(e))
	}
	older, newer := "", ""
	if page.Older != nil {
		older = page.Older.String()
	}
	if page.Newer != nil {
		newer = page.Newer.String()
	}
	return c.JSON(http.StatusOK, map[string]any{"evaluations": list, "older": older, "newer": newer})
}

// evaluationStats counts the decisions the filters select by day and
// outcome, and by policy (?top=N, default 10); since defaults to 30 days
// back, until to now.
func (d *dataAPI) evaluationStats(c echo.Context) error {
	f, err := evaluationFilter(c)
	if err != nil {
		return badRequest(c, "%v", err)
	}
	if f.Until.IsZero() {
		f.Until = time.Now()
	}
	if f.Since.IsZero() {
		f.Since = f.Until.Add(-30 * 24 * time.Hour)
	}
	top := 10
	if v := c.QueryParam("top"); v != "" {
		if top, err = strconv.Atoi(v); err != nil || top <= 0 || top > 100 {
			return badRequest(c, "top must be a number from 1 to 100")
		}
	}
	st, err := d.store.EvaluationStats(c.Request().Context(), f, top)
	if err != nil {
		return badRequest(c, "%v", err)
	}
	days := make([]map[string]any, 0, len(st.Days))
	for _, x := range st.Days {
		days = append(days, map[string]any{"day": x.Day, "allow": x.Allow, "dry_run": x.DryRun, "deny": x.Deny, "error": x.Errors})
	}
	policies := make([]map[string]any, 0, len(st.TopPolicies))
	for _, p := range st.TopPolicies {
		policies = append(policies, map[string]any{"policy": p.Policy, "decisions": p.Decisions, "enforced": p.Enforce})
	}
	return c.JSON(http.StatusOK, map[string]any{"total": st.Total, "per_day": days, "top_policies": policies})
}

// decision is one decision's log entry and what was done on its run.
func (d *dataAPI) decision(c echo.Context) error {
	rec, actions, err := d.store.Evaluation(c.Request().Context(), store.Scope{All: true}, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return c.JSON(http.StatusNotFound, map[string]string{"status": "no such decision"})
	}
	if err != nil {
		return err
	}
	done := make([]map[string]any, 0, len(actions))
	for _, a := range actions {
		done = append(done, actionJSON(a))
	}
	return c.JSON(http.StatusOK, map[string]any{"decision": json.RawMessage(rec.Log), "actions": done})
}

// startReplay starts a replay: a JSON body {"policy": "NAME@REF",
// "since": "7d", "until": …, "repositories": […], "organization": …}, or
// a .tar.gz bundle (Content-Type application/gzip) with those as query
// parameters (repository repeated) and replace=NAME. 202 with its id; 409
// while another runs here.
func (d *dataAPI) startReplay(c echo.Context) error {
	var body struct {
		Policy       string   `json:"policy"`
		Replace      string   `json:"replace"`
		Since        string   `json:"since"`
		Until        string   `json:"until"`
		Repositories []string `json:"repositories"`
		Organization string   `json:"organization"`
	}
	r := c.Request()
	var upload []byte
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/gzip") || strings.HasPrefix(ct, "application/x-gzip") ||
		strings.HasPrefix(ct, "application/octet-stream") {
		b, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, bundles.MaxBundleBytes))
		if err != nil {
			return badRequest(c, "bundle: %v", err)
		}
		upload = b
		q := c.QueryParams()
		body.Replace, body.Since, body.Until = q.Get("replace"), q.Get("since"), q.Get("until")
		body.Repositories, body.Organization = q["repository"], q.Get("organization")
	} else {
		dec := json.NewDecoder(http.MaxBytesReader(c.Response(), r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			return badRequest(c, "body: want a JSON object with policy and since: %v", err)
		}
	}
	now := time.Now()
	req := replay.Request{Policy: body.Policy, Replace: body.Replace, Bundle: upload,
		Scope: store.Scope{All: true}, Organization: body.Organization}
	if len(body.Repositories) > 0 {
		req.Scope = store.Scope{Repositories: body.Repositories}
	}
	var err error
	if body.Since == "" {
		return badRequest(c, "since is required (7d, 2026-03-01, …)")
	}
	if req.Since, err = replay.ParseTime(body.Since, now); err != nil {
		return badRequest(c, "since: %v", err)
	}
	if body.Until != "" {
		if req.Until, err = replay.ParseTime(body.Until, now); err != nil {
			return badRequest(c, "until: %v", err)
		}
	}
	id, err := d.replays.Start(r.Context(), req, "admin")
	switch {
	case errors.Is(err, replay.ErrBusy):
		return c.JSON(http.StatusConflict, map[string]string{"status": err.Error()})
	case errors.Is(err, replay.ErrRefused):
		return badRequest(c, "%v", err)
	case err != nil:
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{"id": id, "status": "running"})
}

// replayList lists the latest replays without their results.
func (d *dataAPI) replayList(c echo.Context) error {
	list, err := d.replays.List(c.Request().Context(), 100)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, list)
}

// replay is a replay's progress, and its result once done.
func (d *dataAPI) replay(c echo.Context) error {
	st, err := d.replays.Status(c.Request().Context(), c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return c.JSON(http.StatusNotFound, map[string]string{"status": "no such replay"})
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}
