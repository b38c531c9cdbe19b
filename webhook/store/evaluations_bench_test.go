package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runpolicy/runpolicy/test/pgtest"
)

// BenchmarkEvaluationsMillion loads a million decisions into a Postgres
// database of its own (COPY, about a minute) and measures the console's
// list queries on it: the first page of each filter, and a page half-way
// down the keyset. It runs only with -bench. RUNPOLICY_BENCH_DECISIONS
// changes the count.
//
//	go test -run '^$' -bench EvaluationsMillion -benchtime 200x ./webhook/store/
func BenchmarkEvaluationsMillion(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("RUNPOLICY_BENCH_DECISIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("RUNPOLICY_BENCH_DECISIONS=%q: want a number of at least 1000", v)
		}
	}
	ctx := context.Background()
	_, dsn := pgtest.Database(b)
	s, err := Open(ctx, Options{DSN: dsn})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	start := time.Now()
	if err := loadDecisions(ctx, s, n, now); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d decisions in %s", n, time.Since(start).Round(time.Second))

	// The middle of the newest-first order, for the deep pages.
	middle := func(f EvaluationFilter) *Cursor {
		b.Helper()
		var c Cursor
		var created int64
		cond, args := f.where()
		total, err := s.CountEvaluations(ctx, f)
		if err != nil {
			b.Fatal(err)
		}
		q := "SELECT d.created_at, d.id FROM runpolicy_decision d WHERE " + cond + " ORDER BY d.created_at DESC, d.id DESC OFFSET ? LIMIT 1"
		if err := s.queryRow(ctx, q, append(args, total/2)...).Scan(&created, &c.ID); err != nil {
			b.Fatal(err)
		}
		c.At = fromNanos(created)
		return &c
	}
	all := Scope{All: true}
	readable := Scope{Repositories: repoList(200)}
	week := now.Add(-7 * 24 * time.Hour)
	cases := []struct {
		name string
		f    EvaluationFilter
		deep bool
	}{
		{name: "all", f: EvaluationFilter{Scope: all}},
		{name: "organization", f: EvaluationFilter{Scope: all, Organization: "org07"}},
		{name: "repository", f: EvaluationFilter{Scope: all, Repository: "org07/repo013"}},
		{name: "denied", f: EvaluationFilter{Scope: all, Outcome: OutcomeDeny}},
		{name: "dry-run", f: EvaluationFilter{Scope: all, Outcome: OutcomeDryRun}},
		{name: "organization+denied+week", f: EvaluationFilter{Scope: all, Organization: "org07", Outcome: OutcomeDeny, Since: week}},
		{name: "policy", f: EvaluationFilter{Scope: all, Policy: "compromised_actions"}},
		{name: "policy+organization", f: EvaluationFilter{Scope: all, Policy: "harden_runner", Organization: "org03"}},
		{name: "rare-policy", f: EvaluationFilter{Scope: all, Policy: "impostor_commits"}},
		{name: "workflow+branch+event", f: EvaluationFilter{Scope: all, Workflow: ".github/workflows/ci.yml", Branch: "main", Event: "push"}},
		{name: "reader-200-repos", f: EvaluationFilter{Scope: readable}},
		{name: "reader-200-repos+denied", f: EvaluationFilter{Scope: readable, Outcome: OutcomeDeny}},
		{name: "all", f: EvaluationFilter{Scope: all}, deep: true},
		{name: "organization", f: EvaluationFilter{Scope: all, Organization: "org07"}, deep: true},
		{name: "denied", f: EvaluationFilter{Scope: all, Outcome: OutcomeDeny}, deep: true},
		{name: "policy", f: EvaluationFilter{Scope: all, Policy: "harden_runner"}, deep: true},
		{name: "reader-200-repos", f: EvaluationFilter{Scope: readable}, deep: true},
	}
	for _, tc := range cases {
		page := "first"
		if tc.deep {
			page = "deep"
			tc.f.Before = middle(tc.f)
		}
		tc.f.Limit = 50
		b.Run(page+"/"+tc.name, func(b *testing.B) {
			for b.Loop() {
				p, err := s.Evaluations(ctx, tc.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Evaluations) < 20 {
					b.Fatalf("%d evaluations, want a page", len(p.Evaluations))
				}
			}
		})
	}
	for _, tc := range []struct {
		name string
		f    EvaluationFilter
	}{
		{"stats/all+30d", EvaluationFilter{Scope: all, Since: now.Add(-30 * 24 * time.Hour), Until: now}},
		{"stats/organization+30d", EvaluationFilter{Scope: all, Organization: "org07", Since: now.Add(-30 * 24 * time.Hour), Until: now}},
		{"stats/reader-200-repos+7d", EvaluationFilter{Scope: readable, Since: week, Until: now}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.EvaluationStats(ctx, tc.f, 10); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("count/week", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.CountEvaluations(ctx, EvaluationFilter{Scope: all, Since: week}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// repoList names n repositories of the generated set.
func repoList(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("org%02d/repo%03d", i%20, i/20)
	}
	return out
}

// loadDecisions copies n generated decisions, spread over 90 days up to
// now, into the decision and policy tables: 20 organizations of 50
// repositories, 5 workflows, 3 branches, 3 events; 90% allowed, 5% with
// dry-run findings, 4% denied (one in 5,000 by a rare policy), 1% not
// judged, in time order. Logs are
// small stand-ins: the lists never read them, and Postgres keeps real
// ones (over 2 kB) out of the table's rows anyway.
func loadDecisions(ctx context.Context, s *Store, n int, now time.Time) error {
	rng := rand.New(rand.NewPCG(1, 2))
	span := int64(90 * 24 * time.Hour)
	workflows := []string{".github/workflows/ci.yml", ".github/workflows/release.yml", ".github/workflows/lint.yml",
		".github/workflows/codeql.yml", ".github/workflows/docs.yml"}
	branches := []string{"main", "main", "dev", "feature/x"}
	events := []string{"push", "pull_request", "pull_request", "schedule"}
	log := []byte(`{"decision_id":"x","input":{"schema_version":1},"result":{"allow":true,"violations":[]},"outcome":"allow"}`)
	var decisions, policies [][]any
	flush := func() error {
		if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"runpolicy_decision"},
			[]string{"id", "delivery_id", "event", "repository", "run_id", "run_attempt", "outcome", "cancel", "created_at", "log",
				"owner", "repository_key", "workflow", "branch", "run_event", "dry_run", "summarized"}, pgx.CopyFromRows(decisions)); err != nil {
			return err
		}
		if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"runpolicy_decision_policy"},
			[]string{"decision_id", "policy", "mode", "created_at"}, pgx.CopyFromRows(policies)); err != nil {
			return err
		}
		decisions, policies = decisions[:0], policies[:0]
		return nil
	}
	for i := range n {
		org, repo := rng.IntN(20), rng.IntN(50)
		owner := fmt.Sprintf("org%02d", org)
		repository := fmt.Sprintf("%s/repo%03d", owner, repo)
		// Decisions arrive in time order, a few seconds apart.
		at := now.UnixNano() - span + int64(i)*(span/int64(n)) + rng.Int64N(span/int64(n))
		id := fmt.Sprintf("%016x-%08d", rng.Uint64(), i)
		outcome, dryRun, cancel := OutcomeAllow, 0, 0
		switch r := rng.IntN(10000); {
		case r < 400:
			outcome, cancel = OutcomeDeny, 1
			policies = append(policies, []any{id, "compromised_actions", "enforce", at})
			if r < 200 {
				dryRun = 1
				policies = append(policies, []any{id, "harden_runner", "dry_run", at})
			}
			if r < 2 { // one in 5,000
				policies = append(policies, []any{id, "impostor_commits", "enforce", at})
			}
		case r < 900:
			dryRun = 1
			policies = append(policies, []any{id, []string{"harden_runner", "allowed_actions"}[r%2], "dry_run", at})
		case r < 1000:
			outcome = OutcomeError
		}
		decisions = append(decisions, []any{id, "del-" + id, "workflow_run", repository,
			int64(i), 1, outcome, cancel, at, log, owner, repository, workflows[rng.IntN(len(workflows))],
			branches[rng.IntN(len(branches))], events[rng.IntN(len(events))], dryRun, 1})
		if len(decisions) == 20000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	// What autovacuum does to a table in service: statistics, and the
	// visibility map that lets index-only scans skip the table.
	for _, q := range []string{"VACUUM ANALYZE runpolicy_decision", "VACUUM ANALYZE runpolicy_decision_policy"} {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
