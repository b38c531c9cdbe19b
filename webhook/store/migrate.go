package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river/rivermigrate"
)

// migrations are runpolicy's schema changes, applied in order once each.
// Never edit one that has shipped; add the next. {{blob}} is the raw-bytes
// column type of the dialect. Times are Unix nanoseconds.
var migrations = []string{
	// 1: deliveries, decisions, run actions, installations, redeliveries.
	`CREATE TABLE runpolicy_delivery (
		id              TEXT PRIMARY KEY,
		event           TEXT NOT NULL,
		action          TEXT NOT NULL,
		installation_id BIGINT NOT NULL,
		repository      TEXT NOT NULL,
		payload         {{blob}} NOT NULL,
		received_at     BIGINT NOT NULL,
		state           TEXT NOT NULL,
		finished_at     BIGINT NOT NULL DEFAULT 0,
		note            TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX runpolicy_delivery_state ON runpolicy_delivery (state, received_at);
	CREATE TABLE runpolicy_decision (
		id          TEXT PRIMARY KEY,
		delivery_id TEXT NOT NULL UNIQUE,
		event       TEXT NOT NULL,
		repository  TEXT NOT NULL,
		run_id      BIGINT NOT NULL,
		run_attempt INTEGER NOT NULL,
		outcome     TEXT NOT NULL,
		cancel      INTEGER NOT NULL,
		created_at  BIGINT NOT NULL,
		log         {{blob}} NOT NULL
	);
	CREATE INDEX runpolicy_decision_run ON runpolicy_decision (repository, run_id, run_attempt);
	CREATE INDEX runpolicy_decision_created ON runpolicy_decision (created_at);
	CREATE TABLE runpolicy_run_action (
		repository  TEXT NOT NULL,
		run_id      BIGINT NOT NULL,
		run_attempt INTEGER NOT NULL,
		action      TEXT NOT NULL,
		owner       TEXT NOT NULL,
		level       INTEGER NOT NULL DEFAULT 0,
		ref         TEXT NOT NULL DEFAULT '',
		created_at  BIGINT NOT NULL,
		done_at     BIGINT NOT NULL DEFAULT 0,
		PRIMARY KEY (repository, run_id, run_attempt, action)
	);
	CREATE TABLE runpolicy_installation (
		id                   BIGINT PRIMARY KEY,
		account              TEXT NOT NULL,
		account_type         TEXT NOT NULL,
		repository_selection TEXT NOT NULL,
		suspended            INTEGER NOT NULL,
		deleted              INTEGER NOT NULL,
		updated_at           BIGINT NOT NULL
	);
	CREATE INDEX runpolicy_installation_account ON runpolicy_installation (account);
	CREATE TABLE runpolicy_installation_repository (
		installation_id BIGINT NOT NULL,
		repository      TEXT NOT NULL,
		PRIMARY KEY (installation_id, repository)
	);
	CREATE TABLE runpolicy_redelivery (
		guid             TEXT PRIMARY KEY,
		hook_delivery_id BIGINT NOT NULL,
		requested_at     BIGINT NOT NULL
	);
	CREATE TABLE runpolicy_setting (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	);`,
	// 2: the lease of the worker processing a delivery (LeaseDelivery).
	`ALTER TABLE runpolicy_delivery ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
	ALTER TABLE runpolicy_delivery ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0`,
	// 3: what the console filters evaluations by, taken from each
	// decision's log when it is saved (evaluations.go); rows saved before
	// keep summarized = 0 until summarizeDecisions fills them.
	`ALTER TABLE runpolicy_decision ADD COLUMN owner TEXT NOT NULL DEFAULT '';
	ALTER TABLE runpolicy_decision ADD COLUMN repository_key TEXT NOT NULL DEFAULT '';
	ALTER TABLE runpolicy_decision ADD COLUMN workflow TEXT NOT NULL DEFAULT '';
	ALTER TABLE runpolicy_decision ADD COLUMN branch TEXT NOT NULL DEFAULT '';
	ALTER TABLE runpolicy_decision ADD COLUMN run_event TEXT NOT NULL DEFAULT '';
	ALTER TABLE runpolicy_decision ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE runpolicy_decision ADD COLUMN summarized INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX runpolicy_decision_unsummarized ON runpolicy_decision (created_at) WHERE summarized = 0;
	CREATE INDEX runpolicy_decision_repository_key ON runpolicy_decision (repository_key, created_at);
	CREATE INDEX runpolicy_decision_owner ON runpolicy_decision (owner, created_at);
	CREATE TABLE runpolicy_decision_policy (
		decision_id TEXT NOT NULL,
		policy      TEXT NOT NULL,
		mode        TEXT NOT NULL,
		created_at  BIGINT NOT NULL,
		PRIMARY KEY (decision_id, policy)
	);
	CREATE INDEX runpolicy_decision_policy_policy ON runpolicy_decision_policy (policy, created_at)`,
	// 4: approvals of workflow versions (approvals.go).
	`CREATE TABLE runpolicy_approval (
		id            TEXT PRIMARY KEY,
		repository    TEXT NOT NULL,
		workflow_path TEXT NOT NULL,
		files         {{blob}} NOT NULL,
		policies      {{blob}} NOT NULL,
		findings      {{blob}} NOT NULL,
		approver      TEXT NOT NULL,
		run_id        BIGINT NOT NULL,
		decision_id   TEXT NOT NULL,
		created_at    BIGINT NOT NULL,
		expires_at    BIGINT NOT NULL DEFAULT 0,
		revoked_at    BIGINT NOT NULL DEFAULT 0,
		revoked_by    TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX runpolicy_approval_workflow ON runpolicy_approval (repository, workflow_path)`,
	// 5: the console's other filters, each walked newest first by an
	// index of its own; the time, owner and repository indexes extended
	// with the outcome, so that the per-day counts read no table row (a
	// reader's 200 repositories over a week: 500 ms to 9 ms with a million
	// decisions); the inventory of what recorded runs used (inventory.go);
	// replays (replays.go); and what pruning looks up by time
	// (retention.go).
	`DROP INDEX runpolicy_decision_created;
	DROP INDEX runpolicy_decision_owner;
	DROP INDEX runpolicy_decision_repository_key;
	CREATE INDEX runpolicy_decision_time ON runpolicy_decision (created_at, outcome, dry_run);
	CREATE INDEX runpolicy_decision_owner_time ON runpolicy_decision (owner, created_at, outcome, dry_run);
	CREATE INDEX runpolicy_decision_repository_time ON runpolicy_decision (repository_key, created_at, outcome, dry_run);
	CREATE INDEX runpolicy_decision_workflow_time ON runpolicy_decision (workflow, created_at, id);
	CREATE INDEX runpolicy_decision_branch_time ON runpolicy_decision (branch, created_at, id);
	CREATE INDEX runpolicy_decision_event_time ON runpolicy_decision (run_event, created_at, id);
	CREATE INDEX runpolicy_decision_outcome_time ON runpolicy_decision (outcome, created_at, id);
	CREATE INDEX runpolicy_decision_dry_run_time ON runpolicy_decision (dry_run, outcome, created_at, id);
	CREATE TABLE runpolicy_inventory (
		repository       TEXT NOT NULL,
		workflow         TEXT NOT NULL,
		name             TEXT NOT NULL,
		ref              TEXT NOT NULL,
		sha              TEXT NOT NULL,
		kind             TEXT NOT NULL,
		repo             TEXT NOT NULL,
		via              TEXT NOT NULL,
		owner            TEXT NOT NULL,
		repository_key   TEXT NOT NULL,
		first_seen       BIGINT NOT NULL,
		last_seen        BIGINT NOT NULL,
		last_run_id      BIGINT NOT NULL,
		last_run_attempt INTEGER NOT NULL,
		last_decision    TEXT NOT NULL,
		last_outcome     TEXT NOT NULL,
		last_stopped     INTEGER NOT NULL,
		PRIMARY KEY (repository, workflow, name, ref, sha)
	);
	CREATE INDEX runpolicy_inventory_name ON runpolicy_inventory (name, last_seen);
	CREATE INDEX runpolicy_inventory_repo ON runpolicy_inventory (repo, last_seen);
	CREATE INDEX runpolicy_inventory_sha ON runpolicy_inventory (sha);
	CREATE INDEX runpolicy_inventory_repository_key ON runpolicy_inventory (repository_key);
	CREATE TABLE runpolicy_replay (
		id           TEXT PRIMARY KEY,
		state        TEXT NOT NULL,
		request      {{blob}} NOT NULL,
		requested_by TEXT NOT NULL,
		worker       TEXT NOT NULL,
		done         INTEGER NOT NULL DEFAULT 0,
		total        INTEGER NOT NULL DEFAULT 0,
		result       {{blob}},
		error        TEXT NOT NULL DEFAULT '',
		created_at   BIGINT NOT NULL,
		updated_at   BIGINT NOT NULL,
		finished_at  BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX runpolicy_replay_created ON runpolicy_replay (created_at);
	CREATE INDEX runpolicy_run_action_created ON runpolicy_run_action (created_at)`,
	// 6: the decision that raised a run action last (Raise), whose report
	// the check run shows and a click on it approves; '' on rows raised
	// before, which Shows reads as their owner's.
	`ALTER TABLE runpolicy_run_action ADD COLUMN raised_by TEXT NOT NULL DEFAULT ''`,
}

// migrateAll runs River's migrations, then runpolicy's, and logs one line
// when either applied anything: a first start would otherwise fill the
// screen with one line per River migration. The details are at debug.
func migrateAll[TTx any](ctx context.Context, s *Store, m *rivermigrate.Migrator[TTx]) error {
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("store: queue migrations: %w", err)
	}
	from, to, err := s.migrate(ctx)
	if err != nil {
		return err
	}
	if err := s.summarizeDecisions(ctx); err != nil {
		return err
	}
	if len(res.Versions) > 0 || to > from {
		s.logger.Info("database migrated", "backend", s.dialect.name,
			"schema_from", from, "schema_to", to, "queue_migrations", len(res.Versions))
	}
	return nil
}

// demoted passes info records on at debug, for River's migrator, which
// logs every step at info.
type demoted struct{ slog.Handler }

func (d demoted) Enabled(ctx context.Context, l slog.Level) bool {
	if l == slog.LevelInfo {
		l = slog.LevelDebug
	}
	return d.Handler.Enabled(ctx, l)
}

func (d demoted) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo {
		r.Level = slog.LevelDebug
	}
	return d.Handler.Handle(ctx, r)
}

func (d demoted) WithAttrs(attrs []slog.Attr) slog.Handler {
	return demoted{d.Handler.WithAttrs(attrs)}
}
func (d demoted) WithGroup(name string) slog.Handler { return demoted{d.Handler.WithGroup(name)} }

// migrate applies the migrations not yet applied, each in a transaction
// with its version row, and returns the schema versions before and after.
// On Postgres the caller holds the migration lock; on SQLite the one
// connection serializes.
func (s *Store) migrate(ctx context.Context) (from, to int, err error) {
	return s.migrateList(ctx, migrations)
}

// migrateList applies the migrations of list not yet applied.
func (s *Store) migrateList(ctx context.Context, migrations []string) (from, to int, err error) {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS runpolicy_schema (
		version    INTEGER PRIMARY KEY,
		applied_at BIGINT NOT NULL)`); err != nil {
		return 0, 0, fmt.Errorf("store: migrations: %w", err)
	}
	var current int
	if err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM runpolicy_schema").Scan(&current); err != nil {
		return 0, 0, fmt.Errorf("store: migrations: %w", err)
	}
	if current > len(migrations) {
		return 0, 0, fmt.Errorf("store: database schema version %d is newer than this binary's %d", current, len(migrations))
	}
	for i := current; i < len(migrations); i++ {
		version := i + 1
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return current, version - 1, fmt.Errorf("store: migration %d: %w", version, err)
		}
		for _, stmt := range strings.Split(strings.ReplaceAll(migrations[i], "{{blob}}", s.dialect.blob), ";") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				_ = tx.Rollback()
				return current, version - 1, fmt.Errorf("store: migration %d: %w", version, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.dialect.rebind("INSERT INTO runpolicy_schema (version, applied_at) VALUES (?, ?)"), version, time.Now().UnixNano()); err != nil {
			_ = tx.Rollback()
			return current, version - 1, fmt.Errorf("store: migration %d: %w", version, err)
		}
		if err := tx.Commit(); err != nil {
			return current, version - 1, fmt.Errorf("store: migration %d: %w", version, err)
		}
		s.logger.Debug("database schema migrated", "version", version, "backend", s.dialect.name)
	}
	return current, len(migrations), nil
}
