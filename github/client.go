// Package github is runpolicy's GitHub client: GitHub App authentication
// (a JWT for the App, cached installation tokens for everything else) and
// the REST calls the server makes, through go-github against a
// configurable API URL (github.com, GitHub Enterprise Server, or a fake).
//
// Calls return errors that Temporary classifies, so that the caller's
// durable queue retries what is worth retrying.
package github

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v62/github"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/runpolicy/runpolicy/resolve"
)

// DefaultAPIURL is github.com's REST API.
const DefaultAPIURL = "https://api.github.com"

// Config configures an App.
type Config struct {
	AppID int64
	// PrivateKey is the App's PEM-encoded private key.
	PrivateKey []byte
	// APIURL is the REST API base (default https://api.github.com; for
	// GitHub Enterprise Server https://HOST/api/v3).
	APIURL string
	// Timeout bounds one HTTP request (default 10s).
	Timeout time.Duration
	// CacheEntries bounds the file content cache (default 2048 files).
	CacheEntries int
	// Registerer receives the API call metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// Transport is the underlying HTTP transport (default a clone of
	// http.DefaultTransport).
	Transport http.RoundTripper
}

// App is a GitHub App: it makes App-level calls with a JWT and hands out
// clients for its installations. It is safe for concurrent use.
type App struct {
	appID   int64
	apiURL  *url.URL
	timeout time.Duration
	atr     *ghinstallation.AppsTransport
	client  *gh.Client // authenticated as the App (JWT)
	base    http.RoundTripper
	content *lru.Cache[contentKey, []byte]
	// refs holds the commit each ref pointed to when last asked, sent back
	// as the ETag of the next lookup (contentKey without a path).
	refs *lru.Cache[contentKey, string]

	mu            sync.Mutex
	installations *lru.Cache[int64, *Client]
	// gate holds the App's own calls while GitHub asks it to wait.
	gate gate
}

// NewApp checks the configuration and the key.
func NewApp(cfg Config) (*App, error) {
	if cfg.AppID <= 0 {
		return nil, fmt.Errorf("github: app_id must be a positive number")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.CacheEntries <= 0 {
		cfg.CacheEntries = 2048
	}
	u, err := url.Parse(strings.TrimRight(cfg.APIURL, "/") + "/")
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("github: github_api_url %q is not an http(s) URL", cfg.APIURL)
	}
	base := cfg.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		base = t
	}
	base = newMetrics(cfg.Registerer, u.Path).wrap(base)
	atr, err := ghinstallation.NewAppsTransport(base, cfg.AppID, cfg.PrivateKey)
	if err != nil {
		// The library's message may quote the key's parse error, never the key.
		return nil, fmt.Errorf("github: private key: %w", err)
	}
	atr.BaseURL = strings.TrimRight(u.String(), "/")
	content, _ := lru.New[contentKey, []byte](cfg.CacheEntries)
	installations, _ := lru.New[int64, *Client](4096)
	refs, _ := lru.New[contentKey, string](8192)
	a := &App{
		appID: cfg.AppID, apiURL: u, timeout: cfg.Timeout, atr: atr, base: base,
		content: content, refs: refs, installations: installations,
	}
	a.client = a.newClient(a.gate.wrap(atr))
	return a, nil
}

func (a *App) newClient(rt http.RoundTripper) *gh.Client {
	c := gh.NewClient(&http.Client{Transport: rt, Timeout: a.timeout})
	c.BaseURL = a.apiURL
	c.UploadURL = a.apiURL
	c.UserAgent = "runpolicy"
	return c
}

// Installation returns the client of one installation. Its token is
// fetched on first use and cached until a minute before it expires.
func (a *App) Installation(id int64) *Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.installations.Get(id); ok {
		return c
	}
	itr := ghinstallation.NewFromAppsTransport(a.atr, id)
	itr.BaseURL = a.atr.BaseURL
	itr.Client = &http.Client{Transport: a.base, Timeout: a.timeout}
	c := &Client{installation: id, itr: itr, app: a}
	c.gh = a.newClient(c.gate.wrap(itr))
	a.installations.Add(id, c)
	return c
}

// Token returns an installation token, for git and bundle downloads of
// policy repositories.
func (a *App) Token(ctx context.Context, installation int64) (string, error) {
	tok, err := a.Installation(installation).itr.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("github: token for installation %d: %w", installation, err)
	}
	return tok, nil
}

// FindInstallation returns the id of the installation that covers repo.
func (a *App) FindInstallation(ctx context.Context, owner, repo string) (int64, error) {
	in, _, err := a.client.Apps.FindRepositoryInstallation(ctx, owner, repo)
	if err != nil {
		return 0, wrap(err, "find installation of %s/%s", owner, repo)
	}
	return in.GetID(), nil
}

// Client makes calls as one installation. It is safe for concurrent use.
type Client struct {
	installation int64
	gh           *gh.Client
	itr          *ghinstallation.Transport
	app          *App
	// gate holds the installation's calls while GitHub asks it to wait.
	gate gate
}

// InstallationID is the installation the client acts as.
func (c *Client) InstallationID() int64 { return c.installation }

// token makes sure the installation token is at hand before a call that
// must not be sent twice. A failure here says for certain that the call
// never left (NotSent); inside the call's round trip, the HTTP client's
// timeout error would hide that it came from the token.
func (c *Client) token(ctx context.Context) error {
	if c.itr == nil {
		return nil // a token client (NewTokenClient) has its token
	}
	ctx, cancel := context.WithTimeout(ctx, c.app.timeout)
	defer cancel()
	_, err := c.itr.Token(ctx)
	var answered *ghinstallation.HTTPError
	if err == nil || errors.As(err, &answered) {
		return err // wrap marks it, with GitHub's status
	}
	// An answer that is no token (a proxy's HTML page, a body cut short).
	return fmt.Errorf("%w: %w", ErrNoToken, err)
}

// Client reads repositories for the resolver, impostor checks included.
var _ resolve.RefFetcher = (*Client)(nil)
