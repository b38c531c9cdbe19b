package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v62/github"

	"github.com/runpolicy/runpolicy/resolve"
)

// ErrNotFound is returned when a repository, file, ref or run does not
// exist or the installation cannot see it (GitHub answers 404 for both).
// It is the resolver's, so that Client is a resolve.Fetcher.
var ErrNotFound = resolve.ErrNotFound

// StatusError is an answer GitHub gave that is not a success.
type StatusError struct {
	Status int
	// RetryAfter is how long GitHub asked to wait (Retry-After, or until
	// the rate limit resets); 0 when it did not say.
	RetryAfter time.Duration
	Message    string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
}

// wrap names the call in err and turns go-github's error types into
// ErrNotFound or *StatusError, keeping network errors as they are.
func wrap(err error, format string, a ...any) error {
	what := fmt.Sprintf(format, a...)
	var rl *gh.RateLimitError
	var abuse *gh.AbuseRateLimitError
	var er *gh.ErrorResponse
	switch {
	case errors.As(err, &rl):
		wait := time.Until(rl.Rate.Reset.Time)
		return fmt.Errorf("%s: %w", what, &StatusError{Status: statusOf(rl.Response, http.StatusForbidden), RetryAfter: max(wait, time.Second), Message: rl.Message})
	case errors.As(err, &abuse):
		return fmt.Errorf("%s: %w", what, &StatusError{Status: statusOf(abuse.Response, http.StatusTooManyRequests), RetryAfter: abuse.GetRetryAfter(), Message: abuse.Message})
	case errors.As(err, &er):
		status := statusOf(er.Response, 0)
		if status == http.StatusNotFound {
			return fmt.Errorf("%s: %w", what, ErrNotFound)
		}
		se := &StatusError{Status: status, Message: er.Message}
		if er.Response != nil {
			se.RetryAfter = retryAfter(er.Response.Header)
		}
		if status == http.StatusUnauthorized {
			return fmt.Errorf("%s: %w: %w", what, se, resolve.ErrAuth)
		}
		return fmt.Errorf("%s: %w", what, se)
	}
	var he *ghinstallation.HTTPError
	switch {
	case !errors.As(err, &he):
		return fmt.Errorf("%s: %w", what, err)
	case he.Response == nil:
		// No installation token: the network failed on the way to it.
		return fmt.Errorf("%s: %w: %w", what, ErrNoToken, err)
	case he.Response.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s: %w: %w", what, ErrNoToken, ErrNotFound)
	}
	se := &StatusError{Status: he.Response.StatusCode, RetryAfter: retryAfter(he.Response.Header), Message: he.Message}
	if se.Status == http.StatusUnauthorized {
		return fmt.Errorf("%s: %w: %w: %w", what, ErrNoToken, se, resolve.ErrAuth)
	}
	return fmt.Errorf("%s: %w: %w", what, ErrNoToken, se)
}

// ErrNoToken marks a call that never left: the installation token it
// waits for could not be had (NotSent).
var ErrNoToken = errors.New("installation token")

func statusOf(r *http.Response, fallback int) int {
	if r == nil {
		return fallback
	}
	return r.StatusCode
}

func retryAfter(h http.Header) time.Duration {
	if s := h.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		if n, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Until(time.Unix(n, 0)), time.Second)
		}
	}
	return 0
}

// NotSent reports whether a failed call surely never reached GitHub: no
// installation token could be had for it (see Client.token), or no
// connection was made. A call that may have reached GitHub (a timeout, a
// connection dropped after it was made) is not, and neither is one GitHub
// answered (StatusError). A caller that must not do a thing twice, such as
// a cancel, may send again after a call NotSent.
func NotSent(err error) bool {
	var op *net.OpError
	return errors.Is(err, ErrNoToken) || errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &op) && op.Op == "dial"
}

// Temporary reports whether a failed call is worth retrying (5xx, rate
// limits, timeouts, refused or reset connections) and the least time to
// wait first, when GitHub said.
func Temporary(err error) (bool, time.Duration) {
	if err == nil {
		return false, 0
	}
	var se *StatusError
	if errors.As(err, &se) {
		switch {
		case se.Status >= 500, se.Status == http.StatusTooManyRequests, se.Status == http.StatusRequestTimeout:
			return true, se.RetryAfter
		case se.Status == http.StatusForbidden && se.RetryAfter > 0:
			return true, se.RetryAfter // a rate limit
		}
		return false, 0
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, context.Canceled) {
		return false, 0
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return true, 0
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true, 0
	}
	var op *net.OpError
	return errors.As(err, &op), 0
}
