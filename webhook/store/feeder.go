package store

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
)

// feeder queues the jobs of accepted deliveries in the background, in
// batches. Acknowledging a delivery then costs one insert on a connection of
// its own, instead of waiting its turn on the queue's connection behind the
// workers (on SQLite there is one). A job lost in a crash before it was
// queued is found again by DeliveriesWithoutJob.
type feeder struct {
	queue  queue
	logger *slog.Logger

	mu      sync.Mutex
	pending []river.JobArgs
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	// started is closed once the queue runs: River's inserts must not
	// race its start, and before it nothing would work the jobs anyway.
	started   chan struct{}
	startOnce sync.Once
}

func newFeeder(q queue, logger *slog.Logger) *feeder {
	f := &feeder{queue: q, logger: logger, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		started: make(chan struct{})}
	go f.run()
	return f
}

// add hands a job over; it never blocks.
func (f *feeder) add(job river.JobArgs) {
	f.mu.Lock()
	f.pending = append(f.pending, job)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *feeder) take() []river.JobArgs {
	f.mu.Lock()
	defer f.mu.Unlock()
	jobs := f.pending
	f.pending = nil
	return jobs
}

// start lets the feeder queue jobs.
func (f *feeder) start() { f.startOnce.Do(func() { close(f.started) }) }

func (f *feeder) run() {
	defer close(f.done)
	select {
	case <-f.started:
	case <-f.stop:
		return // never started: the jobs are found again on the next start
	}
	backoff := 10 * time.Millisecond
	for {
		select {
		case <-f.wake:
		case <-f.stop:
			f.flush(context.Background()) // best effort; the rest is found on start
			return
		}
		for {
			err := f.flush(context.Background())
			if err == nil {
				backoff = 10 * time.Millisecond
				break
			}
			f.logger.Warn("cannot queue accepted deliveries, retrying", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
				backoff = min(2*backoff, 5*time.Second)
			case <-f.stop:
				return
			}
		}
	}
}

// flush queues everything pending; on failure the jobs stay pending.
func (f *feeder) flush(ctx context.Context) error {
	jobs := f.take()
	if len(jobs) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(jobs))
	for i, j := range jobs {
		params[i] = river.InsertManyParams{Args: j}
	}
	if _, err := f.queue.InsertMany(ctx, params); err != nil {
		f.mu.Lock()
		f.pending = append(jobs, f.pending...)
		f.mu.Unlock()
		return err
	}
	return nil
}

// close queues what is pending and stops.
func (f *feeder) close() {
	f.once.Do(func() { close(f.stop) })
	<-f.done
}
