package main

import (
	"context"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// task is one decision: prepare builds its arguments, untimed, and
// returns the work to time.
type task func(i int) (work func() (any, error))

// limits bound a measurement loop in count and in time.
type limits struct {
	n      int           // at most this many decisions
	budget time.Duration // and no longer than this (after the first)
}

// latencies runs decisions one after another and returns how long each took.
func latencies(ctx context.Context, t task, l limits) ([]time.Duration, error) {
	out := make([]time.Duration, 0, min(l.n, 100_000))
	deadline := time.Now().Add(l.budget)
	for i := 0; i < l.n && (i == 0 || time.Now().Before(deadline)); i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		work := t(i)
		start := time.Now()
		if _, err := work(); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// interleaved runs the tasks' decisions in rounds, one decision of each
// per round in a shuffled order, so that every task sees the same machine:
// the same load from elsewhere, the same garbage collections. It returns
// each task's durations.
func interleaved(ctx context.Context, tasks []task, l limits) ([][]time.Duration, error) {
	out := make([][]time.Duration, len(tasks))
	order := make([]int, len(tasks))
	for i := range order {
		order[i] = i
	}
	rnd := rand.New(rand.NewPCG(1, 2)) // the same order on every run
	deadline := time.Now().Add(l.budget)
	for round := 0; round < l.n && (round == 0 || time.Now().Before(deadline)); round++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rnd.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, k := range order {
			work := tasks[k](round)
			start := time.Now()
			if _, err := work(); err != nil {
				return nil, err
			}
			out[k] = append(out[k], time.Since(start))
		}
	}
	return out, nil
}

// throughput runs decisions on workers goroutines for the budget and
// returns decisions per second. Preparing each decision's arguments is
// counted here: it is a few microseconds against milliseconds.
func throughput(ctx context.Context, t task, workers int, l limits) (float64, error) {
	var (
		next, done atomic.Int64
		wg         sync.WaitGroup
		firstErr   error
		errOnce    sync.Once
	)
	ctx, cancel := context.WithTimeout(ctx, l.budget)
	defer cancel()
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= l.n {
					return
				}
				if _, err := t(i)(); err != nil {
					if ctx.Err() == nil {
						errOnce.Do(func() { firstErr = err })
					}
					cancel()
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}

// scaling measures decisions per second with one goroutine and with two,
// alternating in ten slices of the budget so that both see the same load
// from elsewhere.
func scaling(ctx context.Context, t task, l limits) (one, two float64, err error) {
	const slices = 10
	slice := limits{n: l.n, budget: l.budget / slices}
	for range slices / 2 {
		a, err := throughput(ctx, t, 1, slice)
		if err != nil {
			return 0, 0, err
		}
		b, err := throughput(ctx, t, 2, slice)
		if err != nil {
			return 0, 0, err
		}
		one += a / (slices / 2)
		two += b / (slices / 2)
	}
	return one, two, nil
}

// computeOnly is a task that only computes: no allocation, no shared state.
func computeOnly(int) func() (any, error) {
	return func() (any, error) {
		n := 0
		for i := range 100_000 {
			n += i % 7
		}
		return n, nil
	}
}

// allocOnly is a task that allocates and reads back what it built, as most
// Go code does (a map of 300 slices), with no shared state: how far memory
// traffic on this machine lets such work scale.
func allocOnly(int) func() (any, error) {
	return func() (any, error) {
		m := make(map[int][]int)
		for i := range 300 {
			m[i] = append(m[i], i, i+1)
		}
		n := 0
		for i := range 300 {
			n += len(m[i])
		}
		return n, nil
	}
}

// stats are the figures of one latency sample.
type stats struct {
	n           int
	median, p99 time.Duration
}

func summarize(d []time.Duration) stats {
	if len(d) == 0 {
		return stats{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return stats{n: len(s), median: s[len(s)/2], p99: s[min(len(s)-1, len(s)*99/100)]}
}

// heapSampler records the peak of the Go heap in use (HeapInuse: live and
// not yet swept objects plus free space in spans in use) while in-process
// contenders run. runtime/metrics reads it without stopping the world.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak uint64
}

func sampleHeap() *heapSampler {
	runtime.GC() // start from the live heap, not the last contender's garbage
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	read := func() {
		metrics.Read(samples)
		h.peak = max(h.peak, samples[0].Value.Uint64()+samples[1].Value.Uint64())
	}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			read()
			select {
			case <-h.stop:
				read()
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// Stop ends sampling and returns the peak in bytes.
func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	<-h.done
	return h.peak
}
