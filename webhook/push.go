package webhook

import (
	"context"
	"log/slog"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// pushChannel is the broadcast channel on which a replica that processed a
// policy repository's push tells every replica to refresh.
const pushChannel = "runpolicy_policy_push"

// onPush refreshes the policy bundles fed by a policy repository after a
// push to its default branch (receive only persists those pushes), here
// and, through a broadcast, on every other replica: the push reached one.
// When the broadcast fails the delivery is retried, so no replica keeps
// the old policies until its next poll.
func (s *Server) onPush(ctx context.Context, d *store.Delivery, log *slog.Logger) (string, error) {
	s.policy.Refresh(ctx, d.Repository)
	if err := s.store.Broadcast(ctx, pushChannel, d.Repository); err != nil {
		return "", err
	}
	log.Info("policy repository pushed, refreshing bundles")
	return outcomeRefresh, nil
}

// onPushBroadcast refreshes what another replica's push asks for. After a
// lost connection (store.Resync) any push may have been missed: every
// policy repository's sources are checked.
func (s *Server) onPushBroadcast(ctx context.Context, repo string) {
	if repo != store.Resync {
		s.policy.Refresh(ctx, repo)
		return
	}
	for _, r := range s.opts.PolicyRepositories {
		s.policy.Refresh(ctx, r)
	}
}
