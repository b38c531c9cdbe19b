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
	q := store.InventoryQuery{Repository: c.QueryParam("repository")}
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
// organization, repository, workflow, branch, event, verdict, policy,
// since, until (see replay.ParseTime), after (a page's next) and limit.
func evaluationFilter(c echo.Context) (store.EvaluationFilter, error) {
	f := store.EvaluationFilter{
		Organization: c.QueryParam("organization"), Repository: c.QueryParam("repository"),
		Workflow: c.QueryParam("workflow"), Branch: c.QueryParam("branch"), Event: c.QueryParam("event"),
		Verdict: c.QueryParam("verdict"), Policy: c.QueryParam("policy"),
	}
	switch f.Verdict {
	case "", store.VerdictAllow, store.VerdictDryRun, store.VerdictDeny, store.VerdictError:
	default:
		return f, fmt.Errorf("verdict %q: want allow, dry_run, deny or error", f.Verdict)
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
	if v := c.QueryParam("after"); v != "" {
		cur, err := store.ParseCursor(v)
		if err != nil {
			return f, fmt.Errorf("after: %w", err)
		}
		f.After = &cur
	}
	if v := c.QueryParam("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit <= 0 {
			return f, errors.New("limit must be a positive number")
		}
	}
	return f, nil
}

// evaluations lists decisions newest first, a page at a time: next
// is the after= of the next page, empty on the last.
func (d *dataAPI) evaluations(c echo.Context) error {
	f, err := evaluationFilter(c)
	if err != nil {
		return badRequest(c, "%v", err)
	}
	page, err := d.store.Evaluations(c.Request().Context(), f)
	if err != nil {
		return err
	}
	next := ""
	if page.Next != nil {
		next = page.Next.String()
	}
	if page.Evaluations == nil {
		page.Evaluations = []store.Evaluation{}
	}
	return c.JSON(http.StatusOK, map[string]any{"evaluations": page.Evaluations, "next": next})
}

// evaluationStats counts the decisions the filters select by day and
// verdict, and by policy (?top=N, default 10).
func (d *dataAPI) evaluationStats(c echo.Context) error {
	f, err := evaluationFilter(c)
	if err != nil {
		return badRequest(c, "%v", err)
	}
	top := 10
	if v := c.QueryParam("top"); v != "" {
		if top, err = strconv.Atoi(v); err != nil || top <= 0 || top > 100 {
			return badRequest(c, "top must be a number from 1 to 100")
		}
	}
	ctx := c.Request().Context()
	days, err := d.store.EvaluationsPerDay(ctx, f)
	if err != nil {
		return err
	}
	policies, err := d.store.TopPolicies(ctx, f, top)
	if err != nil {
		return err
	}
	if days == nil {
		days = []store.DayCount{}
	}
	if policies == nil {
		policies = []store.PolicyCount{}
	}
	return c.JSON(http.StatusOK, map[string]any{"per_day": days, "top_policies": policies})
}

// decision is one decision's log entry and what was done on its run.
func (d *dataAPI) decision(c echo.Context) error {
	ctx := c.Request().Context()
	rec, err := d.store.DecisionByID(ctx, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return c.JSON(http.StatusNotFound, map[string]string{"status": "no such decision"})
	}
	if err != nil {
		return err
	}
	actions, err := d.store.RunActions(ctx, store.RunKey{Repository: rec.Repository, RunID: rec.RunID, Attempt: rec.RunAttempt})
	if err != nil {
		return err
	}
	done := make([]map[string]any, 0, len(actions))
	for _, a := range actions {
		done = append(done, map[string]any{"action": a.Name, "ref": a.Ref, "begun_at": a.CreatedAt, "done_at": a.DoneAt, "done": a.Done()})
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
		Repositories: body.Repositories, Organization: body.Organization}
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
	case err != nil && strings.HasPrefix(err.Error(), "replay:"):
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
