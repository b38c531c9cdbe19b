package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/runpolicy/runpolicy/webhook/store"
)

const inventorySynopsis = `runpolicy inventory [--database URL | --config FILE] [--format text|json] [--limit N]
                      NAME[@REF] | --repository OWNER/REPO`

const inventoryUsage = `Usage: ` + inventorySynopsis + `

Answers from the decisions a server recorded: who used an action, a reusable
workflow or a docker image (NAME: owner/repo[/path], owner/repo also finds
everything under it, or docker://image), optionally at a ref or commit
(@REF: a commit finds the tags that ran at it); or, with --repository, every
one a repository's workflows use. Each row is a repository and workflow that
used it at a ref, with when it was first and last seen and whether that
last run went on or was stopped.

The database is --database (a file or postgres://…), else the database key
of --config (the server's configuration file), else RUNPOLICY_DATABASE, else
runpolicy.db. It is only read, also beside a running server.

Exit status: 0 with rows, 1 when nothing matched, 2 on an error.
`

// runInventory is `runpolicy inventory`.
func runInventory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("inventory", inventorySynopsis, stderr)
	fs.Usage = func() { fmt.Fprint(fs.Output(), inventoryUsage, "\nFlags:\n"); fs.PrintDefaults() }
	database := fs.String("database", "", "the server's database: a file or postgres://…")
	configPath := fs.String("config", "", "the server's configuration `FILE`, for its database")
	repository := fs.String("repository", "", "list what `OWNER/REPO` uses")
	format := fs.String("format", "text", "output format: text or json")
	limit := fs.Int("limit", 1000, "at most `N` rows (at most 10000)")
	rest, err := parseInterspersed(fs, args, stdout)
	if err != nil {
		return flagExit(err, exitError)
	}
	if *format != "text" && *format != "json" {
		return fail(stderr, "inventory: --format %q: want text or json", *format)
	}
	if *limit <= 0 || *limit > 10000 {
		return fail(stderr, "inventory: --limit %d: want 1 to 10000", *limit)
	}
	q := store.InventoryQuery{Repository: *repository, Limit: *limit, Scope: store.Scope{All: true}}
	switch {
	case len(rest) > 1:
		return fail(stderr, "inventory: one NAME at a time (got %d)", len(rest))
	case len(rest) == 1 && q.Repository != "":
		return fail(stderr, "inventory: give NAME or --repository, not both")
	case len(rest) == 1:
		if q.Name, q.Ref, err = store.ParseInventoryName(rest[0]); err != nil {
			return fail(stderr, "%v", err)
		}
	case q.Repository == "":
		return fail(stderr, "inventory: give an action (NAME[@REF]) or --repository OWNER/REPO")
	case strings.Count(q.Repository, "/") != 1:
		return fail(stderr, "inventory: --repository %q: want OWNER/REPO", q.Repository)
	}
	st, _, err := openData(ctx, *database, *configPath)
	if err != nil {
		return fail(stderr, "inventory: %v", err)
	}
	defer st.Close()
	rows, more, err := st.Inventory(ctx, q)
	if err != nil {
		return fail(stderr, "inventory: %v", err)
	}
	if *format == "json" {
		if rows == nil {
			rows = []store.InventoryEntry{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"name": q.Name, "ref": q.Ref, "repository": q.Repository,
			"entries": rows, "truncated": more}); err != nil {
			return fail(stderr, "inventory: %v", err)
		}
	} else {
		writeInventory(stdout, q, rows, more)
	}
	if len(rows) == 0 {
		return exitDenied
	}
	return exitOK
}

// writeInventory prints the rows as a table, one sighting a line.
func writeInventory(w io.Writer, q store.InventoryQuery, rows []store.InventoryEntry, more bool) {
	what := q.Name
	if q.Ref != "" {
		what += "@" + q.Ref
	}
	if q.Repository != "" {
		what = q.Repository
	}
	what = printable(what)
	if len(rows) == 0 {
		fmt.Fprintf(w, "%s: not seen in any recorded run\n", what)
		return
	}
	repos, workflows := map[string]bool{}, map[string]bool{}
	for _, e := range rows {
		repos[e.Repository] = true
		workflows[e.Repository+"\x00"+e.Workflow] = true
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if q.Repository != "" {
		fmt.Fprintf(w, "%s: %s in %s\n", what, plural(len(rows), "reference"), plural(len(workflows), "workflow"))
		fmt.Fprintln(tw, "WORKFLOW\tREFERENCE\tCOMMIT\tVIA\tLAST SEEN\tLAST RUN\tOUTCOME")
		for _, e := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", cell(e.Workflow), reference(e), short(e.SHA), cell(dash(e.Via)),
				e.LastSeen.Format(time.RFC3339), e.LastRunID, outcome(e))
		}
	} else {
		fmt.Fprintf(w, "%s: used by %s in %s\n", what, plural(len(workflows), "workflow"), repositories(len(repos)))
		fmt.Fprintln(tw, "REPOSITORY\tWORKFLOW\tREFERENCE\tCOMMIT\tLAST SEEN\tLAST RUN\tOUTCOME")
		for _, e := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", cell(e.Repository), cell(e.Workflow), reference(e), short(e.SHA),
				e.LastSeen.Format(time.RFC3339), e.LastRunID, outcome(e))
		}
	}
	tw.Flush()
	if more {
		fmt.Fprintf(w, "(the first %d rows; --limit shows more)\n", len(rows))
	}
}

func reference(e store.InventoryEntry) string {
	if e.Ref == "" {
		return cell(e.Name)
	}
	return cell(e.Name + "@" + e.Ref)
}

// cell is a recorded string as one table cell: a workflow's author writes
// it, so no control character (a tab would split the cell) reaches the
// terminal.
func cell(s string) string { return printable(s) }

func short(sha string) string {
	if len(sha) > 12 {
		sha = sha[:12]
	}
	return cell(dash(sha))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func outcome(e store.InventoryEntry) string {
	if e.Stopped {
		return "stopped (" + cell(e.LastOutcome) + ")"
	}
	return "went on (" + cell(e.LastOutcome) + ")"
}

func repositories(n int) string {
	if n == 1 {
		return "1 repository"
	}
	return fmt.Sprintf("%d repositories", n)
}
