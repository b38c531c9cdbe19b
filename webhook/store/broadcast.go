package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Broadcasts tell every replica something that only the one that processed
// a delivery would otherwise know, such as "the policy repository was
// pushed": on Postgres they are NOTIFY messages on a channel, heard by
// every replica's Subscribe. On SQLite there is one process and no one else
// to tell, so both do nothing.

// firstAttempt bounds how long Subscribe waits for its first listen.
const firstAttempt = 5 * time.Second

// Resync is the payload a subscriber receives after its listening
// connection was lost and made again: broadcasts sent meanwhile were
// missed, and whatever they would have asked for should be done anyway.
const Resync = ""

// Broadcast sends payload (a short text; Postgres allows under 8,000 bytes)
// to the subscribers of channel on every replica, this one included.
func (s *Store) Broadcast(ctx context.Context, channel, payload string) error {
	if s.pool == nil {
		return nil
	}
	if _, err := s.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, payload); err != nil {
		return fmt.Errorf("store: broadcast on %s: %w", channel, err)
	}
	return nil
}

// Subscribe calls fn with the payload of every Broadcast on channel, made by
// any replica, until stop is called; stop waits for the listener to end.
// fn runs on the listener's goroutine, one call at a time. Subscribe
// returns once the first attempt to listen is done, so that broadcasts sent
// after it returns are heard, or after firstAttempt when the database does
// not answer; it keeps trying in the background then, and calls
// fn(Resync) once it listens.
func (s *Store) Subscribe(channel string, fn func(payload string)) (stop func()) {
	if s.pool == nil {
		return func() {}
	}
	first := make(chan struct{})
	tried := sync.OnceFunc(func() { close(first) })
	stop = background(func(ctx context.Context) { s.listen(ctx, channel, fn, tried) })
	select {
	case <-first:
	case <-time.After(firstAttempt): // the server must not wait on a dead database to start
	}
	return stop
}

// listen keeps a connection listening on channel, making it again with a
// growing pause when it is lost. tried is called once the first attempt
// listens or fails.
func (s *Store) listen(ctx context.Context, channel string, fn func(string), tried func()) {
	const minPause, maxPause = 100 * time.Millisecond, 5 * time.Second
	pause := minPause
	for attempt := 0; ; attempt++ {
		err := s.listenOnce(ctx, channel, func() {
			if attempt > 0 {
				fn(Resync) // broadcasts may have been sent while no one listened
			}
			pause = minPause
			tried()
		}, fn)
		tried()
		if ctx.Err() != nil {
			return
		}
		s.logger.Warn("store: listening for broadcasts failed; listening again", "channel", channel, "err", err, "pause", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPause)
	}
}

// listenOnce listens on one connection until it fails or ctx ends. The
// connection is taken out of the pool for good: a session that listens
// must not be handed to other work, and the pool can then close without
// waiting for it.
func (s *Store) listenOnce(ctx context.Context, channel string, listening func(), fn func(string)) error {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := pc.Hijack()
	defer func() {
		// Bounded: the connection may be the thing that failed.
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		fn(n.Payload)
	}
}
