package webhook

import (
	"context"
	"errors"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/riverqueue/river/rivertype"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// stubHandler handles "stub" deliveries with a fixed outcome or error,
// and decides them when they are given up.
type stubHandler struct {
	outcome outcome
	err     error
	gaveUp  *error
}

func (stubHandler) Handles() []string     { return []string{"stub"} }
func (stubHandler) Wants(e envelope) bool { return e.Action == "wanted" }
func (h stubHandler) Handle(context.Context, delivery) (outcome, error) {
	return h.outcome, h.err
}

func (h stubHandler) GiveUp(_ context.Context, _ delivery, cause error) (outcome, bool, error) {
	*h.gaveUp = cause
	return outcome{kind: outcomeJudged, detail: "error"}, true, nil
}

// TestDispatcher: a delivery goes to the handler of its event, and its
// outcome is recorded as its note and counted by kind; an event no handler
// names is skipped; a delivery given up is decided by its handler.
func TestDispatcher(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	var cause error
	h := &stubHandler{outcome: outcome{kind: outcomeJudged, detail: "deny"}, gaveUp: &cause}
	m := newDispatchMetrics()
	d, err := newDispatcher(st, func() bool { return true }, 5, "test", m, discard(), h)
	if err != nil {
		t.Fatal(err)
	}
	if !d.wants(envelope{Event: "stub", Action: "wanted"}) || d.wants(envelope{Event: "stub"}) || d.wants(envelope{Event: "issues", Action: "wanted"}) {
		t.Error("wants: a handler's event and its choice, nothing else")
	}
	if d.label("stub") != "stub" || d.label("issues") != "other" {
		t.Errorf("labels %q %q", d.label("stub"), d.label("issues"))
	}
	for _, id := range []string{"d1", "d2", "d3"} {
		st.deliveries[id] = &store.Delivery{ID: id, Event: "stub", State: store.DeliveryReceived}
	}
	st.deliveries["d2"].Event = "issues"
	job := &rivertype.JobRow{ID: 1, Attempt: 1}
	for _, id := range []string{"d1", "d2"} {
		if err := d.process(ctx, job, id); err != nil {
			t.Fatal(err)
		}
	}
	if st.deliveries["d1"].Note != "judged: deny" || st.deliveries["d2"].Note != "skipped" || st.deliveries["d1"].State != store.DeliveryProcessed {
		t.Errorf("notes %q, %q; want judged: deny, skipped", st.deliveries["d1"].Note, st.deliveries["d2"].Note)
	}
	var counted dto.Metric
	if err := m.processed.WithLabelValues("stub", outcomeJudged).Write(&counted); err != nil || counted.GetCounter().GetValue() != 1 {
		t.Errorf("processed{stub, judged} = %v (%v), want 1", counted.GetCounter().GetValue(), err)
	}

	h.err = errors.New("GitHub is down")
	if err := d.process(ctx, job, "d3"); !errors.Is(err, h.err) || st.deliveries["d3"].State != store.DeliveryReceived {
		t.Errorf("a failing handler: %v, state %s; want the error, the delivery left to retry", err, st.deliveries["d3"].State)
	}
	decided, err := d.giveUp(ctx, job, "d3", h.err)
	if !decided || err != nil || cause != h.err || st.deliveries["d3"].Note != "judged: error" {
		t.Errorf("give up: decided %v, %v, cause %v, note %q", decided, err, cause, st.deliveries["d3"].Note)
	}

	if _, err := newDispatcher(st, nil, 5, "test", m, discard(), h, stubHandler{}); err == nil || !strings.Contains(err.Error(), "two handlers for stub") {
		t.Errorf("two handlers for one event: %v", err)
	}
}
