// Package replaytest records decisions as the server does, from real
// workflows judged by a real engine, for the tests and benchmarks of
// replays, the inventory and the evaluation lists.
package replaytest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// Run is the run a decision is made on.
type Run struct {
	Repository string
	ID         int64
	Attempt    int
	// Event is the delivery's (workflow_run by default).
	Event string
	At    time.Time
}

// Workflows parses the *.yml and *.yaml files of dir, sorted by name.
func Workflows(dir string) (map[string]*input.Facts, []string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	facts := map[string]*input.Facts{}
	var names []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yml" && ext != ".yaml") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, nil, err
		}
		f, err := input.Parse(".github/workflows/"+e.Name(), src)
		if err != nil {
			continue // a workflow the normalizer refuses has no document to replay
		}
		facts[e.Name()] = f
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return facts, names, nil
}

// Document builds the input document of a push run of the workflow.
func Document(f *input.Facts, name string, r Run) *input.Document {
	owner, repo := r.Repository, ""
	for i := range r.Repository {
		if r.Repository[i] == '/' {
			owner, repo = r.Repository[:i], r.Repository[i+1:]
			break
		}
	}
	c := input.Context{
		Event:        input.Event{Name: "workflow_run", Action: "requested"},
		Repository:   input.Repository{FullName: r.Repository, Owner: owner, Name: repo, DefaultBranch: "main", Visibility: "private"},
		Run:          input.Run{ID: r.ID, Attempt: max(r.Attempt, 1), Event: "push", Branch: "main", IsDefaultBranch: true, PullRequests: []int{}},
		WorkflowPath: ".github/workflows/" + name,
	}
	return input.Build(f, c)
}

// Decision judges doc with eng and returns the decision as the server
// records it: its log entry has the webhook's shape (decision_id, run,
// bundles, input, result, outcome, cancel).
func Decision(ctx context.Context, eng *engine.Engine, id string, doc *input.Document, r Run) (store.Decision, error) {
	result, err := eng.Eval(ctx, doc)
	if err != nil {
		return store.Decision{}, fmt.Errorf("judge %s: %w", id, err)
	}
	return Recorded(id, doc, result, r)
}

// Recorded is the decision the server records for doc and result.
func Recorded(id string, doc *input.Document, result *engine.Decision, r Run) (store.Decision, error) {
	if r.Event == "" {
		r.Event = "workflow_run"
	}
	if r.Attempt == 0 {
		r.Attempt = 1
	}
	outcome := store.OutcomeAllow
	if !result.Allow {
		outcome = store.OutcomeDeny
	}
	in, err := json.Marshal(doc)
	if err != nil {
		return store.Decision{}, err
	}
	bundles := map[string]map[string]string{}
	for name, rev := range result.Revisions {
		bundles[name] = map[string]string{"revision": rev}
	}
	log, err := json.Marshal(map[string]any{
		"decision_id": id,
		"labels":      map[string]string{"app": "runpolicy"},
		"path":        "runpolicy/main/decision",
		"bundles":     bundles,
		"input":       json.RawMessage(in),
		"result":      result,
		"timestamp":   r.At,
		"delivery_id": "delivery-" + id,
		"event":       r.Event,
		"run": map[string]any{"repository": r.Repository, "id": r.ID, "attempt": r.Attempt,
			"workflow_path": doc.Workflow.Path, "html_url": fmt.Sprintf("https://github.com/%s/actions/runs/%d", r.Repository, r.ID)},
		"outcome": outcome,
		"cancel":  !result.Allow,
	})
	if err != nil {
		return store.Decision{}, err
	}
	return store.Decision{ID: id, DeliveryID: "delivery-" + id, Event: r.Event, Repository: r.Repository, RunID: r.ID,
		RunAttempt: r.Attempt, Outcome: outcome, Cancel: !result.Allow, CreatedAt: r.At, Log: log}, nil
}
