package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// evaluationSet records 40 decisions over 4 days in two organizations,
// and returns their ids newest first.
func evaluationSet(t *testing.T, s *Store, t0 time.Time) []string {
	t.Helper()
	var ids []string
	for i := range 40 {
		r := rec{id: fmt.Sprintf("e%02d", i), repo: []string{"acme/web", "acme/api", "other/x"}[i%3],
			workflow: []string{"ci.yml", "release.yml"}[i%2], branch: []string{"main", "dev"}[i%4/3],
			event: []string{"push", "pull_request"}[i%5/4], run: int64(100 + i), at: t0.Add(time.Duration(i) * 2 * time.Hour)}
		switch {
		case i%10 == 0:
			r.outcome, r.cancel, r.findings = OutcomeDeny, true, []finding{{"compromised_actions", "enforce"}, {"harden_runner", "dry_run"}}
		case i%10 == 5:
			r.findings = []finding{{"harden_runner", "dry_run"}, {"harden_runner", "dry_run"}}
		case i%10 == 7:
			r.outcome = OutcomeError
		}
		save(t, s, r)
		ids = append([]string{r.id}, ids...)
	}
	return ids
}

func ids(list []Evaluation) []string {
	out := []string{}
	for _, e := range list {
		out = append(out, e.ID)
	}
	return out
}

func TestEvaluationsFilters(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t, dsn, nil)
			t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			all := evaluationSet(t, s, t0)
			// want keeps the ids, newest first, of the decisions ok accepts.
			want := func(ok func(i int) bool) []string {
				out := []string{}
				for _, id := range all {
					var i int
					fmt.Sscanf(id, "e%d", &i)
					if ok(i) {
						out = append(out, id)
					}
				}
				return out
			}
			tests := []struct {
				name string
				f    EvaluationFilter
				want []string
			}{
				{"organization", EvaluationFilter{Organization: "other"}, want(func(i int) bool { return i%3 == 2 })},
				{"repository", EvaluationFilter{Repository: "acme/api"}, want(func(i int) bool { return i%3 == 1 })},
				{"workflow and branch", EvaluationFilter{Workflow: "release.yml", Branch: "dev"},
					want(func(i int) bool { return i%2 == 1 && i%4/3 == 1 && i%10 != 7 })}, // errors have no branch
				{"event", EvaluationFilter{Event: "pull_request"}, want(func(i int) bool { return i%5 == 4 })},
				{"denied", EvaluationFilter{Verdict: VerdictDeny}, want(func(i int) bool { return i%10 == 0 })},
				{"dry-run findings only", EvaluationFilter{Verdict: VerdictDryRun}, want(func(i int) bool { return i%10 == 5 })},
				{"error", EvaluationFilter{Verdict: VerdictError}, want(func(i int) bool { return i%10 == 7 })},
				{"allowed", EvaluationFilter{Verdict: VerdictAllow}, want(func(i int) bool { return i%10 != 0 && i%10 != 5 && i%10 != 7 })},
				{"policy", EvaluationFilter{Policy: "harden_runner"}, want(func(i int) bool { return i%10 == 0 || i%10 == 5 })},
				{"policy and repository", EvaluationFilter{Policy: "compromised_actions", Repository: "acme/web"},
					want(func(i int) bool { return i%10 == 0 && i%3 == 0 })},
				{"time range", EvaluationFilter{Since: t0.Add(10 * time.Hour), Until: t0.Add(20 * time.Hour)},
					want(func(i int) bool { return i >= 5 && i < 10 })},
				{"policy and time range", EvaluationFilter{Policy: "harden_runner", Since: t0.Add(20 * time.Hour), Until: t0.Add(30 * time.Hour)},
					want(func(i int) bool { return i == 10 })},
				{"readable repositories", EvaluationFilter{Repositories: []string{"acme/web", "other/x"}}, want(func(i int) bool { return i%3 != 1 })},
				{"no readable repository", EvaluationFilter{Repositories: []string{}}, []string{}},
				{"readable repositories and policy", EvaluationFilter{Repositories: []string{"acme/api"}, Policy: "compromised_actions"},
					want(func(i int) bool { return i%10 == 0 && i%3 == 1 })},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					tt.f.Limit = 1000
					page, err := s.Evaluations(context.Background(), tt.f)
					if err != nil {
						t.Fatal(err)
					}
					if got := ids(page.Evaluations); !slices.Equal(got, tt.want) {
						t.Errorf("Evaluations(%+v) = %v\nwant %v", tt.f, got, tt.want)
					}
					if page.Next != nil {
						t.Errorf("Next = %v on the only page", page.Next)
					}
				})
			}

			page, err := s.Evaluations(context.Background(), EvaluationFilter{Repository: "acme/web", Limit: 1})
			if err != nil || len(page.Evaluations) != 1 {
				t.Fatalf("Evaluations = %+v, %v", page, err)
			}
			e := page.Evaluations[0]
			if e.ID != "e39" || e.Organization != "acme" || e.Workflow != "release.yml" || e.Branch != "dev" || e.Event != "pull_request" ||
				e.DeliveryEvent != "workflow_run" || e.RunID != 139 || e.Verdict != VerdictAllow || e.Log != nil {
				t.Errorf("newest evaluation = %+v", e)
			}
			page, _ = s.Evaluations(context.Background(), EvaluationFilter{Verdict: VerdictDeny, Limit: 1, WithLog: true})
			e = page.Evaluations[0]
			wantHits := []PolicyHit{{"compromised_actions", "enforce", 1}, {"harden_runner", "dry_run", 1}}
			if e.ID != "e30" || !e.Cancel || !slices.Equal(e.Policies, wantHits) || !strings.Contains(string(e.Log), `"decision_id":"e30"`) {
				t.Errorf("newest deny = %+v; want e30, cancelled, with %v and its log", e, wantHits)
			}
		})
	}
}

// Paging by cursor visits every decision once, newest first, also when
// decisions share a time, with and without a policy.
func TestEvaluationsKeysetPaging(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t, dsn, nil)
			t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			var want []string
			for i := range 23 {
				// Three decisions per instant: the id breaks the tie.
				r := rec{id: fmt.Sprintf("k%02d", i), repo: "acme/web", run: int64(i), at: t0.Add(time.Duration(i/3) * time.Minute),
					findings: []finding{{"p", "dry_run"}}}
				save(t, s, r)
				want = append([]string{r.id}, want...)
			}
			for _, f := range []EvaluationFilter{{Limit: 5}, {Limit: 5, Policy: "p"}, {Limit: 4, Organization: "acme"}} {
				var got []string
				pages := 0
				for {
					page, err := s.Evaluations(context.Background(), f)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, ids(page.Evaluations)...)
					pages++
					if page.Next == nil {
						break
					}
					c, err := ParseCursor(page.Next.String())
					if err != nil || c != *page.Next {
						t.Fatalf("cursor %v round trip = %v, %v", page.Next, c, err)
					}
					f.After = &c
				}
				if !slices.Equal(got, want) || pages != (len(want)+f.Limit-1)/f.Limit {
					t.Errorf("paging %+v in %d pages: %v\nwant %v", f, pages, got, want)
				}
			}
		})
	}
}

func TestParseCursor(t *testing.T) {
	for _, bad := range []string{"", "x", "12", ".id", "0.id", "-5.id", "12.", "abc.id"} {
		if _, err := ParseCursor(bad); err == nil {
			t.Errorf("ParseCursor(%q) succeeded", bad)
		}
	}
}

func TestEvaluationStats(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t, dsn, nil)
			t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			evaluationSet(t, s, t0)
			days, err := s.EvaluationsPerDay(context.Background(), EvaluationFilter{Organization: "acme", Since: t0.Add(48 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range days {
				got = append(got, fmt.Sprintf("%s %s %d", d.Day.Format("01-02"), d.Verdict, d.Count))
			}
			// Days 3 and 4 (i 24..39), organization acme (i%3 != 2).
			want := []string{"03-03 allow 5", "03-03 deny 1", "03-03 dry_run 1", "03-03 error 1",
				"03-04 allow 2", "03-04 error 1"}
			if !slices.Equal(got, want) {
				t.Errorf("EvaluationsPerDay = %v\nwant %v", got, want)
			}
			top, err := s.TopPolicies(context.Background(), EvaluationFilter{}, 10)
			if err != nil {
				t.Fatal(err)
			}
			wantTop := []PolicyCount{{"harden_runner", 8, 0}, {"compromised_actions", 4, 4}}
			if !slices.Equal(top, wantTop) {
				t.Errorf("TopPolicies = %v; want %v", top, wantTop)
			}
			top, _ = s.TopPolicies(context.Background(), EvaluationFilter{Repositories: []string{}}, 10)
			if len(top) != 0 {
				t.Errorf("TopPolicies with no readable repository = %v", top)
			}
		})
	}
}
