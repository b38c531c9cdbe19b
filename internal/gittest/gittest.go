// Package gittest serves a git repository on disk over git's smart HTTP
// protocol, upload-pack only, with go-git's own server: tests fetch
// policies from a real git repository over loopback through it.
package gittest

import (
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
)

// Counts counts the requests a Handler answered: ref listings and fetches.
type Counts struct {
	Lists, Fetches atomic.Int64
}

type dirLoader string

// Load opens the repository afresh for every request, so new commits show.
func (d dirLoader) Load(*transport.Endpoint) (storer.Storer, error) {
	r, err := git.PlainOpen(string(d))
	if err != nil {
		return nil, err
	}
	return r.Storer, nil
}

// Handler answers git's smart HTTP protocol for the repository in dir,
// whatever the URL's path names; counts, when not nil, counts what it
// answered.
func Handler(dir string, counts *Counts) http.Handler {
	if counts == nil {
		counts = &Counts{}
	}
	srv := server.NewServer(dirLoader(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep, _ := transport.NewEndpoint("http://" + r.Host + r.URL.Path)
		sess, err := srv.NewUploadPackSession(ep, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs"):
			if r.URL.Query().Get("service") != transport.UploadPackServiceName {
				http.Error(w, "only upload-pack", http.StatusForbidden)
				return
			}
			counts.Lists.Add(1)
			ar, err := sess.AdvertisedReferencesContext(r.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			ar.Prefix = [][]byte{[]byte("# service=git-upload-pack"), pktline.Flush}
			w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
			_ = ar.Encode(w)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			counts.Fetches.Add(1)
			req := packp.NewUploadPackRequest()
			if err := req.Decode(r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			resp, err := sess.UploadPack(r.Context(), req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
			_ = resp.Encode(w)
		default:
			http.NotFound(w, r)
		}
	})
}
