package main

import (
	"context"
	"fmt"
	"os"

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
