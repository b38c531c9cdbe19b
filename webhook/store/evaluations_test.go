package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/engine"
)

// evalLog is a decision log entry in the shape webhook writes, with the
// fields the console's columns come from.
func evalLog(t *testing.T, workflow, event, branch string, violations ...[2]string) []byte {
	t.Helper()
	var vs []map[string]any
	for _, v := range violations {
		vs = append(vs, map[string]any{"policy": v[0], "mode": v[1], "message": "m"})
	}
	b, err := json.Marshal(map[string]any{
		"run":    map[string]any{"workflow_path": workflow},
		"input":  map[string]any{"run": map[string]any{"event": event, "branch": branch}, "jobs": []any{map[string]any{"x": 1}}},
		"result": map[string]any{"allow": true, "violations": vs},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type seeded struct {
	id, repo, outcome string
	at                time.Time
	log               []byte
}

func seed(t *testing.T, s *Store, rows []seeded) {
	t.Helper()
	for i, r := range rows {
		d := Decision{ID: r.id, DeliveryID: "del-" + r.id, Event: "workflow_run", Repository: r.repo, RunID: int64(100 + i),
			RunAttempt: 1, Outcome: r.outcome, Cancel: r.outcome == OutcomeDeny, CreatedAt: r.at, Log: r.log}
		if _, err := s.SaveDecision(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
}

func ids(list []Evaluation) []string {
	var out []string
	for _, e := range list {
		out = append(out, e.ID)
	}
	return out
}

// The store spells the enforce mode itself rather than import the
// engine; it must spell it as the engine writes it into the logs.
func TestModeEnforceIsTheEngines(t *testing.T) {
	if modeEnforce != engine.ModeEnforce {
		t.Errorf("store's modeEnforce = %q, engine.ModeEnforce = %q", modeEnforce, engine.ModeEnforce)
	}
}

func TestEvaluationsFilterAndScope(t *testing.T) {
	base := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil)
			seed(t, s, []seeded{
				{"e1", "Acme/API", OutcomeDeny, base, evalLog(t, ".github/workflows/ci.yml", "pull_request", "feature",
					[2]string{"compromised_actions", "enforce"}, [2]string{"harden_runner", "dry_run"})},
				{"e2", "acme/web", OutcomeAllow, base.Add(time.Hour), evalLog(t, ".github/workflows/build.yml", "push", "main")},
				{"e3", "acme/web", OutcomeAllow, base.Add(2 * time.Hour), evalLog(t, ".github/workflows/lint.yml", "push", "main",
					[2]string{"allowed_actions", "dry_run"})},
				{"e4", "secret/vault", OutcomeError, base.Add(3 * time.Hour), []byte(`{"run":{"workflow_path":".github/workflows/x.yml"},"error":{"code":"timeout"}}`)},
				{"e5", "other/tool", OutcomeDeny, base.Add(24 * time.Hour), evalLog(t, ".github/workflows/ci.yml", "push", "main",
					[2]string{"compromised_actions", "enforce"})},
				// Approval events share the decision log; they are not evaluations.
				{"approved", "acme/web", "approved", base.Add(90 * time.Minute), []byte(`{"event":"check_run","outcome":"approved"}`)},
				{"revoked", "acme/api", "revoked", base.Add(150 * time.Minute), []byte(`{"event":"approval_revoke","outcome":"revoked"}`)},
			})
			all := Scope{All: true}
			for _, tc := range []struct {
				name string
				f    EvaluationFilter
				want []string
			}{
				{"everything, newest first", EvaluationFilter{Scope: all}, []string{"e5", "e4", "e3", "e2", "e1"}},
				{"the zero scope sees nothing", EvaluationFilter{}, nil},
				{"repositories, case ignored", EvaluationFilter{Scope: Scope{Repositories: []string{"acme/api", "ACME/web"}}}, []string{"e3", "e2", "e1"}},
				{"owned organizations", EvaluationFilter{Scope: Scope{Owners: []string{"SECRET"}}}, []string{"e4"}},
				{"owners or repositories", EvaluationFilter{Scope: Scope{Owners: []string{"other"}, Repositories: []string{"acme/api"}}}, []string{"e5", "e1"}},
				{"a filter does not widen the scope", EvaluationFilter{Scope: Scope{Repositories: []string{"acme/web"}}, Repository: "secret/vault"}, nil},
				{"organization", EvaluationFilter{Scope: all, Organization: "ACME"}, []string{"e3", "e2", "e1"}},
				{"repository", EvaluationFilter{Scope: all, Repository: "acme/api"}, []string{"e1"}},
				{"workflow", EvaluationFilter{Scope: all, Workflow: ".github/workflows/ci.yml"}, []string{"e5", "e1"}},
				{"branch", EvaluationFilter{Scope: all, Branch: "main"}, []string{"e5", "e3", "e2"}},
				{"event", EvaluationFilter{Scope: all, Event: "pull_request"}, []string{"e1"}},
				{"denied", EvaluationFilter{Scope: all, Outcome: OutcomeDeny}, []string{"e5", "e1"}},
				{"allowed", EvaluationFilter{Scope: all, Outcome: OutcomeAllow}, []string{"e3", "e2"}},
				{"dry-run findings only", EvaluationFilter{Scope: all, Outcome: OutcomeDryRun}, []string{"e3"}},
				{"error", EvaluationFilter{Scope: all, Outcome: OutcomeError}, []string{"e4"}},
				{"policy", EvaluationFilter{Scope: all, Policy: "compromised_actions"}, []string{"e5", "e1"}},
				{"policy in dry run", EvaluationFilter{Scope: all, Policy: "harden_runner"}, []string{"e1"}},
				{"time range", EvaluationFilter{Scope: all, Since: base.Add(time.Hour), Until: base.Add(3 * time.Hour)}, []string{"e3", "e2"}},
				{"everything at once", EvaluationFilter{Scope: all, Organization: "acme", Workflow: ".github/workflows/lint.yml", Branch: "main",
					Event: "push", Outcome: OutcomeDryRun, Policy: "allowed_actions", Since: base, Until: base.Add(day)}, []string{"e3"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					page, err := s.Evaluations(ctx, tc.f)
					if err != nil {
						t.Fatal(err)
					}
					if got := ids(page.Evaluations); !slices.Equal(got, tc.want) {
						t.Errorf("evaluations = %v, want %v", got, tc.want)
					}
				})
			}
			page, err := s.Evaluations(ctx, EvaluationFilter{Scope: all, Repository: "acme/api"})
			if err != nil || len(page.Evaluations) != 1 {
				t.Fatalf("Evaluations = %+v, %v", page, err)
			}
			e := page.Evaluations[0]
			want := []PolicyMode{{"compromised_actions", "enforce"}, {"harden_runner", "dry_run"}}
			if e.Workflow != ".github/workflows/ci.yml" || e.Branch != "feature" || e.RunEvent != "pull_request" ||
				!e.DryRun || !e.Cancel || !slices.Equal(e.Policies, want) || e.Repository != "Acme/API" {
				t.Errorf("evaluation = %+v", e)
			}
		})
	}
}

func TestEvaluationsKeysetPaging(t *testing.T) {
	base := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil)
			var rows []seeded
			for i := range 7 {
				// e2, e3 and e4 share a time: the id orders them.
				at := base.Add(time.Duration(i) * time.Minute)
				if i >= 2 && i <= 4 {
					at = base.Add(2 * time.Minute)
				}
				rows = append(rows, seeded{fmt.Sprintf("e%d", i), "acme/api", OutcomeAllow, at, evalLog(t, "w", "push", "main")})
			}
			seed(t, s, rows)
			f := EvaluationFilter{Scope: Scope{Repositories: []string{"acme/api"}}, Limit: 3}
			var pages [][]string
			var cursors []*Cursor
			for {
				page, err := s.Evaluations(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, ids(page.Evaluations))
				cursors = append(cursors, page.Newer)
				if page.Older == nil {
					break
				}
				f.Before = page.Older
			}
			want := [][]string{{"e6", "e5", "e4"}, {"e3", "e2", "e1"}, {"e0"}}
			if fmt.Sprint(pages) != fmt.Sprint(want) {
				t.Fatalf("pages = %v, want %v", pages, want)
			}
			if cursors[0] != nil {
				t.Errorf("the first page has a newer page: %v", cursors[0])
			}
			// Back from the last page: After its newer cursor is the middle page.
			f.Before, f.After = nil, cursors[2]
			page, err := s.Evaluations(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(page.Evaluations); !slices.Equal(got, want[1]) || page.Newer == nil || page.Older == nil {
				t.Errorf("newer page = %v (newer %v, older %v), want %v with both neighbours", got, page.Newer, page.Older, want[1])
			}
			f.After = page.Newer
			page, err = s.Evaluations(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(page.Evaluations); !slices.Equal(got, want[0]) || page.Newer != nil {
				t.Errorf("first page again = %v (newer %v), want %v and no newer page", got, page.Newer, want[0])
			}
			c, err := ParseCursor(cursors[1].String())
			if err != nil || c.ID != cursors[1].ID || !c.At.Equal(cursors[1].At) {
				t.Errorf("ParseCursor(%q) = %v, %v", cursors[1].String(), c, err)
			}
			for _, bad := range []string{"", "x.e1", "12", "-5.e1", "12."} {
				if _, err := ParseCursor(bad); err == nil {
					t.Errorf("ParseCursor(%q) accepted", bad)
				}
			}
		})
	}
}

func TestEvaluationByIDAndActions(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil)
			now := time.Now()
			seed(t, s, []seeded{
				{"e1", "acme/api", OutcomeDeny, now, evalLog(t, "w", "push", "main", [2]string{"compromised_actions", "enforce"})},
				{"e2", "secret/vault", OutcomeDeny, now, evalLog(t, "w", "push", "main")},
			})
			key := RunKey{Repository: "acme/api", RunID: 100, Attempt: 1}
			for _, name := range []string{"judge:workflow_run", "cancel", "check_run"} {
				if _, err := s.Claim(ctx, key, name, "e1", 1); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Complete(ctx, key, "cancel", "e1", "accepted"); err != nil {
				t.Fatal(err)
			}
			d, actions, err := s.Evaluation(ctx, Scope{Repositories: []string{"acme/api"}}, "e1")
			if err != nil || d.ID != "e1" || len(actions) != 2 {
				t.Fatalf("Evaluation = %+v, %+v, %v", d, actions, err)
			}
			for _, sc := range []Scope{{}, {Repositories: []string{"acme/web"}}, {Owners: []string{"secret"}}} {
				if _, _, err := s.Evaluation(ctx, sc, "e1"); !errors.Is(err, ErrNotFound) {
					t.Errorf("Evaluation in %+v = %v, want ErrNotFound", sc, err)
				}
			}
			if _, _, err := s.Evaluation(ctx, Scope{All: true}, "nope"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Evaluation of a missing id = %v, want ErrNotFound", err)
			}
			page, err := s.Evaluations(ctx, EvaluationFilter{Scope: Scope{All: true}, Repository: "acme/api"})
			if err != nil || len(page.Evaluations) != 1 {
				t.Fatal(page, err)
			}
			// Only what was done is listed: the check run is still open.
			if a := page.Evaluations[0].Actions; len(a) != 1 || a[0].Name != "cancel" || a[0].DoneAt.IsZero() {
				t.Errorf("actions = %+v, want the done cancel", a)
			}
		})
	}
}

func TestEvaluationStats(t *testing.T) {
	since := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil)
			seed(t, s, []seeded{
				{"a", "acme/api", OutcomeDeny, since.Add(time.Hour), evalLog(t, "w", "push", "main", [2]string{"compromised_actions", "enforce"}, [2]string{"harden_runner", "dry_run"})},
				{"b", "acme/api", OutcomeAllow, since.Add(2 * time.Hour), evalLog(t, "w", "push", "main", [2]string{"harden_runner", "dry_run"})},
				{"c", "acme/api", OutcomeAllow, since.Add(day + time.Hour), evalLog(t, "w", "push", "main")},
				{"d", "acme/api", OutcomeError, since.Add(2*day + time.Hour), []byte(`{}`)},
				{"e", "secret/vault", OutcomeDeny, since.Add(time.Hour), evalLog(t, "w", "push", "main", [2]string{"secret_exfiltration", "enforce"})},
				{"f", "acme/api", OutcomeDeny, since.Add(-time.Hour), evalLog(t, "w", "push", "main", [2]string{"compromised_actions", "enforce"})},
				{"g", "acme/api", "revoked", since.Add(3 * time.Hour), []byte(`{"event":"approval_revoke","outcome":"revoked"}`)},
			})
			st, err := s.EvaluationStats(ctx, EvaluationFilter{Scope: Scope{Repositories: []string{"acme/api"}}, Since: since, Until: since.Add(3 * day)}, 5)
			if err != nil {
				t.Fatal(err)
			}
			want := []DayCount{{Day: since, DryRun: 1, Deny: 1}, {Day: since.Add(day), Allow: 1}, {Day: since.Add(2 * day), Errors: 1}}
			if fmt.Sprint(st.Days) != fmt.Sprint(want) || st.Total != 4 {
				t.Errorf("days = %v (total %d), want %v (4)", st.Days, st.Total, want)
			}
			wantTop := []PolicyCount{{"harden_runner", 2, 0}, {"compromised_actions", 1, 1}}
			if !slices.Equal(st.TopPolicies, wantTop) {
				t.Errorf("top policies = %v, want %v (secret_exfiltration is out of scope)", st.TopPolicies, wantTop)
			}
			if _, err := s.EvaluationStats(ctx, EvaluationFilter{Scope: Scope{All: true}}, 5); err == nil {
				t.Error("stats without a time range accepted")
			}
		})
	}
}

// Decisions saved before the console's columns existed are summarized
// when the store opens.
func TestDecisionsSavedBeforeAreSummarized(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, dsn, nil)
			for i, log := range [][]byte{
				evalLog(t, ".github/workflows/ci.yml", "push", "main", [2]string{"compromised_actions", "enforce"}),
				[]byte(`not json`),
			} {
				if _, err := s.exec(ctx, `INSERT INTO runpolicy_decision
					(id, delivery_id, event, repository, run_id, run_attempt, outcome, cancel, created_at, log)
					VALUES (?, ?, 'workflow_run', 'Acme/API', ?, 1, 'deny', 1, ?, ?)`,
					fmt.Sprintf("old-%d", i), fmt.Sprintf("del-%d", i), i, time.Now().UnixNano(), log); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.summarizeDecisions(ctx); err != nil {
				t.Fatal(err)
			}
			page, err := s.Evaluations(ctx, EvaluationFilter{Scope: Scope{Repositories: []string{"acme/api"}}, Policy: "compromised_actions"})
			if err != nil || !slices.Equal(ids(page.Evaluations), []string{"old-0"}) || page.Evaluations[0].Workflow != ".github/workflows/ci.yml" {
				t.Errorf("policy filter after summarizing = %+v, %v", page.Evaluations, err)
			}
			// The unreadable log keeps its repository: it stays visible to readers.
			page, err = s.Evaluations(ctx, EvaluationFilter{Scope: Scope{Owners: []string{"acme"}}})
			if err != nil || len(page.Evaluations) != 2 {
				t.Errorf("scope after summarizing = %v, %v", ids(page.Evaluations), err)
			}
			var left int
			if err := s.queryRow(ctx, "SELECT count(*) FROM runpolicy_decision WHERE summarized = 0").Scan(&left); err != nil || left != 0 {
				t.Errorf("unsummarized = %d, %v", left, err)
			}
		})
	}
}
