package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/engine/input"
)

// finding is a violation in a test decision's result.
type finding struct{ policy, mode string }

// rec describes a decision for the tests, as the webhook records one.
type rec struct {
	id, repo, workflow, branch, event string
	run                               int64
	attempt                           int
	outcome                           string
	cancel                            bool
	at                                time.Time
	uses                              []string // uses: values; "x>y" is y used through x
	resolved                          map[string]string
	findings                          []finding
}

// decisionOf builds the decision and its log entry in the webhook's shape
// (decisionLog): run, input document, result.
func decisionOf(t testing.TB, r rec) Decision {
	t.Helper()
	if r.attempt == 0 {
		r.attempt = 1
	}
	if r.outcome == "" {
		r.outcome = OutcomeAllow
	}
	var uses []input.Use
	for _, raw := range r.uses {
		via, ref, found := strings.Cut(raw, ">")
		if !found {
			ref, via = via, ""
		}
		u := input.ParseUses(ref, strings.Contains(ref, ".github/workflows/"))
		if via != "" {
			u.Via = []string{via}
		}
		if sha, ok := r.resolved[ref]; ok {
			u.ResolvedSHA = &sha
		}
		uses = append(uses, u)
	}
	var violations []map[string]any
	for _, f := range r.findings {
		violations = append(violations, map[string]any{"policy": f.policy, "mode": f.mode, "message": "m"})
	}
	log := map[string]any{
		"decision_id": r.id,
		"run":         map[string]any{"repository": r.repo, "id": r.run, "workflow_path": r.workflow},
		"input": map[string]any{
			"run":      map[string]any{"event": r.event, "branch": r.branch},
			"workflow": map[string]any{"path": r.workflow},
			"uses":     uses,
		},
		"result":  map[string]any{"allow": r.outcome != OutcomeDeny, "violations": violations},
		"outcome": r.outcome,
	}
	if r.outcome == OutcomeError {
		delete(log, "input")
		delete(log, "result")
	}
	b, err := json.Marshal(log)
	if err != nil {
		t.Fatal(err)
	}
	return Decision{ID: r.id, DeliveryID: "del-" + r.id, Event: "workflow_run", Repository: r.repo, RunID: r.run,
		RunAttempt: r.attempt, Outcome: r.outcome, Cancel: r.cancel, CreatedAt: r.at, Log: b}
}

func save(t testing.TB, s *Store, recs ...rec) {
	t.Helper()
	for _, r := range recs {
		if _, err := s.SaveDecision(context.Background(), decisionOf(t, r)); err != nil {
			t.Fatalf("SaveDecision %s: %v", r.id, err)
		}
	}
}

// row is an inventory entry in one line, for comparisons.
func row(e InventoryEntry) string {
	s := fmt.Sprintf("%s %s %s@%s sha=%s run=%d/%d %s stopped=%v", e.Repository, e.Workflow, e.Name, e.Ref, e.SHA,
		e.LastRunID, e.LastRunAttempt, e.LastOutcome, e.Stopped)
	if e.Via != "" {
		s += " via " + e.Via
	}
	return s
}

func inventory(t *testing.T, s *Store, q InventoryQuery) []string {
	t.Helper()
	rows, _, err := s.Inventory(context.Background(), q)
	if err != nil {
		t.Fatalf("Inventory(%+v): %v", q, err)
	}
	out := []string{}
	for _, e := range rows {
		out = append(out, row(e))
	}
	return out
}

const sha1 = "0123456789abcdef0123456789abcdef01234567"
const sha2 = "89abcdef0123456789abcdef0123456789abcdef"

func TestInventoryFilledWithDecisions(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t, dsn, nil)
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			save(t, s,
				rec{id: "a1", repo: "Acme/Web", workflow: ".github/workflows/ci.yml", run: 1, at: t0,
					uses:     []string{"actions/checkout@v4", "actions/setup-go@" + sha1, "./local", "docker://alpine:3", "reviewdog/action-setup@v1"},
					resolved: map[string]string{"actions/checkout@v4": strings.ToUpper(sha2)}},
				rec{id: "a2", repo: "acme/api", workflow: ".github/workflows/release.yml", run: 7, at: t0.Add(time.Hour),
					outcome: OutcomeDeny, cancel: true, findings: []finding{{"compromised_actions", "enforce"}},
					uses: []string{"acme/shared/.github/workflows/build.yml@main", "acme/shared/.github/workflows/build.yml@main>reviewdog/action-setup@v1",
						"Actions/Checkout@v4"}},
			)
			// A later run of the first workflow: last_seen and the run move on, first_seen stays.
			save(t, s, rec{id: "a3", repo: "Acme/Web", workflow: ".github/workflows/ci.yml", run: 2, at: t0.Add(2 * time.Hour),
				uses: []string{"reviewdog/action-setup@v1"}})

			got := inventory(t, s, InventoryQuery{Scope: Scope{All: true}, Name: "reviewdog/action-setup"})
			want := []string{
				"Acme/Web .github/workflows/ci.yml reviewdog/action-setup@v1 sha= run=2/1 allow stopped=false",
				"acme/api .github/workflows/release.yml reviewdog/action-setup@v1 sha= run=7/1 deny stopped=true via acme/shared/.github/workflows/build.yml@main",
			}
			if !slices.Equal(got, want) {
				t.Errorf("who uses reviewdog/action-setup:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			rows, _, _ := s.Inventory(context.Background(), InventoryQuery{Name: "reviewdog/action-setup", Scope: Scope{Repositories: []string{"acme/web"}}})
			if len(rows) != 1 || !rows[0].FirstSeen.Equal(t0) || !rows[0].LastSeen.Equal(t0.Add(2*time.Hour)) || rows[0].LastDecision != "a3" {
				t.Errorf("Acme/Web's row = %+v; want first seen %v, last seen 2h later by a3", rows, t0)
			}

			tests := []struct {
				name string
				q    InventoryQuery
				want []string
			}{
				{"name is case-insensitive, tag and resolved commit kept",
					InventoryQuery{Scope: Scope{All: true}, Name: "ACTIONS/checkout"}, []string{
						"acme/api .github/workflows/release.yml actions/checkout@v4 sha= run=7/1 deny stopped=true",
						"Acme/Web .github/workflows/ci.yml actions/checkout@v4 sha=" + sha2 + " run=1/1 allow stopped=false",
					}},
				{"a commit finds the tag that ran at it",
					InventoryQuery{Scope: Scope{All: true}, Name: "actions/checkout", Ref: strings.ToUpper(sha2)}, []string{
						"Acme/Web .github/workflows/ci.yml actions/checkout@v4 sha=" + sha2 + " run=1/1 allow stopped=false",
					}},
				{"a commit finds a pin to it",
					InventoryQuery{Scope: Scope{All: true}, Name: "actions/setup-go", Ref: sha1}, []string{
						"Acme/Web .github/workflows/ci.yml actions/setup-go@" + sha1 + " sha=" + sha1 + " run=1/1 allow stopped=false",
					}},
				{"another tag finds nothing", InventoryQuery{Scope: Scope{All: true}, Name: "actions/checkout", Ref: "v3"}, []string{}},
				{"owner/repo finds the reusable workflows under it",
					InventoryQuery{Scope: Scope{All: true}, Name: "acme/shared"}, []string{
						"acme/api .github/workflows/release.yml acme/shared/.github/workflows/build.yml@main sha= run=7/1 deny stopped=true",
					}},
				{"docker images", InventoryQuery{Scope: Scope{All: true}, Name: "docker://alpine", Ref: "3"}, []string{
					"Acme/Web .github/workflows/ci.yml docker://alpine@3 sha= run=1/1 allow stopped=false",
				}},
				{"one repository's actions, case-insensitive, local paths left out",
					InventoryQuery{Scope: Scope{All: true}, Repository: "acme/web"}, []string{
						"Acme/Web .github/workflows/ci.yml actions/checkout@v4 sha=" + sha2 + " run=1/1 allow stopped=false",
						"Acme/Web .github/workflows/ci.yml actions/setup-go@" + sha1 + " sha=" + sha1 + " run=1/1 allow stopped=false",
						"Acme/Web .github/workflows/ci.yml docker://alpine@3 sha= run=1/1 allow stopped=false",
						"Acme/Web .github/workflows/ci.yml reviewdog/action-setup@v1 sha= run=2/1 allow stopped=false",
					}},
				{"limited to readable repositories", InventoryQuery{Name: "actions/checkout", Scope: Scope{Owners: []string{"nobody"}, Repositories: []string{"ACME/api"}}}, []string{
					"acme/api .github/workflows/release.yml actions/checkout@v4 sha= run=7/1 deny stopped=true",
				}},
				{"no scope, nothing", InventoryQuery{Name: "actions/checkout"}, []string{}},
				{"an owner's repositories", InventoryQuery{Name: "reviewdog/action-setup", Scope: Scope{Owners: []string{"ACME"}}}, []string{
					"Acme/Web .github/workflows/ci.yml reviewdog/action-setup@v1 sha= run=2/1 allow stopped=false",
					"acme/api .github/workflows/release.yml reviewdog/action-setup@v1 sha= run=7/1 deny stopped=true via acme/shared/.github/workflows/build.yml@main",
				}},
				{"a repository outside the readable ones", InventoryQuery{Repository: "acme/api", Scope: Scope{Repositories: []string{"Acme/Web"}}}, []string{}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					if got := inventory(t, s, tt.q); !slices.Equal(got, tt.want) {
						t.Errorf("Inventory(%+v):\n%s\nwant:\n%s", tt.q, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
					}
				})
			}
		})
	}
}

// The last run decides "went on or was stopped"; a decision recorded late
// does not undo a newer one, and a later decision on the same run attempt
// that lets it through does not undo the cancel.
func TestInventoryLastRun(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t, dsn, nil)
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			base := rec{repo: "acme/web", workflow: "w.yml", uses: []string{"a/b@v1"}}
			step := func(id string, run int64, at time.Duration, outcome string, cancel bool) rec {
				r := base
				r.id, r.run, r.at, r.outcome, r.cancel = id, run, t0.Add(at), outcome, cancel
				return r
			}
			check := func(want string, first, last time.Duration) {
				t.Helper()
				rows, _, err := s.Inventory(context.Background(), InventoryQuery{Scope: Scope{All: true}, Name: "a/b"})
				if err != nil || len(rows) != 1 {
					t.Fatalf("Inventory = %v, %v; want one row", rows, err)
				}
				if got := row(rows[0]); got != want || !rows[0].FirstSeen.Equal(t0.Add(first)) || !rows[0].LastSeen.Equal(t0.Add(last)) {
					t.Errorf("row = %s (first %v, last %v)\nwant %s (first %v, last %v)", got, rows[0].FirstSeen, rows[0].LastSeen,
						want, t0.Add(first), t0.Add(last))
				}
			}
			save(t, s, step("r1-run", 1, time.Hour, OutcomeDeny, true))
			check("acme/web w.yml a/b@v1 sha= run=1/1 deny stopped=true", time.Hour, time.Hour)
			save(t, s, step("r1-job", 1, 2*time.Hour, OutcomeAllow, false))
			check("acme/web w.yml a/b@v1 sha= run=1/1 deny stopped=true", time.Hour, time.Hour)
			save(t, s, step("r0", 0, 0, OutcomeAllow, false)) // recorded late
			check("acme/web w.yml a/b@v1 sha= run=1/1 deny stopped=true", 0, time.Hour)
			save(t, s, step("r2", 2, 3*time.Hour, OutcomeAllow, false))
			check("acme/web w.yml a/b@v1 sha= run=2/1 allow stopped=false", 0, 3*time.Hour)
		})
	}
}

func TestParseInventoryName(t *testing.T) {
	tests := []struct {
		in, name, ref, err string
	}{
		{in: "actions/checkout", name: "actions/checkout"},
		{in: " Actions/Checkout@v4 ", name: "actions/checkout", ref: "v4"},
		{in: "actions/checkout@refs/tags/v4", name: "actions/checkout", ref: "v4"},
		{in: "actions/checkout@" + strings.ToUpper(sha1), name: "actions/checkout", ref: sha1},
		{in: "acme/shared/.github/workflows/b.yml@main", name: "acme/shared/.github/workflows/b.yml", ref: "main"},
		{in: "docker://Alpine:3.19", name: "docker://alpine", ref: "3.19"},
		{in: "", err: "empty name"},
		{in: "checkout", err: "want owner/repo"},
		{in: "./.github/actions/x", err: "local path"},
	}
	for _, tt := range tests {
		name, ref, err := ParseInventoryName(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseInventoryName(%q) error = %v; want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || name != tt.name || ref != tt.ref {
			t.Errorf("ParseInventoryName(%q) = %q, %q, %v; want %q, %q", tt.in, name, ref, err, tt.name, tt.ref)
		}
	}
}
