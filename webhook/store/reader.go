package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// OpenReader opens a database a server keeps, for the command line's
// inventory and replay: no queue, no migrations, no lock. The embedded
// SQLite file belongs to one server process (Open locks it); a reader
// beside it only reads, which SQLite serves to several processes. The
// database must exist and have this binary's schema.
func OpenReader(ctx context.Context, dsn string) (*Store, error) {
	s := &Store{logger: slog.New(slog.DiscardHandler)}
	if isPostgres(dsn) {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("store: database: %w", err)
		}
		cfg.MaxConns = 4
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("store: connect postgres: %w", err)
		}
		s.pool, s.db, s.dialect = pool, stdlib.OpenDBFromPool(pool), postgresDialect
	} else {
		path := sqlitePath(dsn)
		if path == "" {
			return nil, errors.New("store: an in-memory database has nothing to read")
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("store: database %s: %w", path, err)
		}
		db, err := sql.Open("sqlite", sqliteDSN(dsn, 5000))
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
		}
		db.SetMaxOpenConns(2)
		s.db, s.dialect = db, sqliteDialect
	}
	if err := s.checkSchema(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// checkSchema refuses a database whose schema is not this binary's.
func (s *Store) checkSchema(ctx context.Context) error {
	var version sql.NullInt64
	err := s.db.QueryRowContext(ctx, "SELECT MAX(version) FROM runpolicy_schema").Scan(&version)
	if err != nil {
		if pingErr := s.Ping(ctx); pingErr != nil {
			return pingErr
		}
		return errors.New("store: not a runpolicy database (no schema): give the database runpolicy serve uses")
	}
	switch v := int(version.Int64); {
	case v < len(migrations):
		return fmt.Errorf("store: database schema %d is older than this binary's %d: start runpolicy serve of this version once to migrate it", v, len(migrations))
	case v > len(migrations):
		return fmt.Errorf("store: database schema version %d is newer than this binary's %d", v, len(migrations))
	}
	return nil
}
