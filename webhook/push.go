package webhook

import (
	"context"
	"log/slog"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// onPush refreshes the policy bundles fed by a policy repository after a
// push to its default branch (receive only persists those pushes).
func (s *Server) onPush(ctx context.Context, d *store.Delivery, log *slog.Logger) (string, error) {
	s.policy.Refresh(ctx, d.Repository)
	log.Info("policy repository pushed, refreshing bundles")
	return outcomeRefresh, nil
}
