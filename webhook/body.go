package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Reading a delivery costs memory before anything is known about it: the
// signature covers the whole body. So the body is authenticated as it
// arrives, in chunks, and memory and time are bounded:
//   - a body is read in chunks from a pool and assembled into one slice
//     only once its signature holds: a forged body leaves no garbage;
//   - past smallBody, a body is one of the few (Config.LargeBodies) its
//     remote address may read at once, and each further chunk is taken
//     from a budget of bytes (LargeBodies bodies of MaxBodyBytes in all),
//     waiting at most largeBodyWait, else 503 (GitHub records a failed
//     delivery, which the sweep asks for again). The budget counts the
//     bytes a body holds, not the body: senders that stall after a few
//     hundred KB hold a few hundred KB of it and their own address's
//     turns, and a genuine delivery from GitHub's address finds room;
//   - a body must arrive within bodyTimeout: GitHub gives up on a delivery
//     after 10 seconds, so a body still arriving later is no delivery of
//     its, and a stalled sender lets go of its memory by then (408);
//   - nothing is read past MaxBodyBytes (413).
const (
	smallBody     = 256 << 10
	chunkSize     = 256 << 10
	largeBodyWait = 5 * time.Second
	bodyTimeout   = 10 * time.Second
)

var (
	errTooLarge     = errors.New("payload too large")
	errBusy         = errors.New("too many large deliveries at once")
	errSlow         = errors.New("body not received in time")
	errBadSignature = errors.New("signature mismatch")
)

// chunks is a pool of read buffers of chunkSize.
type chunks struct{ pool sync.Pool }

func (c *chunks) get() []byte {
	if b, ok := c.pool.Get().(*[]byte); ok {
		return (*b)[:chunkSize]
	}
	return make([]byte, chunkSize)
}

func (c *chunks) put(b []byte) { c.pool.Put(&b) }

// budget bounds the large bodies being read: their bytes in all, and how
// many one remote address reads at once. The address is the connection's
// (an IPv6 address's /64), which the sender cannot choose as it can
// X-Forwarded-For.
type budget struct {
	total     *semaphore.Weighted // bytes
	perRemote int64               // bodies
	held      atomic.Int64
	mu        sync.Mutex
	remotes   map[string]*share
}

// share is one remote address's large bodies being read.
type share struct {
	sem     *semaphore.Weighted
	readers int
}

// newBudget holds bodies large bodies of up to maxBody bytes, and as many
// from one remote address.
func newBudget(bodies int, maxBody int64) *budget {
	per := (maxBody/chunkSize + 1) * chunkSize // whole chunks, the one that overflows included
	return &budget{total: semaphore.NewWeighted(int64(bodies) * per), perRemote: int64(bodies), remotes: map[string]*share{}}
}

// reservation is what one body holds of the budget.
type reservation struct {
	b    *budget
	key  string
	sh   *share
	held int64
}

// remoteKey is the address a remote is counted by: an IPv4 address, or
// the /64 of an IPv6 one (one host's usual allotment).
func remoteKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// open counts a large body against its remote address, waiting until ctx
// ends for one of the address's own bodies to finish.
func (b *budget) open(ctx context.Context, key string) (*reservation, error) {
	b.mu.Lock()
	sh := b.remotes[key]
	if sh == nil {
		sh = &share{sem: semaphore.NewWeighted(b.perRemote)}
		b.remotes[key] = sh
	}
	sh.readers++
	b.mu.Unlock()
	r := &reservation{b: b, key: key, sh: sh}
	if err := sh.sem.Acquire(ctx, 1); err != nil {
		r.leave()
		return nil, err
	}
	return r, nil
}

// take reserves n more bytes, waiting until ctx ends.
func (r *reservation) take(ctx context.Context, n int64) error {
	if err := r.b.total.Acquire(ctx, n); err != nil {
		return err
	}
	r.held += n
	r.b.held.Add(n)
	return nil
}

// close gives back everything the body held.
func (r *reservation) close() {
	r.b.total.Release(r.held)
	r.b.held.Add(-r.held)
	r.held = 0
	r.sh.sem.Release(1)
	r.leave()
}

func (r *reservation) leave() {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	if r.sh.readers--; r.sh.readers == 0 {
		delete(r.b.remotes, r.key)
	}
}

// inUse is how many bytes bodies hold.
func (b *budget) inUse() int64 { return b.held.Load() }

// holders reports how many remote addresses read large bodies (tests).
func (b *budget) holders() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.remotes)
}

// bodyReader reads delivery bodies within their bounds and authenticates
// them as they arrive.
type bodyReader struct {
	secret []byte
	max    int64
	// large is the memory budget of bodies over smallBody being read;
	// chunks are their read buffers.
	large  *budget
	chunks chunks
}

func newBodyReader(secret []byte, maxBytes int64, largeBodies int) *bodyReader {
	return &bodyReader{secret: secret, max: maxBytes, large: newBudget(largeBodies, maxBytes)}
}

// read reads a request body of at most max bytes within bodyTimeout and
// checks that its HMAC-SHA256 under the webhook secret is sum. It returns
// the body only when it is authentic; errBadSignature, errTooLarge,
// errBusy, errSlow or the read error otherwise. rc sets the connection's
// read deadline (nil: none).
func (s *bodyReader) read(rc *http.ResponseController, r *http.Request, sum []byte) ([]byte, error) {
	if rc != nil {
		// A test recorder has no connection: nothing to set.
		_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout))
	}
	mac := hmac.New(sha256.New, s.secret)
	var parts [][]byte
	defer func() {
		for _, p := range parts {
			s.chunks.put(p)
		}
	}()
	total := int64(0)
	var held *reservation
	defer func() {
		if held != nil {
			held.close()
		}
	}()
	for {
		if total >= smallBody {
			ctx, cancel := context.WithTimeout(r.Context(), largeBodyWait)
			var err error
			if held == nil {
				held, err = s.large.open(ctx, remoteKey(r.RemoteAddr))
			}
			if err == nil {
				err = held.take(ctx, chunkSize)
			}
			cancel()
			if err != nil {
				return nil, errBusy
			}
		}
		chunk := s.chunks.get()
		n, err := io.ReadFull(r.Body, chunk)
		mac.Write(chunk[:n])
		parts = append(parts, chunk[:n])
		total += int64(n)
		if total > s.max {
			return nil, errTooLarge
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, errSlow
		}
		if err != nil {
			return nil, err
		}
	}
	if rc != nil {
		// Read in full: no deadline until the server sets the next
		// request's. After a failed read the passed one stays, so that the
		// server does not wait for the rest of the body before answering.
		_ = rc.SetReadDeadline(time.Time{})
	}
	if !hmac.Equal(mac.Sum(nil), sum) {
		return nil, errBadSignature
	}
	body := make([]byte, 0, total)
	for _, p := range parts {
		body = append(body, p...)
	}
	return body, nil
}
