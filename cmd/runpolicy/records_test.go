package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/replay/replaytest"
	"github.com/runpolicy/runpolicy/test/pgtest"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// databases returns a database per kind filled as a server fills it: the
// corpus workflows judged by the built-in policies, one run each, in
// acme/repo0..2, over the last hour. On Postgres only when it answers (or
// RUNPOLICY_REQUIRE_POSTGRES is set).
func databases(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{"sqlite": filepath.Join(t.TempDir(), "runpolicy.db")}
	reachable := pgtest.Required()
	if !reachable {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, pgtest.URL()); err == nil {
			conn.Close(ctx)
			reachable = true
		}
	}
	if reachable {
		_, out["postgres"] = pgtest.Database(t)
	}
	for _, dsn := range out {
		fill(t, dsn)
	}
	return out
}

func fill(t *testing.T, dsn string) {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, store.Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	eng, err := engine.New(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	facts, names, err := replaytest.Workflows(corpus + "/workflows")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Hour)
	for i, name := range names {
		r := replaytest.Run{Repository: fmt.Sprintf("acme/repo%d", i%3), ID: int64(1000 + i), At: t0.Add(time.Duration(i) * time.Second)}
		d, err := replaytest.Decision(ctx, eng, fmt.Sprintf("dec-%d", i), replaytest.Document(facts[name], name, r), r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInventoryCommand(t *testing.T) {
	for kind, dsn := range databases(t) {
		t.Run(kind, func(t *testing.T) {
			code, out, errOut := runBinary(t, "inventory", "--database", dsn, "reviewdog/action-setup@v1")
			if code != exitOK || !strings.Contains(out, "reviewdog/action-setup@v1: used by 1 workflow in 1 repository") ||
				!matches(`acme/repo\d\s+\.github/workflows/reviewdog__reviewdog__reviewdog\.yml\s+reviewdog/action-setup@v1\s+-\s+\S+Z\s+\d+\s+stopped \(deny\)`, out) {
				t.Errorf("inventory reviewdog/action-setup@v1: exit %d\n%s%s", code, out, errOut)
			}

			code, out, _ = runBinary(t, "inventory", "--database", dsn, "actions/checkout", "--format", "json")
			var doc struct {
				Name    string                 `json:"name"`
				Entries []store.InventoryEntry `json:"entries"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil || code != exitOK || doc.Name != "actions/checkout" || len(doc.Entries) < 10 {
				t.Fatalf("inventory --format json: exit %d, %v, %d entries\n%s", code, err, len(doc.Entries), out)
			}
			repos := map[string]bool{}
			for _, e := range doc.Entries {
				repos[e.Repository] = true
				if e.Name != "actions/checkout" || e.Workflow == "" || e.LastSeen.IsZero() || e.LastRunID < 1000 {
					t.Errorf("entry %+v", e)
				}
			}
			if len(repos) != 3 {
				t.Errorf("actions/checkout used in %d repositories; want 3", len(repos))
			}

			code, out, _ = runBinary(t, "inventory", "--database", dsn, "--repository", "ACME/repo1")
			if code != exitOK || !strings.Contains(out, "ACME/repo1: ") || !strings.Contains(out, "WORKFLOW") || !strings.Contains(out, "actions/checkout@") {
				t.Errorf("inventory --repository: exit %d\n%s", code, out)
			}

			code, out, _ = runBinary(t, "inventory", "--database", dsn, "nobody/uses-this@v1")
			if code != exitDenied || !strings.Contains(out, "nobody/uses-this@v1: not seen in any recorded run") {
				t.Errorf("inventory of an unused action: exit %d\n%s", code, out)
			}
		})
	}
}

func TestInventoryCommandErrors(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "runpolicy.yml")
	if err := os.WriteFile(config, []byte("database: "+filepath.Join(dir, "nothing.db")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"inventory"}, "give an action (NAME[@REF]) or --repository OWNER/REPO"},
		{[]string{"inventory", "a/b", "c/d"}, "one NAME at a time"},
		{[]string{"inventory", "a/b", "--repository", "a/b"}, "not both"},
		{[]string{"inventory", "checkout"}, "want owner/repo"},
		{[]string{"inventory", "--repository", "acme"}, "want OWNER/REPO"},
		{[]string{"inventory", "a/b", "--format", "xml"}, "--format"},
		{[]string{"inventory", "a/b", "--limit", "0"}, "--limit 0"},
		{[]string{"inventory", "a/b", "--database", filepath.Join(dir, "missing.db")}, "missing.db"},
		{[]string{"inventory", "a/b", "--config", config}, "nothing.db"},
		{[]string{"inventory", "a/b", "--config", filepath.Join(dir, "missing.yml")}, "missing.yml"},
		{[]string{"inventory", "a/b", "--database", "postgresql:/x"}, ""},
		{[]string{"replay", "--since", "7d"}, "--policy and --since are required"},
		{[]string{"replay", "--policy", "x", "--since", "soon"}, "--since: time \"soon\""},
		{[]string{"replay", "--policy", "x", "--since", "7d", "--repository", "acme"}, "want OWNER/REPO or OWNER/*"},
		{[]string{"replay", "--policy", "x", "--since", "7d", "--database", filepath.Join(dir, "missing.db")}, "missing.db"},
		{[]string{"replay", "--policy", "x", "--since", "7d", "extra"}, `unexpected argument "extra"`},
	} {
		code, out, errOut := runBinary(t, tc.args...)
		if code != exitError || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d and one line with %q", tc.args, code, out, errOut, exitError, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("reading a missing database created it")
	}
}

// noCheckout is a candidate policy that denies every use of actions/checkout.
const noCheckout = `package runpolicy.policies.no_checkout

deny contains {"uses": u.raw, "message": "actions/checkout is not allowed here"} if {
	some u in input.uses
	lower(u.name) == "actions/checkout"
}
`

// harmlessPolicy finds nothing.
const harmlessPolicy = `package runpolicy.policies.harmless

deny contains {"message": "never"} if {
	input.schema_version == 0
}
`

func TestReplayCommand(t *testing.T) {
	strict := t.TempDir()
	if err := os.WriteFile(filepath.Join(strict, "no_checkout.rego"), []byte(noCheckout), 0o600); err != nil {
		t.Fatal(err)
	}
	harmless := t.TempDir()
	if err := os.WriteFile(filepath.Join(harmless, "harmless.rego"), []byte(harmlessPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	for kind, dsn := range databases(t) {
		t.Run(kind, func(t *testing.T) {
			code, out, errOut := runBinary(t, "replay", "--database", dsn, "--policy", strict, "--since", "2h", "--concurrency", "2")
			if code != exitDenied || !matches(`(?m)^newly denied: [1-9]\d* runs$`, out) || !strings.Contains(out, "newly allowed: 0 runs") ||
				!matches(`(?m)^no_checkout\s+[1-9]\d*\s+0\s+[1-9]\d*\s+0$`, out) ||
				!strings.Contains(out, "    + DENY no_checkout: actions/checkout is not allowed here") ||
				!strings.Contains(out, "https://github.com/acme/repo") {
				t.Errorf("replay of a stricter policy: exit %d\n%s%s", code, out, errOut)
			}

			code, out, errOut = runBinary(t, "replay", "--database", dsn, "--policy", strict, "--since", "2h", "--format", "json",
				"--repository", "acme/repo2")
			var res struct {
				Runs        int `json:"runs"`
				NewlyDenied []struct {
					Repository string `json:"repository"`
				} `json:"newly_denied"`
				Candidate map[string]string `json:"candidate"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil || code != exitDenied || res.Runs == 0 || len(res.NewlyDenied) == 0 ||
				res.Candidate["builtin"] == "" {
				t.Fatalf("replay --format json: exit %d, %v\n%s%s", code, err, out, errOut)
			}
			for _, c := range res.NewlyDenied {
				if c.Repository != "acme/repo2" {
					t.Errorf("--repository acme/repo2 replayed %s", c.Repository)
				}
			}

			code, out, errOut = runBinary(t, "replay", "--database", dsn, "--policy", harmless, "--since", "2h", "--repository", "acme/*")
			if code != exitOK || !strings.Contains(out, "newly denied: 0 runs") || !matches(`unchanged: \d+ runs`, out) {
				t.Errorf("replay of the same policies: exit %d\n%s%s", code, out, errOut)
			}

			// A policy repository's CI: the server's configuration, the
			// configured source replaced by the checkout.
			config := filepath.Join(t.TempDir(), "runpolicy.yml")
			body := fmt.Sprintf("database: %s\nbundles:\n  - name: org\n    url: %s\n", dsn, harmless)
			if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut = runBinary(t, "replay", "--config", config, "--policy", "org="+strict, "--since", "2h")
			if code != exitDenied || !strings.Contains(out, "candidate: builtin builtin-") || !strings.Contains(out, ", org ") {
				t.Errorf("replay --config --policy org=PATH: exit %d\n%s%s", code, out, errOut)
			}
			code, _, errOut = runBinary(t, "replay", "--config", config, "--policy", "org@main", "--since", "2h")
			if code != exitError || !strings.Contains(errOut, "not a git repository") {
				t.Errorf("replay of a ref of a directory source: exit %d, %s", code, errOut)
			}
		})
	}
}

// matches reports whether s matches the regular expression.
func matches(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }
