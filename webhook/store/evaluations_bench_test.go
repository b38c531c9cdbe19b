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
		f.Limit = 1
		var c Cursor
		var created int64
		from, cond, timeCol, idCol, args, err := f.where(false, false)
		if err != nil {
			b.Fatal(err)
		}
		total, err := s.CountEvaluations(ctx, f)
		if err != nil {
			b.Fatal(err)
		}
		q := "SELECT " + timeCol + ", " + idCol + " FROM " + from + " WHERE " + cond + " ORDER BY " + timeCol + " DESC, " + idCol +
			" DESC OFFSET ? LIMIT 1"
		if err := s.queryRow(ctx, q, append(args, total/2)...).Scan(&created, &c.ID); err != nil {
			b.Fatal(err)
		}
		c.CreatedAt = fromNanos(created)
		return &c
	}
	week := now.Add(-7 * 24 * time.Hour)
	cases := []struct {
		name string
		f    EvaluationFilter
		deep bool
	}{
		{name: "all", f: EvaluationFilter{}},
		{name: "organization", f: EvaluationFilter{Organization: "org07"}},
		{name: "repository", f: EvaluationFilter{Repository: "org07/repo013"}},
		{name: "denied", f: EvaluationFilter{Verdict: VerdictDeny}},
		{name: "organization+denied+week", f: EvaluationFilter{Organization: "org07", Verdict: VerdictDeny, Since: week}},
		{name: "policy", f: EvaluationFilter{Policy: "compromised_actions"}},
		{name: "policy+organization", f: EvaluationFilter{Policy: "harden_runner", Organization: "org03"}},
		{name: "workflow+branch+event", f: EvaluationFilter{Workflow: ".github/workflows/ci.yml", Branch: "main", Event: "push"}},
		{name: "readable-200-repos", f: EvaluationFilter{Repositories: repoList(200)}},
		{name: "all", f: EvaluationFilter{}, deep: true},
		{name: "organization", f: EvaluationFilter{Organization: "org07"}, deep: true},
		{name: "denied", f: EvaluationFilter{Verdict: VerdictDeny}, deep: true},
		{name: "policy", f: EvaluationFilter{Policy: "harden_runner"}, deep: true},
	}
	for _, tc := range cases {
		page := "first"
		if tc.deep {
			page = "deep"
			tc.f.After = middle(tc.f)
		}
		tc.f.Limit = 50
		b.Run(page+"/"+tc.name, func(b *testing.B) {
			for b.Loop() {
				p, err := s.Evaluations(ctx, tc.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Evaluations) != 50 {
					b.Fatalf("%d evaluations, want a full page", len(p.Evaluations))
				}
			}
		})
	}
	b.Run("per-day/organization+30d", func(b *testing.B) {
		f := EvaluationFilter{Organization: "org07", Since: now.Add(-30 * 24 * time.Hour)}
		for b.Loop() {
			if _, err := s.EvaluationsPerDay(ctx, f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("top-policies/week", func(b *testing.B) {
		f := EvaluationFilter{Since: week}
		for b.Loop() {
			if _, err := s.TopPolicies(ctx, f, 10); err != nil {
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
// dry-run findings, 4% denied, 1% not judged, in time order. Logs are
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
				"owner", "workflow", "branch", "run_event", "verdict"}, pgx.CopyFromRows(decisions)); err != nil {
			return err
		}
		if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"runpolicy_decision_policy"},
			[]string{"decision_id", "policy", "mode", "findings", "created_at", "owner", "repository"}, pgx.CopyFromRows(policies)); err != nil {
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
		outcome, verdict, cancel := OutcomeAllow, VerdictAllow, 0
		switch r := rng.IntN(100); {
		case r < 4:
			outcome, verdict, cancel = OutcomeDeny, VerdictDeny, 1
			policies = append(policies, []any{id, "compromised_actions", "enforce", 1, at, owner, repository})
			if r < 2 {
				policies = append(policies, []any{id, "harden_runner", "dry_run", 1, at, owner, repository})
			}
		case r < 9:
			verdict = VerdictDryRun
			policies = append(policies, []any{id, []string{"harden_runner", "allowed_actions"}[r%2], "dry_run", 2, at, owner, repository})
		case r < 10:
			outcome, verdict = OutcomeError, VerdictError
		}
		decisions = append(decisions, []any{id, "del-" + id, "workflow_run", repository,
			int64(i), 1, outcome, cancel, at, log, owner, workflows[rng.IntN(len(workflows))], branches[rng.IntN(len(branches))],
			events[rng.IntN(len(events))], verdict})
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
