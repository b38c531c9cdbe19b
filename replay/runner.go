package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/runpolicy/runpolicy/bundles"
	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/internal/oneline"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// ErrBusy is returned by Runner.Start while this process runs a replay.
var ErrBusy = errors.New("replay: a replay is already running on this server; wait for it to finish")

// ErrRefused matches (errors.Is) every error of Runner.Start that refuses
// the request as given: no candidate, a candidate the policies refuse, a
// window that ends before it starts, an upload that is no bundle, or a
// server stopping. Callers answer those as the requester's to mend.
var ErrRefused = errors.New("replay: request refused")

// refused marks err as one of ErrRefused's, its message unchanged.
type refused struct{ error }

func (refused) Is(target error) bool { return target == ErrRefused }

func (e refused) Unwrap() error { return e.error }

// Runner runs replays in the background of a server, one at a time per
// process, and records their progress and result in the store, where
// every replica can read them (Status). A replica that stops mid-replay
// leaves its record running without news: Status reports it failed.
type Runner struct {
	store    *store.Store
	policies Policies
	opts     Options
	worker   string
	logger   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	active string // the replay running here, "" when none
	wg     sync.WaitGroup
}

// heartbeat is how often a running replay records that it is alive;
// silentFor is when Status gives it up for lost.
const (
	heartbeat = 2 * time.Second
	silentFor = time.Minute
)

// NewRunner builds a runner; worker names this process in the records.
// Close it before closing the store.
func NewRunner(st *store.Store, p Policies, o Options, worker string, logger *slog.Logger) *Runner {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{store: st, policies: p, opts: o, worker: worker, logger: logger, ctx: ctx, cancel: cancel}
}

// Start records a replay and runs it in the background; it returns its
// id at once. requestedBy names who asked (a console user, "admin").
func (r *Runner) Start(ctx context.Context, req Request, requestedBy string) (string, error) {
	if req.Policy == "" && len(req.Bundle) == 0 {
		return "", refused{errors.New("replay: give a candidate policy or upload a bundle")}
	}
	if req.Until.IsZero() {
		req.Until = time.Now().UTC()
	}
	if !req.Since.Before(req.Until) {
		return "", refused{fmt.Errorf("replay: since %s is not before until %s", req.Since.Format(time.RFC3339), req.Until.Format(time.RFC3339))}
	}
	// A candidate the policies refuse is refused now, not in the background.
	if len(req.Bundle) == 0 {
		if _, _, err := r.policies.resolve(req.Policy); err != nil {
			return "", refused{err}
		}
	} else if req.Replace != "" && r.policies.configured(req.Replace) < 0 {
		return "", refused{fmt.Errorf("replay: no configured bundle source named %q (%s)", req.Replace, r.policies.names())}
	} else if err := bundles.CheckTarball(req.Bundle); err != nil {
		return "", refused{fmt.Errorf("replay: the uploaded bundle: %s", oneline.Fold(err.Error()))}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return "", refused{errors.New("replay: the server is stopping")}
	}
	if r.active != "" {
		return "", ErrBusy
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("replay: %w", err)
	}
	id := uuid.NewString()
	if err := r.store.CreateReplay(ctx, store.Replay{ID: id, Request: raw, RequestedBy: requestedBy, Worker: r.worker}); err != nil {
		return "", err
	}
	r.active = id
	r.wg.Go(func() {
		defer func() {
			r.mu.Lock()
			r.active = ""
			r.mu.Unlock()
		}()
		r.run(id, req)
	})
	return id, nil
}

// run does one replay and records how it went.
func (r *Runner) run(id string, req Request) {
	log := r.logger.With("replay", id)
	var mu sync.Mutex
	done, total := 0, 0
	progress := func(d, t int) {
		mu.Lock()
		done, total = d, t
		mu.Unlock()
	}
	// The heartbeat records progress at its pace, not at each decision's.
	stop := make(chan struct{})
	beat := make(chan struct{})
	go func() {
		defer close(beat)
		tick := time.NewTicker(heartbeat)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				mu.Lock()
				d, t := done, total
				mu.Unlock()
				if err := r.store.ReplayProgress(r.ctx, id, d, t); err != nil && r.ctx.Err() == nil {
					log.Warn("cannot record replay progress", "err", err)
				}
			}
		}
	}()
	res, err := r.replay(req, progress)
	close(stop)
	<-beat
	// The record is finished even when the server is stopping.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 10*time.Second)
	defer cancel()
	if err != nil {
		log.Warn("replay failed", "err", err)
		if err := r.store.FinishReplay(ctx, id, store.ReplayFailed, nil, err.Error()); err != nil {
			log.Warn("cannot record the replay's end", "err", err)
		}
		return
	}
	mu.Lock()
	d, t := done, total
	mu.Unlock()
	raw, err := json.Marshal(res)
	if err == nil {
		err = r.store.ReplayProgress(ctx, id, d, t) // the last word on progress: all done
	}
	if err == nil {
		err = r.store.FinishReplay(ctx, id, store.ReplayDone, raw, "")
	}
	if err != nil {
		log.Warn("cannot record the replay's result", "err", err)
		return
	}
	log.Info("replay done", "runs", res.Runs, "newly_denied", res.NewlyDeniedRuns, "newly_allowed", res.NewlyAllowedRuns,
		"findings_changed", res.FindingsChangedRuns, "elapsed", res.Elapsed.String())
}

// replay builds the candidate and runs the replay.
func (r *Runner) replay(req Request, progress func(done, total int)) (*Result, error) {
	var eng *engine.Engine
	var err error
	if len(req.Bundle) > 0 {
		eng, err = r.policies.CandidateBundle(r.ctx, req.Bundle, req.Replace)
	} else {
		eng, err = r.policies.Candidate(r.ctx, req.Policy)
	}
	if err != nil {
		return nil, err
	}
	o := r.opts
	o.Progress = progress
	return Run(r.ctx, r.store, eng, req, o)
}

// Status is a replay's record as the API shows it.
type Status struct {
	ID          string    `json:"id"`
	State       string    `json:"state"`
	Request     Request   `json:"request"`
	RequestedBy string    `json:"requested_by"`
	Done        int       `json:"done"`
	Total       int       `json:"total"`
	Error       string    `json:"error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
	Result      *Result   `json:"result,omitempty"`
}

// Status reads a replay's record from the store: any replica's.
func (r *Runner) Status(ctx context.Context, id string) (*Status, error) {
	rec, err := r.store.Replay(ctx, id)
	if err != nil {
		return nil, err
	}
	return statusOf(*rec, time.Now())
}

// List returns the latest replays, without their results.
func (r *Runner) List(ctx context.Context, limit int) ([]Status, error) {
	recs, err := r.store.Replays(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(recs))
	now := time.Now()
	for _, rec := range recs {
		st, err := statusOf(rec, now)
		if err != nil {
			return nil, err
		}
		out = append(out, *st)
	}
	return out, nil
}

func statusOf(rec store.Replay, now time.Time) (*Status, error) {
	st := &Status{ID: rec.ID, State: rec.State, RequestedBy: rec.RequestedBy, Done: rec.Done, Total: rec.Total,
		Error: rec.Error, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt, FinishedAt: rec.FinishedAt}
	if err := json.Unmarshal(rec.Request, &st.Request); err != nil {
		return nil, fmt.Errorf("replay %s: request: %w", rec.ID, err)
	}
	if rec.State == store.ReplayRunning && now.Sub(rec.UpdatedAt) > silentFor {
		st.State = store.ReplayFailed
		st.Error = fmt.Sprintf("replay: the process running it (%s) stopped answering", rec.Worker)
	}
	if len(rec.Result) > 0 {
		st.Result = &Result{}
		if err := json.Unmarshal(rec.Result, st.Result); err != nil {
			return nil, fmt.Errorf("replay %s: result: %w", rec.ID, err)
		}
	}
	return st, nil
}

// Close stops a running replay (it is recorded failed) and waits for it.
func (r *Runner) Close() {
	r.mu.Lock()
	r.cancel()
	r.mu.Unlock()
	r.wg.Wait()
}
