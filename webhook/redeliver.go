package webhook

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/runpolicy/runpolicy/github"
)

// lastSweepKey remembers when the previous sweep started, so that the
// next one (after downtime, too) looks back exactly far enough.
const lastSweepKey = "redeliver.last_sweep"

// maxSweepPages bounds one sweep (100 deliveries a page).
const maxSweepPages = 50

// hookDeliveries is the App's log of deliveries on GitHub (*github.App).
type hookDeliveries interface {
	HookDeliveries(ctx context.Context, cursor string) ([]*github.HookDelivery, string, error)
	Redeliver(ctx context.Context, id int64) error
}

// sweepStore is what the sweep keeps (*store.Store).
type sweepStore interface {
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error
	KnownDeliveries(ctx context.Context, ids []string) (map[string]bool, error)
	ClaimRedelivery(ctx context.Context, guid string, hookDeliveryID int64, retryBefore time.Time) (bool, error)
	ReleaseRedelivery(ctx context.Context, guid string) error
}

// sweeper asks GitHub to send again the deliveries that failed while the
// server was away: GitHub does not retry them itself, so without it a
// restart or an outage lets runs slip through unjudged.
type sweeper struct {
	hooks hookDeliveries
	store sweepStore
	// wants says whether a handler may want a delivery of an event and
	// action (dispatcher.wants, listed); requeue queues stored deliveries
	// whose job was lost.
	wants    func(envelope) bool
	requeue  func(ctx context.Context, cutoff time.Time) error
	interval time.Duration
	lookback time.Duration
	metrics  *sweepMetrics
	log      *slog.Logger
}

// redeliverArgs is the periodic sweep of failed deliveries.
type redeliverArgs struct{}

func (redeliverArgs) Kind() string { return "runpolicy_redeliver" }

type redeliverWorker struct {
	river.WorkerDefaults[redeliverArgs]
	s *sweeper
}

func (w *redeliverWorker) Work(ctx context.Context, job *river.Job[redeliverArgs]) error {
	return w.s.sweep(ctx)
}

// periodicJobs schedules the sweep every interval; none when the interval
// is 0 (never). Only the leader enqueues periodic jobs; uniqueness over
// the interval also keeps a new leader from sweeping again at once after
// the old one did.
func periodicJobs(every time.Duration) []*river.PeriodicJob {
	if every <= 0 {
		return nil
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) {
			return redeliverArgs{}, &river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: every}}
		},
		&river.PeriodicJobOpts{RunOnStart: true, ID: "redeliver"})}
}

// sweep lists the App's recent deliveries and asks GitHub to send again
// the ones that failed and never reached the store. It also queues stored
// deliveries whose job a crashed replica never queued.
func (s *sweeper) sweep(ctx context.Context) error {
	start := time.Now()
	if err := s.requeue(ctx, start.Add(-time.Minute)); err != nil {
		return err
	}
	cutoff := start.Add(-s.lookback)
	if last, err := s.store.Setting(ctx, lastSweepKey); err != nil {
		return err
	} else if t, err := time.Parse(time.RFC3339Nano, last); err == nil && t.After(cutoff) {
		cutoff = t.Add(-time.Minute) // overlap: deliveries land in the log late
	}

	type candidate struct {
		id     int64
		event  string
		action string
	}
	failed := map[string]candidate{} // by GUID: its newest failed attempt
	succeeded := map[string]bool{}
	cursor := ""
	for page := 0; page < maxSweepPages; page++ {
		list, next, err := s.hooks.HookDeliveries(ctx, cursor)
		if err != nil {
			return err
		}
		old := false
		for _, d := range list {
			if d.DeliveredAt != nil && d.DeliveredAt.Before(cutoff) {
				old = true
				continue
			}
			guid := d.GetGUID()
			switch code := d.GetStatusCode(); {
			case code >= 200 && code < 300:
				succeeded[guid] = true
			case worthRedelivering(code) && s.wants(envelope{Event: d.GetEvent(), Action: d.GetAction(), listed: true}):
				if _, seen := failed[guid]; !seen { // the list is newest first
					failed[guid] = candidate{d.GetID(), d.GetEvent(), d.GetAction()}
				}
			}
		}
		if old || next == "" {
			break
		}
		cursor = next
	}

	guids := make([]string, 0, len(failed))
	for guid := range failed {
		if !succeeded[guid] {
			guids = append(guids, guid)
		}
	}
	known, err := s.store.KnownDeliveries(ctx, guids)
	if err != nil {
		return err
	}
	asked := 0
	for _, guid := range guids {
		if known[guid] {
			continue // persisted; the queue has it even if GitHub saw an error
		}
		c := failed[guid]
		first, err := s.store.ClaimRedelivery(ctx, guid, c.id, start.Add(-claimTimeout(s.interval)))
		if err != nil {
			return err
		}
		if !first {
			continue
		}
		if err := s.hooks.Redeliver(ctx, c.id); err != nil {
			s.log.Warn("cannot ask for a redelivery", "delivery_id", guid, "err", err)
			// Released whatever the job's context says (it may have hit
			// its timeout); a claim left behind expires anyway.
			if err := s.store.ReleaseRedelivery(context.WithoutCancel(ctx), guid); err != nil {
				return err
			}
			if temporary, _ := github.Temporary(err); temporary {
				return err
			}
			continue
		}
		asked++
		s.metrics.redeliveries.Inc()
		s.log.Info("asked GitHub to redeliver a failed delivery", "delivery_id", guid, "event", c.event, "action", c.action)
	}
	if err := s.store.SetSetting(ctx, lastSweepKey, start.UTC().Format(time.RFC3339Nano)); err != nil {
		return err
	}
	s.log.Debug("redelivery sweep done", "failed", len(guids), "asked", asked, "since", cutoff)
	return nil
}

// claimTimeout is how long a claimed redelivery may bring no new attempt
// in GitHub's log before another sweep asks again: the replica that
// claimed it may have died, or lost the database, before asking.
func claimTimeout(interval time.Duration) time.Duration {
	return max(2*interval, 10*time.Second)
}

// worthRedelivering says whether a failed attempt may succeed again: no
// connection, a timeout or a server error, not a refused signature or an
// oversized body.
func worthRedelivering(code int) bool {
	return code == 0 || code >= 500 || code == 408 || code == 429
}
