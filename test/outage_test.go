package test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/test/pgtest"
)

// Proof 3: the database goes away mid-load, twice: first every connection
// is cut and new ones refused for a few seconds (a TCP proxy between the
// replicas and Postgres), then its backends are terminated again and again
// (pg_terminate_backend). While it is down /webhook answers 503, so that
// GitHub records a failed delivery instead of an acknowledgement nobody
// kept; afterwards the replicas reconnect, nothing acknowledged is lost,
// the failed deliveries are asked for again, and every run is judged and
// acted on exactly once.
func TestDatabaseOutage(t *testing.T) {
	var proxy *pgProxy
	c := newCluster(t, clusterOptions{replicas: 3, dsn: func(direct string) string {
		u, err := url.Parse(direct)
		if err != nil {
			t.Fatal(err)
		}
		proxy = startProxy(t, u.Host)
		dsn, err := pgtest.WithHost(direct, proxy.addr())
		if err != nil {
			t.Fatal(err)
		}
		return dsn
	}})
	runs := makeRuns(c.gh, "outage", 300000, 600)
	ds := deliveriesFor(t, runs, "outage", 1500, 3)
	const rate = 150.0 // deliveries per second: the load lasts 10s
	cutAt, restoreAt, stormAt := len(ds)*2/10, len(ds)*5/10, len(ds)*65/100
	var cut, restored time.Time
	var readyDuring []int
	var storm sync.WaitGroup
	terminated := 0
	results, _ := c.blast(ds, 64, rate, func(i int) {
		switch i {
		case cutAt:
			cut = time.Now()
			proxy.setDown(true)
			t.Logf("database cut off after %d deliveries", i)
		case cutAt + int(rate):
			// A second into the outage: not ready.
			for _, r := range c.reps {
				code, _ := r.server().Get(context.Background(), "/readyz", "", nil)
				readyDuring = append(readyDuring, code)
			}
		case restoreAt:
			proxy.setDown(false)
			restored = time.Now()
			t.Logf("database back after %s", restored.Sub(cut).Round(time.Millisecond))
		case stormAt:
			storm.Add(1)
			go func() {
				defer storm.Done()
				for range 8 {
					n, err := terminateBackends(c.dbName)
					if err != nil {
						t.Errorf("pg_terminate_backend: %v", err)
						return
					}
					terminated += n
					time.Sleep(250 * time.Millisecond)
				}
			}()
		}
	})
	storm.Wait()
	t.Logf("terminated %d backends of the replicas in 2s", terminated)
	for i, code := range readyDuring {
		if code != http.StatusServiceUnavailable {
			t.Errorf("/readyz of r%d with the database down: %d, want 503", i, code)
		}
	}

	acked, failed := c.outcomes(ds, results)
	var during, ackedDuring, slow int
	for i, r := range results {
		if i > cutAt+int(rate/10) && i < restoreAt {
			during++
			if r.code == http.StatusAccepted {
				ackedDuring++
			}
		}
		if r.took > 10*time.Second { // GitHub gives up after 10s
			slow++
		}
	}
	t.Logf("%d deliveries acknowledged, %d failed (503 or no answer); of the %d sent while the database was down, %d acknowledged",
		len(acked), len(failed), during, ackedDuring)
	if ackedDuring > 0 {
		t.Errorf("%d deliveries acknowledged while the database was down", ackedDuring)
	}
	if len(failed) == 0 {
		t.Error("no delivery failed: the outage did not reach the replicas")
	}
	if slow > 0 {
		t.Errorf("%d deliveries answered after more than 10s (GitHub's timeout)", slow)
	}
	c.settle(union(acked, failed), len(runs), 150*time.Second)
	t.Logf("every delivery processed %s after the database came back", time.Since(restored).Round(100*time.Millisecond))
	c.checkExactlyOnce(runs, acked, true)
	t.Logf("GitHub was asked for %d redeliveries", c.redeliveryRequests())
}

// terminateBackends ends every connection to a database but its own, as
// a failover or an administrator would.
func terminateBackends(database string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int
	err := pgtest.QueryRow(ctx, pgtest.URL(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, []any{database}, &n)
	return n, err
}

// pgProxy forwards TCP connections on loopback to Postgres. Down, it cuts
// every connection and refuses new ones, as a database that went away.
type pgProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *pgProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.setDown(true)
	})
	return p
}

func (p *pgProxy) addr() string { return p.ln.Addr().String() }

func (p *pgProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(client)
	}
}

func (p *pgProxy) forward(client net.Conn) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		client.Close()
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	p.conns[client], p.conns[server] = true, true
	p.mu.Unlock()
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
	}
	wg.Add(2)
	go pipe(server, client)
	go pipe(client, server)
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

// setDown cuts every connection and refuses new ones, or lets them in again.
func (p *pgProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for conn := range p.conns {
			conn.Close()
		}
	}
}
