package github

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// NewTokenClient returns a client that reads repositories with a personal
// access token (or GITHUB_TOKEN) instead of an App installation: what
// `runpolicy eval --resolve` uses. Only the read calls (Content, CommitSHA, Branches, Tags, Compare)
// are meant for it.
func NewTokenClient(apiURL, token string) (*Client, error) {
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	u, err := url.Parse(strings.TrimRight(apiURL, "/") + "/")
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("github: API URL %q is not an http(s) URL", apiURL)
	}
	content, _ := lru.New[contentKey, []byte](1024)
	refs, _ := lru.New[contentKey, string](1024)
	a := &App{apiURL: u, timeout: 30 * time.Second, content: content, refs: refs}
	rt := http.DefaultTransport
	if token != "" {
		rt = bearer{token: token, next: rt}
	}
	return &Client{gh: a.newClient(rt), app: a}, nil
}

// bearer adds a token to every request.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}
