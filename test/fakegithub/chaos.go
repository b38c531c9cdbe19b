package fakegithub

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Chaos fails a share of all requests at random, the way GitHub fails on a
// bad day. Explicit faults (AddFault) are checked first.
type Chaos struct {
	// Seed makes the sequence of draws repeatable (the order requests
	// arrive in is not).
	Seed uint64
	// Fail is the share of requests answered with an error instead:
	// a third 500, a third 502, a sixth 403 primary rate limit (no calls
	// remaining until X-RateLimit-Reset) and a sixth 429 with Retry-After.
	Fail float64
	// Timeout is the share of requests answered only after Hold, which is
	// meant to be longer than the client waits. Half of them are done and
	// their answer is lost; the other half are dropped unprocessed when
	// the client has gone by then, as a request that never arrived.
	Timeout float64
	Hold    time.Duration
	// Wait is what the rate-limit answers ask to wait (whole seconds,
	// default 1s).
	Wait time.Duration
}

// Kinds of injected failures, as Call.Injected names them.
const (
	Injected500        = "500"
	Injected502        = "502"
	InjectedRateLimit  = "rate_limit"  // 403, X-RateLimit-Remaining: 0
	InjectedRetryAfter = "retry_after" // 429, Retry-After
	InjectedLostAnswer = "lost_answer" // done, answered after Hold
	InjectedDropped    = "dropped"     // held, then dropped when the client left
	InjectedFault      = "fault"       // an explicit Fault
)

// chaos is an active Chaos with its random source.
type chaos struct {
	Chaos
	rnd *rand.Rand
}

// SetChaos starts failing requests at random; nil stops it.
func (s *Server) SetChaos(c *Chaos) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c == nil {
		s.chaos = nil
		return
	}
	cp := *c
	if cp.Wait < time.Second {
		cp.Wait = time.Second
	}
	s.chaos = &chaos{Chaos: cp, rnd: rand.New(rand.NewPCG(cp.Seed, cp.Seed^0x9e3779b97f4a7c15))}
}

// draw picks what chaos does to the next request: "" for nothing. The
// caller holds s.mu.
func (s *Server) draw() string {
	if s.chaos == nil {
		return ""
	}
	x := s.chaos.rnd.Float64()
	f, t := s.chaos.Fail, s.chaos.Timeout
	switch {
	case x < f/3:
		return Injected500
	case x < 2*f/3:
		return Injected502
	case x < 5*f/6:
		return InjectedRateLimit
	case x < f:
		return InjectedRetryAfter
	case x < f+t/2:
		return InjectedLostAnswer
	case x < f+t:
		return InjectedDropped
	}
	return ""
}

// injectError answers a request with the error chaos drew and returns the
// earliest time a client that honours the answer may try again.
func (s *Server) injectError(w http.ResponseWriter, rec *recorder, kind string, wait time.Duration) time.Time {
	now := time.Now()
	var notBefore time.Time
	status, body := http.StatusInternalServerError, `{"message":"Server Error"}`
	switch kind {
	case Injected502:
		status, body = http.StatusBadGateway, `{"message":"Server Error"}`
	case InjectedRateLimit:
		reset := now.Add(wait).Truncate(time.Second).Add(time.Second)
		h := w.Header()
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", "5000")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("X-RateLimit-Resource", "core")
		status, notBefore = http.StatusForbidden, reset
		body = `{"message":"API rate limit exceeded for installation.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`
	case InjectedRetryAfter:
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
		status, notBefore = http.StatusTooManyRequests, now.Add(wait)
		body = `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	rec.WriteHeader(status)
	_, _ = w.Write([]byte(body))
	return notBefore
}

// lateWriter keeps an answer until it is released.
type lateWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (l *lateWriter) Header() http.Header { return l.header }

func (l *lateWriter) WriteHeader(code int) {
	if l.status == 0 {
		l.status = code
	}
}

func (l *lateWriter) Write(b []byte) (int, error) {
	if l.status == 0 {
		l.status = http.StatusOK
	}
	return l.body.Write(b)
}

// release sends the kept answer.
func (l *lateWriter) release(w http.ResponseWriter) {
	for k, v := range l.header {
		w.Header()[k] = v
	}
	w.WriteHeader(l.status)
	_, _ = w.Write(l.body.Bytes())
}
