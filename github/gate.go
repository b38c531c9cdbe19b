package github

import (
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// gate holds back every call of one installation (or of the App) while
// GitHub has asked it to wait: after a 429 or 403 with Retry-After, or a
// 403 with no calls remaining until X-RateLimit-Reset. GitHub counts rate
// limits per installation, so one job's rate-limit answer pauses all the
// jobs acting as that installation, not only its own retry. (go-github
// remembers the primary limit, but the next success of a call already in
// flight overwrites that memory, and it does not recognise a 429 at all.)
//
// A held call gets a 429 with Retry-After without leaving the process;
// the queue then waits at least that long before the job runs again.
type gate struct {
	mu    sync.Mutex
	until time.Time
}

func (g *gate) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if wait := g.wait(); wait > 0 {
			return held(req, wait), nil
		}
		resp, err := next.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		if code := resp.StatusCode; code == http.StatusTooManyRequests || code == http.StatusForbidden {
			if d := retryAfter(resp.Header); d > 0 {
				g.hold(time.Now().Add(d))
			}
		}
		return resp, nil
	})
}

// wait is how long calls are held back still, 0 when they are not.
func (g *gate) wait() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Until(g.until)
}

// hold holds calls back until t, unless they already are for longer.
func (g *gate) hold(t time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.After(g.until) {
		g.until = t
	}
}

// held is the answer to a call held back: a 429 naming the wait in whole
// seconds, rounded up, as GitHub would.
func held(req *http.Request, wait time.Duration) *http.Response {
	secs := strconv.Itoa(int(math.Ceil(wait.Seconds())))
	body := `{"message":"not sent: GitHub asked this installation to wait ` + secs + `s (rate limit)"}`
	return &http.Response{
		Status:        "429 Too Many Requests",
		StatusCode:    http.StatusTooManyRequests,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Retry-After": {secs}, "Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}
