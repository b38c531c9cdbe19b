package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// Reading a delivery costs memory before anything is known about it: the
// signature covers the whole body. So the body is authenticated as it
// arrives, in chunks, and memory is bounded three ways:
//   - a body is read in chunks from a pool and assembled into one slice
//     only once its signature holds: a forged body leaves no garbage;
//   - past smallBody, a request needs one of a few large-body slots
//     (Options.LargeBodies), waiting at most largeBodyWait, else 503
//     (GitHub records a failed delivery, which the sweep asks for again);
//   - nothing is read past MaxBodyBytes (413).
const (
	smallBody     = 256 << 10
	chunkSize     = 256 << 10
	largeBodyWait = 5 * time.Second
)

var (
	errTooLarge     = errors.New("payload too large")
	errBusy         = errors.New("too many large deliveries at once")
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

// readBody reads a request body of at most MaxBodyBytes and checks that
// its HMAC-SHA256 under the webhook secret is sum. It returns the body
// only when it is authentic; errBadSignature, errTooLarge, errBusy or
// the read error otherwise.
func (s *Server) readBody(r *http.Request, sum []byte) ([]byte, error) {
	mac := hmac.New(sha256.New, s.opts.Secret)
	var parts [][]byte
	defer func() {
		for _, p := range parts {
			s.chunks.put(p)
		}
	}()
	total := int64(0)
	var release func()
	defer func() {
		if release != nil {
			release()
		}
	}()
	for {
		if total >= smallBody && release == nil {
			ctx, cancel := context.WithTimeout(r.Context(), largeBodyWait)
			free, err := s.large.acquire(ctx)
			cancel()
			if err != nil {
				return nil, errBusy
			}
			release = free
		}
		chunk := s.chunks.get()
		n, err := io.ReadFull(r.Body, chunk)
		mac.Write(chunk[:n])
		parts = append(parts, chunk[:n])
		total += int64(n)
		if total > s.opts.MaxBodyBytes {
			return nil, errTooLarge
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, err
		}
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
