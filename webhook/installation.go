package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/runpolicy/runpolicy/webhook/store"
)

type installationPayload struct {
	Action       string `json:"action"`
	Installation struct {
		ID      int64 `json:"id"`
		Account struct {
			Login string `json:"login"`
			Type  string `json:"type"`
		} `json:"account"`
		RepositorySelection string  `json:"repository_selection"`
		SuspendedAt         *string `json:"suspended_at"`
	} `json:"installation"`
	Repositories        []repoRef `json:"repositories"`
	RepositoriesAdded   []repoRef `json:"repositories_added"`
	RepositoriesRemoved []repoRef `json:"repositories_removed"`
}

type repoRef struct {
	FullName string `json:"full_name"`
}

func names(refs []repoRef) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		if r.FullName != "" {
			out = append(out, r.FullName)
		}
	}
	return out
}

// onInstallation records an installation being created, deleted,
// suspended, unsuspended or granted new permissions.
func (s *Server) onInstallation(ctx context.Context, d *store.Delivery, log *slog.Logger) (string, error) {
	var p installationPayload
	if err := json.Unmarshal(d.Payload, &p); err != nil || p.Installation.ID == 0 {
		return skip(log, "installation payload without an installation"), nil
	}
	in := store.Installation{
		ID: p.Installation.ID, Account: p.Installation.Account.Login, AccountType: p.Installation.Account.Type,
		RepositorySelection: p.Installation.RepositorySelection,
		Suspended:           p.Action == "suspend" || (p.Installation.SuspendedAt != nil && p.Action != "unsuspend"),
		Deleted:             p.Action == "deleted",
		UpdatedAt:           time.Now(),
	}
	if err := s.store.SaveInstallation(ctx, in); err != nil {
		return "", err
	}
	if p.Action == "created" {
		if err := s.store.InstallationRepositories(ctx, in.ID, names(p.Repositories), nil); err != nil {
			return "", err
		}
	}
	log.Info("installation recorded", "installation_id", in.ID, "account", in.Account, "installation_action", p.Action)
	return fmt.Sprintf("%s: installation %d %s", outcomeRecorded, in.ID, p.Action), nil
}

// onInstallationRepositories records repositories added to or removed from
// an installation.
func (s *Server) onInstallationRepositories(ctx context.Context, d *store.Delivery, log *slog.Logger) (string, error) {
	var p installationPayload
	if err := json.Unmarshal(d.Payload, &p); err != nil || p.Installation.ID == 0 {
		return skip(log, "installation_repositories payload without an installation"), nil
	}
	added, removed := names(p.RepositoriesAdded), names(p.RepositoriesRemoved)
	if err := s.store.InstallationRepositories(ctx, p.Installation.ID, added, removed); err != nil {
		return "", err
	}
	log.Info("installation repositories recorded", "installation_id", p.Installation.ID, "added", len(added), "removed", len(removed))
	return outcomeRecorded, nil
}
