package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riverqueue/river"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// deliveryID is what an X-GitHub-Delivery may be: a GUID on github.com, a
// number or GUID elsewhere; bounded so that it cannot bloat the store.
var deliveryID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,100}$`)

// persistTimeout bounds saving a delivery before it is acknowledged.
const persistTimeout = 5 * time.Second

// acceptor persists a delivery and queues its job (*store.Store).
type acceptor interface {
	AcceptDelivery(ctx context.Context, d store.Delivery, job river.JobArgs) (bool, error)
}

// receiver is the HTTP side of deliveries: it verifies a delivery's
// signature, persists the ones a handler wants and acknowledges it.
type receiver struct {
	body  *bodyReader
	store acceptor
	// wants says whether a handler wants a delivery (dispatcher.wants);
	// label names its event for the metrics (dispatcher.label).
	wants   func(envelope) bool
	label   func(event string) string
	metrics *receiveMetrics
	log     *slog.Logger
}

// receive handles POST /webhook. The signature is checked before anything
// is parsed or stored; an accepted delivery is persisted before the 2xx.
func (rv *receiver) receive(c echo.Context) error {
	start := time.Now()
	r := c.Request()
	sum, reason := parseSignature(r.Header.Get("X-Hub-Signature-256"))
	if reason != "" {
		return rv.refuse(c, reason)
	}
	if r.ContentLength > rv.body.max {
		return rv.reject(c, "too_large", http.StatusRequestEntityTooLarge, "payload too large")
	}
	body, err := rv.body.read(http.NewResponseController(c.Response()), r, sum)
	switch {
	case errors.Is(err, errBadSignature):
		return rv.refuse(c, sigMismatch)
	case errors.Is(err, errTooLarge):
		return rv.reject(c, "too_large", http.StatusRequestEntityTooLarge, "payload too large")
	case errors.Is(err, errBusy):
		return rv.reject(c, "busy", http.StatusServiceUnavailable, "too many large deliveries at once, try again")
	case errors.Is(err, errSlow):
		return rv.reject(c, "timeout", http.StatusRequestTimeout, "body not received in time")
	case err != nil:
		return rv.reject(c, "bad_request", http.StatusBadRequest, "cannot read body")
	}

	// Authenticated: GitHub sent this.
	event := r.Header.Get("X-GitHub-Event")
	id := r.Header.Get("X-GitHub-Delivery")
	label := rv.label(event)
	if !deliveryID.MatchString(id) {
		return rv.answer(c, label, "bad_request", http.StatusBadRequest, "missing or malformed X-GitHub-Delivery")
	}
	payload, err := jsonPayload(r.Header.Get("Content-Type"), body)
	if err != nil {
		return rv.answer(c, label, "bad_request", http.StatusBadRequest, err.Error())
	}
	env := envelope{Event: event}
	if err := json.Unmarshal(payload, &env); err != nil {
		return rv.answer(c, label, "bad_request", http.StatusBadRequest, "payload is not a JSON object")
	}
	log := rv.log.With("delivery_id", id, "event", event, "action", env.Action)
	if !rv.wants(env) {
		log.Debug("delivery ignored")
		return rv.answer(c, label, "ignored", http.StatusAccepted, "ignored")
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
	fresh, err := rv.store.AcceptDelivery(persistCtx, d, deliveryArgs{DeliveryID: id})
	cancel()
	if err != nil {
		// GitHub records the failure; the redelivery sweep asks again.
		log.Error("cannot persist delivery", "err", err)
		return rv.answer(c, label, "error", http.StatusServiceUnavailable, "cannot persist delivery")
	}
	rv.metrics.ack.Observe(time.Since(start).Seconds())
	if !fresh {
		log.Info("duplicate delivery")
		return rv.answer(c, label, "duplicate", http.StatusAccepted, "duplicate")
	}
	log.Info("delivery accepted")
	return rv.answer(c, label, "queued", http.StatusAccepted, "queued")
}

// refuse answers 401 and leaves nothing but a log line and a metric.
func (rv *receiver) refuse(c echo.Context, reason string) error {
	rv.metrics.signatureFailures.WithLabelValues(reason).Inc()
	rv.log.Warn("webhook signature refused", "reason", reason, "remote", c.RealIP())
	return rv.reject(c, "unauthorized", http.StatusUnauthorized, "bad signature")
}

// reject answers a request refused before its signature was verified:
// nothing in it can be trusted, not even its event, so it is counted
// apart from deliveries.
func (rv *receiver) reject(c echo.Context, reason string, status int, msg string) error {
	rv.metrics.refused.WithLabelValues(reason).Inc()
	return c.JSON(status, map[string]string{"status": msg})
}

// answer answers a delivery whose signature was verified.
func (rv *receiver) answer(c echo.Context, event, outcome string, status int, msg string) error {
	rv.metrics.deliveries.WithLabelValues(event, outcome).Inc()
	return c.JSON(status, map[string]string{"status": msg})
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
