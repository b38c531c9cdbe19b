package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/runpolicy/runpolicy/bundles"
	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// openData opens the database a server records decisions in, for reading:
// --database, else the database key of --config, else RUNPOLICY_DATABASE,
// else runpolicy.db, as serve would. It returns the configuration read
// (defaults filled) too.
func openData(ctx context.Context, database, configPath string) (*store.Store, *serveConfig, error) {
	cfg, err := loadDataConfig(configPath, os.Environ())
	if err != nil {
		return nil, nil, err
	}
	if database != "" {
		cfg.Database = database
		if err := cfg.checkData(); err != nil {
			return nil, nil, fmt.Errorf("--database: %w", err)
		}
	}
	st, err := store.OpenReader(ctx, cfg.Database)
	if err != nil {
		return nil, nil, err
	}
	return st, cfg, nil
}

// defaultRetention is how long decisions are kept by default.
const defaultRetention = 90 * 24 * time.Hour

// minRetention keeps decisions, and the deliveries and run actions pruned
// with them, past GitHub's redelivery window (3 days) and a run's life.
const minRetention = 7 * 24 * time.Hour

// parseRetention reads decision_retention: "" and 0 are the default,
// "forever" keeps everything (0 returned), anything else is a duration
// with d (days) and w (weeks) allowed.
func parseRetention(s string) (time.Duration, error) {
	v := strings.TrimSpace(s)
	switch v {
	case "", "0", "0s", "0d":
		return defaultRetention, nil
	case "forever":
		return 0, nil
	}
	d, err := parseDays(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("decision_retention %q: want a duration such as 90d, 12w or 2160h, or forever", s)
	}
	if d < minRetention {
		return 0, fmt.Errorf("decision_retention %q: at least 7d (GitHub redelivers for 3 days), or forever", s)
	}
	return d, nil
}

// parseDays is time.ParseDuration with whole days (d) and weeks (w).
func parseDays(s string) (time.Duration, error) {
	for _, unit := range []struct {
		suffix string
		d      time.Duration
	}{{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}} {
		if n, ok := strings.CutSuffix(s, unit.suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 || v > 100*365 {
				return 0, fmt.Errorf("%q: not a number of %s", s, unit.suffix)
			}
			return time.Duration(v) * unit.d, nil
		}
	}
	return time.ParseDuration(s)
}

// checkData checks the keys that say where decisions are and how long
// they stay, and the bundle sources, which the command line's inventory
// and replay read too; it sets retention.
func (c *serveConfig) checkData() error {
	if c.Database == "" {
		return errors.New("database: want a file path or postgres://…")
	}
	if strings.HasPrefix(c.Database, "postgres") && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		return fmt.Errorf("database: want a file path or postgres://…")
	}
	var err error
	if c.retention, err = parseRetention(c.DecisionRetention); err != nil {
		return err
	}
	for i, b := range c.Bundles {
		if b.Name == "" {
			return fmt.Errorf("bundles[%d]: name is required", i)
		}
	}
	return nil
}

// loadDataConfig reads the file and RUNPOLICY_* overrides over the
// defaults like loadConfig, but checks only what checkData does: the
// command line reads where decisions are, not the App's credentials.
func loadDataConfig(path string, environ []string) (*serveConfig, error) {
	cfg, _, err := readConfig(path, environ)
	if err != nil {
		return nil, err
	}
	if err := cfg.checkData(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// appTokens gives bundle sources with token_from_app an installation
// token of the App for their repository.
func appTokens(app *github.App) bundles.TokenSource {
	return func(ctx context.Context, repo string) (string, error) {
		owner, name, _ := strings.Cut(repo, "/")
		id, err := app.FindInstallation(ctx, owner, name)
		if err != nil {
			return "", err
		}
		return app.Token(ctx, id)
	}
}
