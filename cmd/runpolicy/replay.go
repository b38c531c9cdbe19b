package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/internal/oneline"
	"github.com/runpolicy/runpolicy/replay"
	"github.com/runpolicy/runpolicy/webhook/store"
)

const replaySynopsis = `runpolicy replay --policy SRC --since WHEN [--until WHEN] [--repository OWNER/REPO|OWNER/*]…
                      [--database URL | --config FILE] [--allow-builtin NAME]… [--concurrency N]
                      [--format text|json]`

const replayUsage = `Usage: ` + replaySynopsis + `

Evaluates the input documents of the decisions a server recorded with a
candidate policy set, and prints what would have gone differently: the runs
newly denied, newly allowed, and those whose findings changed, with counts
per policy. The candidate is the built-in policies, the configured bundle
sources of --config, and the change SRC makes:

  NAME@REF    the configured git source NAME at the branch, tag or commit REF
  NAME=PATH   the configured source NAME replaced by PATH
  PATH        PATH beside the configured sources

PATH is what eval --policy takes: a directory, a .tar.gz bundle, an http(s)
bundle URL, or git::URL[//subdir][?ref=REF]. In a policy repository's CI,
--policy org=. with the server's --config says what the change would have
stopped. WHEN is a duration back from now (7d, 36h), a date (2026-03-01) or
an RFC 3339 time.

The database is --database (a file or postgres://…), else the database key
of --config, else RUNPOLICY_DATABASE, else runpolicy.db. It is only read.

Exit status: 0 when no run would newly be denied, 1 when some would, 2 on an
error.
`

// runReplay is `runpolicy replay`.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("replay", replaySynopsis, stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), replayUsage, "\nFlags:\n"); fs.PrintDefaults() }
	policy := fs.String("policy", "", "the candidate: `SRC` is NAME@REF, NAME=PATH or PATH")
	since := fs.String("since", "", "replay the decisions made since `WHEN` (7d, 2026-03-01, RFC 3339)")
	until := fs.String("until", "", "and before `WHEN` (default now)")
	var repos, allow listFlag
	fs.Var(&repos, "repository", "only `OWNER/REPO`'s decisions, or OWNER/*'s (repeatable)")
	fs.Var(&allow, "allow-builtin", "let policies call the network built-in `NAME` (repeatable)")
	database := fs.String("database", "", "the server's database: a file or postgres://…")
	configPath := fs.String("config", "", "the server's configuration `FILE`: its database and bundle sources")
	concurrency := fs.Int("concurrency", 0, "evaluations at once (default: the cores)")
	format := fs.String("format", "text", "output format: text or json")
	rest, err := parseInterspersed(fs, args, stdout)
	if err != nil {
		return flagExit(err, exitError)
	}
	if len(rest) > 0 {
		return fail(stderr, "replay: unexpected argument %q", rest[0])
	}
	if *format != "text" && *format != "json" {
		return fail(stderr, "replay: --format %q: want text or json", *format)
	}
	if *policy == "" || *since == "" {
		return fail(stderr, "replay: --policy and --since are required")
	}
	if *concurrency < 0 || *concurrency > 256 {
		return fail(stderr, "replay: --concurrency %d: want 1 to 256", *concurrency)
	}
	now := time.Now()
	req := replay.Request{Policy: *policy}
	if req.Since, err = replay.ParseTime(*since, now); err != nil {
		return fail(stderr, "replay: --since: %v", err)
	}
	if *until != "" {
		if req.Until, err = replay.ParseTime(*until, now); err != nil {
			return fail(stderr, "replay: --until: %v", err)
		}
	}
	// Every repository, or those --repository names: OWNER/REPO, or
	// OWNER/* for all of an owner's.
	req.Scope = store.Scope{All: len(repos) == 0}
	for _, r := range repos {
		owner, name, ok := strings.Cut(r, "/")
		switch {
		case !ok || owner == "" || name == "" || strings.Contains(name, "/"):
			return fail(stderr, "replay: --repository %q: want OWNER/REPO or OWNER/*", r)
		case name == "*":
			req.Scope.Owners = append(req.Scope.Owners, owner)
		default:
			req.Scope.Repositories = append(req.Scope.Repositories, r)
		}
	}
	st, cfg, err := openData(ctx, *database, *configPath)
	if err != nil {
		return fail(stderr, "replay: %v", err)
	}
	defer st.Close()
	p := replay.Policies{AllowBuiltins: append(cfg.allowedBuiltins(), allow...)}
	if *configPath != "" {
		p.Sources = cfg.Bundles
		if p.Tokens, err = cliAppTokens(cfg); err != nil {
			return fail(stderr, "replay: %v", err)
		}
	}
	candidate, err := p.Candidate(ctx, *policy)
	if err != nil {
		return fail(stderr, "%v", err)
	}
	res, err := replay.Run(ctx, st, candidate, req, replay.Options{Concurrency: *concurrency})
	if err != nil {
		return fail(stderr, "%v", err)
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return fail(stderr, "replay: %v", err)
		}
	} else {
		writeReplay(stdout, res)
	}
	if res.NewlyDeniedRuns > 0 {
		return exitDenied
	}
	return exitOK
}

// cliAppTokens gives token_from_app sources the App's installation
// tokens when the configuration has the App's credentials, nil otherwise
// (such a source then fails, saying it needs the App).
func cliAppTokens(cfg *serveConfig) (func(ctx context.Context, repo string) (string, error), error) {
	if cfg.AppID <= 0 || (cfg.PrivateKey == "" && cfg.PrivateKeyFile == "") {
		return nil, nil
	}
	key, err := cfg.privateKey()
	if err != nil {
		return nil, err
	}
	api := cfg.GitHubAPIURL
	if api == "" {
		api = "https://api.github.com"
	}
	app, err := github.NewApp(github.Config{AppID: cfg.AppID, PrivateKey: key, APIURL: api, Timeout: cfg.GitHubTimeout})
	if err != nil {
		return nil, err
	}
	return appTokens(app), nil
}

// writeReplay prints a replay's result for people.
func writeReplay(w io.Writer, r *replay.Result) {
	fmt.Fprintf(w, "replayed %s of %s from %s to %s in %s",
		plural(r.Replayed, "decision"), plural(r.Runs, "run"), r.Since.UTC().Format(time.RFC3339), r.Until.UTC().Format(time.RFC3339),
		r.Elapsed.Round(time.Millisecond))
	if r.Skipped > 0 {
		fmt.Fprintf(w, " (%d skipped: not judged when recorded)", r.Skipped)
	}
	fmt.Fprintln(w)
	var revs []string
	for _, name := range slices.Sorted(maps.Keys(r.Candidate)) {
		revs = append(revs, name+" "+r.Candidate[name])
	}
	fmt.Fprintf(w, "candidate: %s\n", strings.Join(revs, ", "))
	if r.Errors > 0 {
		fmt.Fprintf(w, "the candidate failed on %s (denied, as the server would)\n", plural(r.Errors, "document"))
	}
	fmt.Fprintf(w, "newly denied: %s\nnewly allowed: %s\nfindings changed: %s\nunchanged: %s\n",
		plural(r.NewlyDeniedRuns, "run"), plural(r.NewlyAllowedRuns, "run"), plural(r.FindingsChangedRuns, "run"),
		plural(r.UnchangedRuns, "run"))
	if len(r.Policies) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "POLICY\tNEWLY DENIED\tNEWLY ALLOWED\tNOW FIRES IN\tNO LONGER FIRES IN")
		for _, p := range r.Policies {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", oneLineString(p.Policy), p.NewlyDenied, p.NewlyAllowed, p.Added, p.Removed)
		}
		tw.Flush()
	}
	for _, list := range []struct {
		title string
		runs  []replay.RunChange
	}{{"newly denied", r.NewlyDenied}, {"newly allowed", r.NewlyAllowed}, {"findings changed", r.FindingsChanged}} {
		if len(list.runs) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", list.title)
		for _, c := range list.runs {
			fmt.Fprintf(w, "  %s run %d attempt %d (%s)", oneLineString(c.Repository), c.RunID, c.RunAttempt, oneLineString(c.Workflow))
			if c.URL != "" {
				fmt.Fprintf(w, " %s", oneLineString(c.URL))
			}
			fmt.Fprintln(w)
			for _, f := range c.Added {
				fmt.Fprintf(w, "    + %s\n", findingLine(f))
			}
			for _, f := range c.Removed {
				fmt.Fprintf(w, "    - %s\n", findingLine(f))
			}
		}
	}
	if r.Truncated {
		fmt.Fprintln(w, "\n(the lists are cut at 1000 runs each; the counts are whole)")
	}
}

// findingLine is one finding in a line, as eval prints them.
func findingLine(f replay.Finding) string {
	mode := "DRY-RUN"
	if f.Mode == engine.ModeEnforce {
		mode = "DENY"
	}
	s := fmt.Sprintf("%s %s: %s", mode, oneLineString(f.Policy), oneLineString(f.Message))
	var where []string
	if f.Job != "" {
		where = append(where, "job "+oneLineString(f.Job))
	}
	if f.Line > 0 {
		where = append(where, fmt.Sprintf("line %d", f.Line))
	}
	if len(where) > 0 {
		s += " (" + strings.Join(where, ", ") + ")"
	}
	return s
}

// oneLineString keeps a recorded string on one line of the report, with
// no control character: workflows, and so findings, are anyone's to write.
func oneLineString(s string) string { return printable(oneline.Fold(s)) }
