package store

import (
	"context"
	"fmt"
	"time"
)

// The queue's own rescuer hands back jobs left running by a process that
// died, but it runs on the leader only, every 30 seconds, and a new leader
// is elected only once the dead one's term has run out. A job a dead
// replica held could then wait rescue_after plus most of a minute. On
// Postgres every replica therefore also runs rescueStuck, every tenth of
// rescue_after: a job is handed back about rescue_after after its attempt
// began, whichever replicas are alive.
//
// Running it on every replica is safe: the UPDATE re-checks its condition
// on each row it takes, so a job is handed back by one of them, once, and a
// job taken again since then has a fresh attempted_at.

// rescueNote is the error recorded on a rescued attempt.
const rescueNote = "stuck job rescued: the worker holding it stopped (crashed or lost its database) before rescue_after"

// rescueStuck hands back the jobs running since before the horizon: to be
// tried again at once, or discarded when they have no attempt left, as the
// queue's rescuer does. A job keeps its scheduled time, which is past: it
// goes to the front of the queue, ahead of the backlog that arrived while
// it was stuck. It returns how many it handed back.
func (s *Store) rescueStuck(ctx context.Context, after time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE river_job SET
			state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'available' END::river_job_state,
			finalized_at = CASE WHEN attempt >= max_attempts THEN now() END,
			errors = array_append(errors, jsonb_build_object(
				'at', now(), 'attempt', attempt, 'error', $2::text, 'trace', ''))
		WHERE state = 'running' AND attempted_at < now() - make_interval(secs => $1)`,
		after.Seconds(), rescueNote)
	if err != nil {
		return 0, fmt.Errorf("store: rescue stuck jobs: %w", err)
	}
	return tag.RowsAffected(), nil
}

// startRescuer runs rescueStuck until endRescuer.
func (s *Store) startRescuer(after time.Duration) {
	if s.stopRescuer != nil {
		return
	}
	every := min(max(after/10, 50*time.Millisecond), 5*time.Second)
	s.stopRescuer = background(func(ctx context.Context) {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			n, err := s.rescueStuck(ctx, after)
			switch {
			case err != nil && ctx.Err() == nil:
				s.logger.Warn("cannot look for stuck jobs", "err", err)
			case n > 0:
				s.logger.Warn("handed back jobs a stopped worker held", "jobs", n, "rescue_after", after.String())
			}
		}
	})
}

// endRescuer stops the rescuer, if it runs.
func (s *Store) endRescuer() {
	if s.stopRescuer != nil {
		s.stopRescuer()
		s.stopRescuer = nil
	}
}
