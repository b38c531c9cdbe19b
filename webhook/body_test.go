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
	for _, tc := range []struct {
		name    string
		body    []byte
		sum     []byte
		chunked bool
		busy    bool
		want    error
	}{
		{"small, authentic", []byte(`{"a":1}`), nil, false, false, nil},
		{"empty, authentic", nil, nil, false, false, nil},
		{"large, authentic", big, nil, false, false, nil},
		{"large, authentic, no length", big, nil, true, false, nil},
		{"large, forged", big, make([]byte, 32), false, false, errBadSignature},
		{"too large", bytes.Repeat([]byte("x"), 4*chunkSize+1), nil, true, false, errTooLarge},
		{"large while the slots are taken", big, nil, false, true, errBusy},
		{"small while the slots are taken", []byte(`{}`), nil, false, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{opts: Options{Secret: secret, MaxBodyBytes: 4 * chunkSize}, large: newSlots(1)}
			if tc.busy {
				release, _ := s.large.acquire(context.Background())
				defer release()
			}
			sum := tc.sum
			if sum == nil {
				sum, _ = parseSignature(Sign(secret, tc.body))
			}
			var r io.Reader = bytes.NewReader(tc.body)
			if tc.chunked {
				r = io.MultiReader(r) // hides the length
			}
			req := httptest.NewRequest(http.MethodPost, "/webhook", r)
			if tc.busy {
				ctx, cancel := context.WithCancel(req.Context())
				cancel() // do not wait largeBodyWait
				req = req.WithContext(ctx)
			}
			got, err := s.readBody(req, sum)
			if !errors.Is(err, tc.want) {
				t.Fatalf("readBody: %v, want %v", err, tc.want)
			}
			if err == nil && !bytes.Equal(got, tc.body) {
				t.Errorf("readBody returned %d bytes, want the %d sent", len(got), len(tc.body))
			}
			if !tc.busy && taken(s.large) {
				t.Error("the large-body slot was not given back")
			}
		})
	}
}

// taken reports whether a one-slot semaphore is held.
func taken(s slots) bool {
	select {
	case s <- struct{}{}:
		<-s
		return false
	default:
		return true
	}
}
