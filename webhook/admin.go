package webhook

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// adminStore is what the operator's endpoints read (*store.Store).
type adminStore interface {
	Ping(ctx context.Context) error
	Decisions(ctx context.Context, f store.DecisionFilter) ([]store.Decision, error)
	Delivery(ctx context.Context, id string) (*store.Delivery, error)
	Approvals(ctx context.Context, repository string, limit int) ([]store.Approval, error)
	Approval(ctx context.Context, id string) (store.Approval, error)
	RevokeApproval(ctx context.Context, id, by string, at time.Time) (bool, error)
	SaveDecision(ctx context.Context, d store.Decision) (store.Decision, error)
}

// admin serves the operator's endpoints: /healthz, /readyz and, with a
// token, /admin.
type admin struct {
	store     adminStore
	policies  Policies
	revisions func() map[string]string
	token     string
	// instance names this process in the decision log.
	instance string
	log      *slog.Logger
}

func (a *admin) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is ready once a policy set is active and the store answers.
func (a *admin) readyz(c echo.Context) error {
	if !a.policies.Ready() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "no policy bundle active"})
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		a.log.Warn("store unreachable", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "store unreachable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// requireAdmin guards /admin with the admin token (Bearer).
func (a *admin) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.token)) != 1 {
			return c.JSON(http.StatusUnauthorized, map[string]string{"status": "admin token required"})
		}
		return next(c)
	}
}

// decisions lists decision log entries, newest first:
// ?repository=owner/name&run_id=N&delivery_id=ID&limit=N.
func (a *admin) decisions(c echo.Context) error {
	f := store.DecisionFilter{Repository: c.QueryParam("repository"), DeliveryID: c.QueryParam("delivery_id")}
	var err error
	if v := c.QueryParam("run_id"); v != "" {
		if f.RunID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return c.JSON(http.StatusBadRequest, map[string]string{"status": "run_id must be a number"})
		}
	}
	if v := c.QueryParam("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil {
			return c.JSON(http.StatusBadRequest, map[string]string{"status": "limit must be a number"})
		}
	}
	list, err := a.store.Decisions(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]json.RawMessage, 0, len(list))
	for _, d := range list {
		out = append(out, d.Log)
	}
	return c.JSON(http.StatusOK, out)
}

// delivery shows how a delivery's processing went (not its payload).
func (a *admin) delivery(c echo.Context) error {
	d, err := a.store.Delivery(c.Request().Context(), c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return c.JSON(http.StatusNotFound, map[string]string{"status": "no such delivery"})
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{
		"id": d.ID, "event": d.Event, "action": d.Action, "repository": d.Repository,
		"installation_id": d.InstallationID, "received_at": d.ReceivedAt, "state": d.State,
		"finished_at": d.FinishedAt, "note": d.Note,
	})
}

func (a *admin) bundles(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"ready": a.policies.Ready(), "revisions": a.revisions(), "sources": a.policies.Status()})
}

// approvals lists approvals of workflow versions, newest first, revoked
// and expired ones too (each says): ?repository=owner/name&limit=N.
func (a *admin) approvals(c echo.Context) error {
	limit := 0
	if v := c.QueryParam("limit"); v != "" {
		var err error
		if limit, err = strconv.Atoi(v); err != nil {
			return c.JSON(http.StatusBadRequest, map[string]string{"status": "limit must be a number"})
		}
	}
	list, err := a.store.Approvals(c.Request().Context(), c.QueryParam("repository"), limit)
	if err != nil {
		return err
	}
	now := time.Now()
	out := make([]map[string]any, 0, len(list))
	for _, ap := range list {
		out = append(out, map[string]any{"approval": ap, "active": ap.Active(now)})
	}
	return c.JSON(http.StatusOK, out)
}

// revoke revokes an approval (?by=name says who, for the decision log;
// default "admin"): runs of that version are judged without it from now
// on. The revoke is an event in the decision log.
func (a *admin) revoke(c echo.Context) error {
	by := c.QueryParam("by")
	if by == "" {
		by = "admin"
	}
	ap, revoked, err := RevokeApproval(c.Request().Context(), a.store, a.instance, c.Param("id"), by)
	if errors.Is(err, store.ErrNotFound) {
		return c.JSON(http.StatusNotFound, map[string]string{"status": "no such approval"})
	}
	if err != nil {
		return err
	}
	if !revoked {
		return c.JSON(http.StatusOK, map[string]any{"status": "already revoked", "approval": ap})
	}
	a.log.Info("approval revoked", "approval", ap.ID, "repository", ap.Repository, "workflow", ap.WorkflowPath, "by", by)
	return c.JSON(http.StatusOK, map[string]any{"status": "revoked", "approval": ap})
}

// RevokeStore is what a revoke reads and writes (*store.Store).
type RevokeStore interface {
	Approval(ctx context.Context, id string) (store.Approval, error)
	RevokeApproval(ctx context.Context, id, by string, at time.Time) (bool, error)
	SaveDecision(ctx context.Context, d store.Decision) (store.Decision, error)
}

// RevokeApproval revokes an approval for by (who revoked, as the decision
// log names them) and records the revoke as an event in the decision log:
// the admin API's revoke and the web console's. instance names this
// process in the log. revoked is false when the approval was revoked
// already; store.ErrNotFound when there is none. The event is recorded
// whichever call revoked it, once (its delivery id is "revoke-" and the
// approval's), with the revoke on record (who, when): a revoke whose
// event could not be written is logged by the next call.
func RevokeApproval(ctx context.Context, st RevokeStore, instance, id, by string) (ap store.Approval, revoked bool, err error) {
	revoked, err = st.RevokeApproval(ctx, id, by, time.Now().UTC())
	if err != nil {
		return store.Approval{}, false, err
	}
	if ap, err = st.Approval(ctx, id); err != nil {
		return store.Approval{}, false, err
	}
	if ap.RevokedAt.IsZero() {
		return store.Approval{}, false, fmt.Errorf("revoke approval %s: not revoked on record", ap.ID)
	}
	l := approvalLog{Timestamp: ap.RevokedAt.UTC(), DeliveryID: "revoke-" + ap.ID, Event: eventRevoke, Outcome: outcomeRevoked,
		By: ap.RevokedBy, Decision: ap.DecisionID, Approval: &ap}
	if err := saveApprovalLog(ctx, st, instance, l, store.RunKey{Repository: ap.Repository, RunID: ap.RunID}); err != nil {
		return store.Approval{}, false, fmt.Errorf("record the revoke of approval %s: %w", ap.ID, err)
	}
	return ap, revoked, nil
}

// RevokeApproval revokes an approval as the admin API does, naming by as
// who revoked: the console's revoke.
func (s *Server) RevokeApproval(ctx context.Context, id, by string) (store.Approval, bool, error) {
	ap, revoked, err := RevokeApproval(ctx, s.store, s.instance, id, by)
	if err == nil && revoked {
		s.log.Info("approval revoked", "approval", ap.ID, "repository", ap.Repository, "workflow", ap.WorkflowPath, "by", by)
	}
	return ap, revoked, err
}
