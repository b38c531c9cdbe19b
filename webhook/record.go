package webhook

import (
	"fmt"
	"strings"
	"time"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// decisionLog is a verdict as the store keeps it (as JSON, its Entry) and
// /admin/decisions shows it: OPA's decision log fields (decision_id,
// labels, path, bundles, input, result, error, timestamp, metrics) plus
// the delivery and run it was made for.
type decisionLog struct {
	DecisionID string                       `json:"decision_id"`
	Labels     map[string]string            `json:"labels"`
	Path       string                       `json:"path"`
	Bundles    map[string]map[string]string `json:"bundles"`
	Input      *input.Document              `json:"input,omitempty"`
	Result     *engine.Decision             `json:"result,omitempty"`
	Error      *judgeError                  `json:"error,omitempty"`
	Timestamp  time.Time                    `json:"timestamp"`
	Metrics    map[string]int64             `json:"metrics"`

	DeliveryID string  `json:"delivery_id"`
	Event      string  `json:"event"`
	Run        *target `json:"run"`
	Outcome    string  `json:"outcome"`
	Cancel     bool    `json:"cancel"`
}

// decisionPath is the decision's query as OPA's decision logs name it.
var decisionPath = strings.ReplaceAll(strings.TrimPrefix(engine.DecisionQuery, "data."), ".", "/")

// decision is the verdict as the store saves it.
func (v *verdict) decision() store.Decision {
	l := decisionLog{
		DecisionID: v.ID,
		Labels:     map[string]string{"app": "runpolicy", "id": v.Instance},
		Path:       decisionPath,
		Bundles:    map[string]map[string]string{},
		Input:      v.Input,
		Result:     v.Result,
		Error:      v.Error,
		Timestamp:  v.Timestamp,
		Metrics:    v.Metrics,
		DeliveryID: v.DeliveryID,
		Event:      v.Event,
		Run:        &v.Run,
		Outcome:    v.Outcome,
		Cancel:     v.Cancel,
	}
	for name, rev := range v.Revisions {
		l.Bundles[name] = map[string]string{"revision": rev}
	}
	return store.Decision{ID: v.ID, DeliveryID: v.DeliveryID, Event: v.Event, Repository: v.Run.Repository, RunID: v.Run.ID,
		RunAttempt: v.Run.Attempt, Outcome: v.Outcome, Cancel: v.Cancel, CreatedAt: v.Timestamp, Entry: l}
}

// verdictOf reads a verdict back from the store, with the document it
// judged.
func verdictOf(d store.Decision) (*verdict, error) {
	var l decisionLog
	if err := d.DecodeLog(&l); err != nil {
		return nil, err
	}
	if l.Run == nil {
		return nil, fmt.Errorf("decision %s: no run", d.ID)
	}
	v := &verdict{ID: d.ID, DeliveryID: l.DeliveryID, Event: l.Event, Run: *l.Run, Outcome: d.Outcome, Cancel: d.Cancel,
		Result: l.Result, Error: l.Error, Revisions: map[string]string{}, Instance: l.Labels["id"], Timestamp: l.Timestamp,
		Metrics: l.Metrics, Input: l.Input}
	for name, b := range l.Bundles {
		v.Revisions[name] = b["revision"]
	}
	return v, nil
}
