package github

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/test/fakegithub"
)

// A rate-limit answer to one call holds back every call of the
// installation until the time GitHub named; other installations go on.
func TestRateLimitHoldsTheInstallation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault fakegithub.Fault
	}{
		{"429 Retry-After", fakegithub.SecondaryRateLimited("GET", "/repos/acme/api/contents/a.txt", 1, time.Second)},
		{"403 primary limit", fakegithub.RateLimited("GET", "/repos/acme/api/contents/a.txt", 1, time.Now().Add(1500*time.Millisecond))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, app, _ := setup(t)
			fake.AddInstallation("other", 8)
			ctx := context.Background()
			fake.SetFile("acme/api", "main", "a.txt", []byte("a"))
			fake.SetFile("acme/api", "main", "b.txt", []byte("b"))
			fake.SetFile("other/api", "main", "a.txt", []byte("a"))
			fake.AddFault(tc.fault)
			c := app.Installation(7)
			_, err := c.Content(ctx, "acme", "api", "a.txt", "main")
			temporary, wait := Temporary(err)
			if !temporary || wait <= 0 {
				t.Fatalf("rate-limited call: %v (temporary %v, wait %s); want a temporary error with a wait", err, temporary, wait)
			}
			limitedAt := time.Now()
			// Another call of the same installation, to another endpoint.
			_, err = c.Content(ctx, "acme", "api", "b.txt", "main")
			var se *StatusError
			if !errors.As(err, &se) || se.RetryAfter <= 0 {
				t.Fatalf("call during the wait: %v; want it held back with a Retry-After", err)
			}
			if n := fake.CountAll("GET", "/repos/acme/api/contents/b.txt"); n != 0 {
				t.Errorf("%d calls reached GitHub during the wait", n)
			}
			if _, err := app.Installation(8).Content(ctx, "other", "api", "a.txt", "main"); err != nil {
				t.Errorf("another installation was held back: %v", err)
			}
			time.Sleep(time.Until(limitedAt.Add(se.RetryAfter)))
			if _, err := c.Content(ctx, "acme", "api", "b.txt", "main"); err != nil {
				t.Errorf("after the wait: %v", err)
			}
		})
	}
}
