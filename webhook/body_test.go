package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestReadBody(t *testing.T) {
	secret := []byte("s3cret")
	big := bytes.Repeat([]byte("0123456789abcdef"), (3*chunkSize)/16+7) // over three chunks
	// hold reserves chunks of the budget for addr, as bodies being read.
	hold := func(addr string, bodies, chunks int) func(*budget) func() {
		return func(b *budget) func() {
			var rs []*reservation
			for range bodies {
				r, err := b.open(context.Background(), addr)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.take(context.Background(), int64(chunks)*chunkSize); err != nil {
					t.Fatal(err)
				}
				rs = append(rs, r)
			}
			return func() {
				for _, r := range rs {
					r.close()
				}
			}
		}
	}
	const me, other = "192.0.2.1", "198.51.100.7" // httptest's remote address, and another
	for _, tc := range []struct {
		name    string
		body    []byte
		sum     []byte
		chunked bool
		bodies  int                  // the budget, in bodies of MaxBodyBytes
		held    func(*budget) func() // what other bodies hold meanwhile
		want    error
	}{
		{"small, authentic", []byte(`{"a":1}`), nil, false, 1, nil, nil},
		{"empty, authentic", nil, nil, false, 1, nil, nil},
		{"large, authentic", big, nil, false, 1, nil, nil},
		{"large, authentic, no length", big, nil, true, 1, nil, nil},
		{"large, forged", big, make([]byte, 32), false, 1, nil, errBadSignature},
		{"too large", bytes.Repeat([]byte("x"), 4*chunkSize+1), nil, true, 1, nil, errTooLarge},
		{"large while the budget is taken", big, nil, false, 1, hold(other, 1, 5), errBusy},
		{"small while the budget is taken", []byte(`{}`), nil, false, 1, hold(other, 1, 5), nil},
		// Two senders stalled after a chunk past smallBody hold two chunks,
		// not the budget: a genuine large delivery is read beside them.
		{"large beside stalled bodies", big, nil, false, 2, hold(other, 2, 1), nil},
		{"large beside stalled bodies from many addresses", big, nil, false, 2, func(b *budget) func() {
			var releases []func()
			for _, addr := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3", "2001:db8::1", "2001:db8::2"} {
				releases = append(releases, hold(addr, 1, 1)(b))
			}
			return func() {
				for _, r := range releases {
					r()
				}
			}
		}, nil},
		// One address reads as many large bodies at once as the budget
		// holds, even with bytes left.
		{"large while this address reads its share", big, nil, false, 2, hold(me, 2, 1), errBusy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newBodyReader(secret, 4*chunkSize, tc.bodies)
			busy := errors.Is(tc.want, errBusy)
			if tc.held != nil {
				release := tc.held(s.large)
				defer release()
			}
			holders := s.large.holders()
			sum := tc.sum
			if sum == nil {
				sum, _ = parseSignature(Sign(secret, tc.body))
			}
			var r io.Reader = bytes.NewReader(tc.body)
			if tc.chunked {
				r = io.MultiReader(r) // hides the length
			}
			req := httptest.NewRequest(http.MethodPost, "/webhook", r)
			if busy {
				ctx, cancel := context.WithCancel(req.Context())
				cancel() // do not wait largeBodyWait
				req = req.WithContext(ctx)
			}
			got, err := s.read(nil, req, sum)
			if !errors.Is(err, tc.want) {
				t.Fatalf("readBody: %v, want %v", err, tc.want)
			}
			if err == nil && !bytes.Equal(got, tc.body) {
				t.Errorf("readBody returned %d bytes, want the %d sent", len(got), len(tc.body))
			}
			if n := s.large.holders(); n != holders {
				t.Errorf("%d addresses read large bodies after the read, want the %d before (it gave its turn back)", n, holders)
			}
			if tc.held != nil {
				return
			}
			// Everything was given back: the whole budget can be taken.
			if !s.large.total.TryAcquire(int64(tc.bodies) * s.large.perRemote) {
				t.Error("the budget was not given back")
			}
		})
	}
}

func TestRemoteKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:443":             "192.0.2.1",
		"[2001:db8:1:2:3::4]:443":   "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::9]:80": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.1]:443":    "::ffff:192.0.2.1",
		"not an address":            "not an address",
	} {
		if got := remoteKey(in); got != want {
			t.Errorf("remoteKey(%q) = %q, want %q", in, got, want)
		}
	}
}
