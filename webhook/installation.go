package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// installationStore keeps the App's installations (*store.Store).
type installationStore interface {
	SaveInstallation(ctx context.Context, in store.Installation) error
	InstallationRepositories(ctx context.Context, id int64, added, removed []string) error
}

// installationHandler records installations and the repositories they
// cover, so that a run delivery without an installation finds one.
type installationHandler struct{ store installationStore }

func (h installationHandler) Handles() []string {
	return []string{"installation", "installation_repositories"}
}

func (h installationHandler) Wants(e envelope) bool { return true }

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

func (h installationHandler) Handle(ctx context.Context, d delivery) (outcome, error) {
	log := d.withRepository()
	var p installationPayload
	if err := json.Unmarshal(d.Payload, &p); err != nil || p.Installation.ID == 0 {
		return skipped(log, d.Event+" payload without an installation"), nil
	}
	if d.Event == "installation_repositories" {
		return h.repositories(ctx, p, log)
	}
	return h.installation(ctx, p, log)
}

// installation records an installation being created, deleted,
// suspended, unsuspended or granted new permissions.
func (h installationHandler) installation(ctx context.Context, p installationPayload, log *slog.Logger) (outcome, error) {
	in := store.Installation{
		ID: p.Installation.ID, Account: p.Installation.Account.Login, AccountType: p.Installation.Account.Type,
		RepositorySelection: p.Installation.RepositorySelection,
		Suspended:           p.Action == "suspend" || (p.Installation.SuspendedAt != nil && p.Action != "unsuspend"),
		Deleted:             p.Action == "deleted",
		UpdatedAt:           time.Now(),
	}
	if err := h.store.SaveInstallation(ctx, in); err != nil {
		return outcome{}, err
	}
	if p.Action == "created" {
		if err := h.store.InstallationRepositories(ctx, in.ID, names(p.Repositories), nil); err != nil {
			return outcome{}, err
		}
	}
	log.Info("installation recorded", "installation_id", in.ID, "account", in.Account, "installation_action", p.Action)
	return outcome{kind: outcomeRecorded, detail: fmt.Sprintf("installation %d %s", in.ID, p.Action)}, nil
}

// repositories records repositories added to or removed from an
// installation.
func (h installationHandler) repositories(ctx context.Context, p installationPayload, log *slog.Logger) (outcome, error) {
	added, removed := names(p.RepositoriesAdded), names(p.RepositoriesRemoved)
	if err := h.store.InstallationRepositories(ctx, p.Installation.ID, added, removed); err != nil {
		return outcome{}, err
	}
	log.Info("installation repositories recorded", "installation_id", p.Installation.ID, "added", len(added), "removed", len(removed))
	return outcome{kind: outcomeRecorded}, nil
}

// pingHandler answers GitHub's ping, sent when the webhook is set up.
type pingHandler struct{}

func (pingHandler) Handles() []string { return []string{"ping"} }

// Wants takes every ping; a failed one is not worth asking for again.
func (pingHandler) Wants(e envelope) bool { return !e.listed }

func (pingHandler) Handle(_ context.Context, d delivery) (outcome, error) {
	d.withRepository().Info("ping received")
	return outcome{kind: outcomeRecorded}, nil
}
