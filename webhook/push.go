package webhook

import (
	"context"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// pushChannel is the broadcast channel on which a replica that processed a
// policy repository's push tells every replica to refresh.
const pushChannel = "runpolicy_policy_push"

// broadcaster tells every replica about a push (*store.Store).
type broadcaster interface {
	Broadcast(ctx context.Context, channel, payload string) error
}

// pushHandler refreshes the policy bundles fed by a policy repository
// after a push to its default branch, here and, through a broadcast, on
// every other replica: the push reached one.
type pushHandler struct {
	policies Policies
	store    broadcaster
	// repos are the policy repositories, by lower-case name.
	repos map[string]bool
	names []string
}

func newPushHandler(p Policies, st broadcaster, repos []string) *pushHandler {
	h := &pushHandler{policies: p, store: st, repos: map[string]bool{}, names: repos}
	for _, r := range repos {
		h.repos[lower(r)] = true
	}
	return h
}

func (h *pushHandler) Handles() []string { return []string{"push"} }

// Wants takes the pushes to a policy repository's default branch. In the
// redelivery sweep, which does not know the repository, a push is worth
// asking for again when there are policy repositories.
func (h *pushHandler) Wants(e envelope) bool {
	if e.listed {
		return len(h.repos) > 0
	}
	return e.Repository != nil && h.repos[lower(e.Repository.FullName)] &&
		e.Ref == "refs/heads/"+e.Repository.DefaultBranch
}

// Handle refreshes the pushed repository's sources. When the broadcast
// fails the delivery is retried, so no replica keeps the old policies
// until its next poll.
func (h *pushHandler) Handle(ctx context.Context, d delivery) (outcome, error) {
	h.policies.Refresh(ctx, d.Repository)
	if err := h.store.Broadcast(ctx, pushChannel, d.Repository); err != nil {
		return outcome{}, err
	}
	d.withRepository().Info("policy repository pushed, refreshing bundles")
	return outcome{kind: outcomeRefresh}, nil
}

// onBroadcast refreshes what another replica's push asks for. After a
// lost connection (store.Resync) any push may have been missed: every
// policy repository's sources are checked.
func (h *pushHandler) onBroadcast(ctx context.Context, repo string) {
	if repo != store.Resync {
		h.policies.Refresh(ctx, repo)
		return
	}
	for _, r := range h.names {
		h.policies.Refresh(ctx, r)
	}
}
