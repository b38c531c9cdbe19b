package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// deliveryID is what an X-GitHub-Delivery may be: a GUID on github.com, a
// number or GUID elsewhere; bounded so that it cannot bloat the store.
var deliveryID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,100}$`)

// persistTimeout bounds saving a delivery before it is acknowledged.
const persistTimeout = 5 * time.Second

// envelope is the part of a payload routing needs.
type envelope struct {
	Action       string `json:"action"`
	Ref          string `json:"ref"`
	Installation *struct {
		ID int64 `json:"id"`
	} `json:"installation"`
	Repository *struct {
		FullName      string `json:"full_name"`
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
}

// receive handles POST /webhook. The signature is checked before anything
// is parsed or stored; an accepted delivery is persisted before the 2xx.
func (s *Server) receive(c echo.Context) error {
	start := time.Now()
	r := c.Request()
	sum, reason := parseSignature(r.Header.Get("X-Hub-Signature-256"))
	if reason != "" {
		return s.refuse(c, reason)
	}
	if r.ContentLength > s.opts.MaxBodyBytes {
		return s.reject(c, "too_large", http.StatusRequestEntityTooLarge, "payload too large")
	}
	body, err := s.readBody(http.NewResponseController(c.Response()), r, sum)
	switch {
	case errors.Is(err, errBadSignature):
		return s.refuse(c, sigMismatch)
	case errors.Is(err, errTooLarge):
		return s.reject(c, "too_large", http.StatusRequestEntityTooLarge, "payload too large")
	case errors.Is(err, errBusy):
		return s.reject(c, "busy", http.StatusServiceUnavailable, "too many large deliveries at once, try again")
	case errors.Is(err, errSlow):
		return s.reject(c, "timeout", http.StatusRequestTimeout, "body not received in time")
	case err != nil:
		return s.reject(c, "bad_request", http.StatusBadRequest, "cannot read body")
	}

	// Authenticated: GitHub sent this.
	event := r.Header.Get("X-GitHub-Event")
	id := r.Header.Get("X-GitHub-Delivery")
	label := eventLabel(event)
	if !deliveryID.MatchString(id) {
		return s.answer(c, label, "bad_request", http.StatusBadRequest, "missing or malformed X-GitHub-Delivery")
	}
	payload, err := jsonPayload(r.Header.Get("Content-Type"), body)
	if err != nil {
		return s.answer(c, label, "bad_request", http.StatusBadRequest, err.Error())
	}
	var env envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		return s.answer(c, label, "bad_request", http.StatusBadRequest, "payload is not a JSON object")
	}
	log := s.log.With("delivery_id", id, "event", event, "action", env.Action)
	if !s.wanted(event, env) {
		log.Debug("delivery ignored")
		return s.answer(c, label, "ignored", http.StatusAccepted, "ignored")
	}
	d := store.Delivery{ID: id, Event: event, Action: env.Action, Payload: payload, ReceivedAt: start}
	if env.Installation != nil {
		d.InstallationID = env.Installation.ID
	}
	if env.Repository != nil {
		d.Repository = env.Repository.FullName
		log = log.With("repository", d.Repository)
	}
	// Bounded: with the database unreachable GitHub must get its 503 well
	// within its own 10-second timeout, so that the delivery is recorded
	// as failed and the redelivery sweep asks for it again.
	persistCtx, cancel := context.WithTimeout(r.Context(), persistTimeout)
	fresh, err := s.store.AcceptDelivery(persistCtx, d, deliveryArgs{DeliveryID: id})
	cancel()
	if err != nil {
		// GitHub records the failure; the redelivery sweep asks again.
		log.Error("cannot persist delivery", "err", err)
		return s.answer(c, label, "error", http.StatusServiceUnavailable, "cannot persist delivery")
	}
	s.metrics.ack.Observe(time.Since(start).Seconds())
	if !fresh {
		log.Info("duplicate delivery")
		return s.answer(c, label, "duplicate", http.StatusAccepted, "duplicate")
	}
	log.Info("delivery accepted")
	return s.answer(c, label, "queued", http.StatusAccepted, "queued")
}

// refuse answers 401 and leaves nothing but a log line and a metric.
func (s *Server) refuse(c echo.Context, reason string) error {
	s.metrics.signatureFailures.WithLabelValues(reason).Inc()
	s.log.Warn("webhook signature refused", "reason", reason, "remote", c.RealIP())
	return s.reject(c, "unauthorized", http.StatusUnauthorized, "bad signature")
}

// reject answers a request refused before its signature was verified:
// nothing in it can be trusted, not even its event, so it is counted
// apart from deliveries.
func (s *Server) reject(c echo.Context, reason string, status int, msg string) error {
	s.metrics.refused.WithLabelValues(reason).Inc()
	return c.JSON(status, map[string]string{"status": msg})
}

// answer answers a delivery whose signature was verified.
func (s *Server) answer(c echo.Context, event, outcome string, status int, msg string) error {
	s.metrics.deliveries.WithLabelValues(event, outcome).Inc()
	return c.JSON(status, map[string]string{"status": msg})
}

// eventLabel keeps the metric's event label to the events runpolicy knows.
func eventLabel(event string) string {
	switch event {
	case "workflow_run", "workflow_job", "ping", "installation", "installation_repositories", "push":
		return event
	}
	return "other"
}

// wanted says whether a delivery is worth persisting. Everything else is
// acknowledged and dropped: the App sees every push in every installed
// repository, and most workflow_run and workflow_job actions.
func (s *Server) wanted(event string, env envelope) bool {
	switch event {
	case "workflow_run":
		return env.Action == "requested"
	case "workflow_job":
		return env.Action == "queued" || env.Action == "waiting"
	case "ping", "installation", "installation_repositories":
		return true
	case "push":
		return env.Repository != nil && s.policyRepos[lower(env.Repository.FullName)] &&
			env.Ref == "refs/heads/"+env.Repository.DefaultBranch
	}
	return false
}

// jsonPayload returns the JSON of a delivery, which GitHub sends as the
// body or, for hooks set to form encoding, as the payload field.
func jsonPayload(contentType string, body []byte) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/x-www-form-urlencoded" {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		return nil, errors.New("form-encoded delivery without a payload field")
	}
	return []byte(form.Get("payload")), nil
}

func lower(s string) string { return strings.ToLower(s) }
