// Command bench measures runpolicy beside what a user would weigh it
// against, side by side in one run on one machine: OPA's own evaluation
// (the engine's limit), the OPA server as a sidecar, the OPA command line
// per decision, and actionlint's parser (the parser's limit).
//
// From the repository root:
//
//	go run ./test/bench            # measure, print the table, rewrite BENCHMARKS.md
//	go run ./test/bench -short     # one decision per contender; check that they agree
//
// It builds the stock opa command from the version go.mod pins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
)

type config struct {
	short bool
	write string        // BENCHMARKS.md to rewrite; "" to leave it
	opa   string        // an opa binary to use instead of building one
	loop  time.Duration // time budget of each measurement loop
	gogc  int           // the garbage collector's GOGC, for this process and the opa ones
	root  string        // the repository root
	args  []string      // the command line, for the report
	// only keeps the workloads and settings variants named here
	// (comma-separated, e.g. "typical,default"); empty keeps all.
	only string
}

func main() {
	cfg := config{args: os.Args[1:]}
	flag.BoolVar(&cfg.short, "short", false, "run each contender once on one input and check that they agree")
	flag.StringVar(&cfg.write, "write", "BENCHMARKS.md", "file to write the results to (empty: do not write)")
	flag.StringVar(&cfg.opa, "opa", "", "opa binary to use instead of building it from go.mod")
	flag.DurationVar(&cfg.loop, "time", time.Second, "time budget of each measurement loop")
	flag.IntVar(&cfg.gogc, "gogc", 400, "GOGC for every contender, in process and opa (400 is what runpolicy serve sets; 100 is Go's default)")
	flag.StringVar(&cfg.only, "only", "", "measure only these workloads and settings (comma-separated: typical, largest, all, default, large); BENCHMARKS.md is then left alone unless -write is given")
	flag.Parse()
	if cfg.only != "" && !flagSet("write") {
		cfg.write = "" // a partial run does not replace the full report
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root, err := repoRoot()
	if err == nil {
		cfg.root = root
		err = run(ctx, cfg, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// flagSet reports whether the named flag was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// run measures every contender and reports. In short mode it makes one
// decision per contender on the typical workflow with default settings.
func run(ctx context.Context, cfg config, out io.Writer) error {
	started := time.Now()
	if cfg.gogc == 0 {
		cfg.gogc = 100
	}
	if cfg.gogc != 100 {
		// The same collector setting for the opa processes, which read
		// GOGC from their environment.
		debug.SetGCPercent(cfg.gogc)
		os.Setenv("GOGC", strconv.Itoa(cfg.gogc))
	}
	workloads, err := loadWorkloads(cfg.root)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "runpolicy-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	opa := cfg.opa
	if opa == "" {
		fmt.Fprintln(out, "building opa from go.mod …")
		if opa, err = buildOPA(ctx, cfg.root, tmp); err != nil {
			return err
		}
	}

	vs := variants()
	if cfg.short {
		vs, workloads = vs[:1], workloads[:1]
	}
	if cfg.only != "" {
		keep := strings.Split(cfg.only, ",")
		vs = slices.DeleteFunc(vs, func(v variant) bool { return !slices.Contains(keep, v.name) })
		workloads = slices.DeleteFunc(workloads, func(w workload) bool { return !slices.Contains(keep, w.name) })
		if len(vs) == 0 || len(workloads) == 0 {
			return fmt.Errorf("-only %q keeps no settings variant or no workload", cfg.only)
		}
	}
	rep := &report{cfg: cfg, opaVersion: opaVersion(ctx, opa), workloads: workloads}
	// The first variant's scenarios (default settings) run again beside
	// every later variant's contenders, as a reference measured in the
	// same rounds.
	refs := map[string]*scenario{}
	for i, v := range vs {
		if err := runVariant(ctx, cfg, rep, out, opa, tmp, v, workloads, refs, i == 0); err != nil {
			return fmt.Errorf("%s settings: %w", v.name, err)
		}
	}
	rep.elapsed = time.Since(started)
	rep.print(out)
	if cfg.short || cfg.write == "" {
		return nil
	}
	path := cfg.write
	if !filepath.IsAbs(path) {
		path = filepath.Join(cfg.root, path)
	}
	old, _ := os.ReadFile(path) // a missing file has no hand-written sections
	if err := os.WriteFile(path, []byte(rep.markdown()+keptSections(string(old))), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(out, "wrote", path)
	return nil
}

// runVariant measures every workload with one variant of settings. The
// first variant keeps its scenarios in refs, by workload; the others
// measure refs' warm and cold contenders in their own rounds.
func runVariant(ctx context.Context, cfg config, rep *report, out io.Writer, opa, tmp string, v variant, workloads []workload, refs map[string]*scenario, first bool) error {
	ps, err := loadPolicySet(ctx, v)
	if err != nil {
		return err
	}
	bundle := filepath.Join(tmp, "bundle-"+v.name)
	if err := ps.writeBundle(bundle); err != nil {
		return err
	}
	eng, err := engine.New(ctx, nil, engine.WithData(v.data...))
	if err != nil {
		return err
	}
	// The limit is prepared after the engine: prepared before it, it
	// measured 10–15% slower than the warm contender, which makes the same
	// evaluation and more. That is where things lie in memory, not the
	// contenders; this order puts the limit at its best.
	limit, err := ps.prepare(ctx)
	if err != nil {
		return err
	}
	cores := runtime.GOMAXPROCS(0)

	for _, w := range workloads {
		fmt.Fprintf(out, "%s settings, %s workload …\n", v.name, w.name)
		s, err := newScenario(eng, limit, opa, bundle, tmp, v, w)
		if err != nil {
			return err
		}
		ref := refs[w.name]
		if first {
			refs[w.name], ref = s, nil
		}
		srv, err := startServer(ctx, opa, bundle, cores)
		if err != nil {
			return err
		}
		err = func() error {
			defer srv.Stop()
			if err := s.agree(ctx, srv); err != nil {
				return err
			}
			return measureScenario(ctx, cfg, rep, s, ref, srv, cores)
		}()
		if err != nil {
			return fmt.Errorf("%s workload: %w", w.name, err)
		}
	}
	return nil
}

// measureScenario measures every contender on one workload with one
// variant of settings. ref, when not nil, is the same workload with the
// reference settings: its warm and cold contenders join the interleaved
// rounds, so that the figures comparing the two variants do not compare
// moments of the machine a minute apart.
func measureScenario(ctx context.Context, cfg config, rep *report, s, ref *scenario, srv *opaServer, cores int) error {
	loop := limits{n: 5000, budget: cfg.loop}
	spin := limits{n: 1 << 30, budget: cfg.loop}
	procs := limits{n: 3, budget: time.Minute}
	if cfg.short {
		loop, procs = limits{n: 1}, limits{n: 1}
	}
	v, w := s.variant.name, s.workload.name

	// Latency: every contender but the process per decision runs in the
	// same interleaved rounds, one decision of each per round, so that the
	// ratios compare decisions made under the same conditions (the same
	// load from elsewhere, the same CPU caches and garbage collections).
	// Then each one's throughput on every core; the in-process ones have
	// their heap sampled meanwhile. Each gets its own cache, dropped when
	// it is done.
	var seq atomic.Int64
	contenders := []struct {
		name      string
		task      func() task
		inProcess bool
	}{
		{rpCold, func() task { return s.coldTask(ctx, input.NewCache(1024), &seq) }, true},
		{rpWarm, func() task { return s.warmTask(ctx, s.warmCache()) }, true},
		{opaLimit, func() task { return s.limitTask(ctx) }, true},
		{parserOnly, func() task { return s.parseTask(&seq) }, true},
		{rpNormalize, func() task { return s.normalizeTask(input.NewCache(1024), &seq) }, true},
		{opaSidecar, func() task { return s.sidecarTask(ctx, srv) }, false},
	}
	tasks := make([]task, len(contenders))
	for i, c := range contenders {
		tasks[i] = c.task()
	}
	if ref != nil {
		tasks = append(tasks, ref.warmTask(ctx, ref.warmCache()), ref.coldTask(ctx, input.NewCache(1024), &seq))
	}
	durations, err := interleaved(ctx, tasks, limits{n: loop.n, budget: time.Duration(len(tasks)) * loop.budget})
	if err != nil {
		return err
	}
	if ref != nil {
		n := len(contenders)
		rep.addReference(v, w, rpWarm, summarize(durations[n]).median)
		rep.addReference(v, w, rpCold, summarize(durations[n+1]).median)
	}
	tasks = nil // let the caches go before measuring memory
	for i, c := range contenders {
		r := result{stats: summarize(durations[i])}
		if !cfg.short {
			t := c.task()
			var heap *heapSampler
			if c.inProcess {
				heap = sampleHeap()
			}
			r.perSec, err = throughput(ctx, t, cores, spin)
			if heap != nil {
				r.peak, r.peakKind = heap.Stop(), "heap"
			}
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
		}
		if !c.inProcess {
			if r.peak, err = srv.peakRSS(); err == nil {
				r.peakKind = "RSS"
			}
		}
		rep.add(v, w, c.name, r)
	}

	var rss peakRSS
	r, err := measure(ctx, s.evalTask(ctx, &rss), procs, limits{n: 2 * cores, budget: time.Minute}, cores, cfg.short)
	if err != nil {
		return fmt.Errorf("%s: %w", opaEval, err)
	}
	r.peak, r.peakKind = rss.get(), "RSS"
	rep.add(v, w, opaEval, r)

	// How runpolicy scales from one goroutine to two, on the typical
	// workflow with default settings.
	if !cfg.short && v == "default" && w == "typical" {
		// Three loop budgets each: a garbage collection lands in a slice
		// of 300 ms less unevenly than in one of 100 ms.
		long := limits{n: spin.n, budget: 3 * spin.budget}
		for _, c := range contenders[:2] {
			one, two, err := scaling(ctx, c.task(), long)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			rep.scaling = append(rep.scaling, scale{c.name, 1, one}, scale{c.name, 2, two})
		}
		one, two, err := scaling(ctx, computeOnly, limits{n: 1 << 30, budget: spin.budget})
		if err != nil {
			return err
		}
		rep.spinScaling = two / one
		if one, two, err = scaling(ctx, allocOnly, limits{n: 1 << 30, budget: spin.budget}); err != nil {
			return err
		}
		rep.allocScaling = two / one
	}
	return nil
}

// result is what one contender measured on one workload.
type result struct {
	stats
	perSec   float64 // decisions per second on all cores; 0 when not measured
	peak     uint64  // bytes
	peakKind string  // "heap" (Go heap in use, in process) or "RSS" (peak resident set of an opa process)
}

// measure runs a contender's latency loop, then its throughput loop on
// every core.
func measure(ctx context.Context, t task, loop, spin limits, cores int, short bool) (result, error) {
	d, err := latencies(ctx, t, loop)
	if err != nil {
		return result{}, err
	}
	r := result{stats: summarize(d)}
	if !short {
		if r.perSec, err = throughput(ctx, t, cores, spin); err != nil {
			return result{}, err
		}
	}
	return r, nil
}

// repoRoot finds the module root from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(data), "module github.com/runpolicy/runpolicy\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the runpolicy repository")
		}
		dir = parent
	}
}
