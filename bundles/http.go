package bundles

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// httpTimeout bounds one bundle download.
const httpTimeout = 2 * time.Minute

// maxRedirects bounds a redirect chain, as net/http's default does.
const maxRedirects = 10

// httpSource downloads a .tar.gz bundle from an OPA bundle service (or any
// server or object store that serves one), speaking the protocol of OPA's
// bundle plugin: the last ETag goes out as If-None-Match, and 304 Not
// Modified means nothing changed.
type httpSource struct {
	cfg    SourceConfig
	client *http.Client
	verify *bundle.VerificationConfig
	tokens TokenSource
}

func newHTTPSource(cfg SourceConfig, vc *bundle.VerificationConfig, tokens TokenSource) (*httpSource, error) {
	if cfg.TokenFromApp && tokens == nil {
		return nil, fmt.Errorf("bundle source %s: token_from_app needs the server's GitHub App", cfg.Name)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("bundle source %s: url %q: %w", cfg.Name, redact(cfg.URL), err)
	}
	return &httpSource{cfg: cfg, client: newBundleClient(hostPort(u), cfg.RedirectHosts), verify: vc, tokens: tokens}, nil
}

// newBundleClient is the HTTP client of one source whose URL's host is
// home. It follows a redirect only to home or to a host in allowed, and
// never to a loopback, link-local or unspecified address: that is checked
// on the addresses actually dialed, so a name that resolves (or rebinds)
// to the cloud metadata service is refused too. home itself is the
// operator's choice and may be any address, loopback included.
func newBundleClient(home string, allowed []string) *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if strings.EqualFold(addr, home) {
			return dialer.DialContext(ctx, network, addr)
		}
		d := *dialer
		d.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || internalIP(ip) {
				return fmt.Errorf("dial %s (%s): redirects to loopback and link-local addresses are refused", addr, address)
			}
			return nil
		}
		return d.DialContext(ctx, network, addr)
	}
	return &http.Client{
		Timeout:   httpTimeout,
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			target := hostPort(req.URL)
			if req.URL.Scheme == "http" && via[0].URL.Scheme == "https" {
				return fmt.Errorf("redirect to %s refused: it leaves https", redact(req.URL.String()))
			}
			if strings.EqualFold(target, home) {
				return nil
			}
			if !slices.ContainsFunc(allowed, func(h string) bool {
				return strings.EqualFold(h, target) || strings.EqualFold(h, req.URL.Hostname())
			}) {
				return fmt.Errorf("redirect to another host, %s, refused: list it in the source's redirect_hosts to follow it", req.URL.Host)
			}
			if ip := net.ParseIP(req.URL.Hostname()); ip != nil && internalIP(ip) {
				return fmt.Errorf("redirect to %s refused: loopback and link-local addresses are never followed", redact(req.URL.String()))
			}
			return nil
		},
	}
}

// internalIP reports addresses a redirect must never reach: loopback,
// link-local (the cloud metadata service at 169.254.169.254, fe80::/10)
// and unspecified ones.
func internalIP(ip net.IP) bool {
	return ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast()
}

// hostPort is u's host with its port, the scheme's default when it has none.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// redactErr drops credentials from the URL net/http puts in its errors.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redact(ue.URL)
	}
	return err
}

func (h *httpSource) fetch(ctx context.Context, known string) (string, *snapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.cfg.URL, nil)
	if err != nil {
		return "", nil, fmt.Errorf("GET %s: %w", redact(h.cfg.URL), redactErr(err))
	}
	req.Header.Set("Accept", "application/vnd.openpolicyagent.bundles, application/gzip, */*")
	if known != "" {
		req.Header.Set("If-None-Match", known)
	}
	token, err := sourceToken(ctx, h.cfg, h.tokens)
	if err != nil {
		return "", nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("GET %s: %w", redact(h.cfg.URL), redactErr(err))
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return known, nil, nil
	case http.StatusOK:
	default:
		return "", nil, fmt.Errorf("GET %s: %s", redact(h.cfg.URL), resp.Status)
	}
	if resp.ContentLength > MaxBundleBytes {
		return "", nil, fmt.Errorf("GET %s: bundle of %d bytes exceeds %d", redact(h.cfg.URL), resp.ContentLength, MaxBundleBytes)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBundleBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("GET %s: %w", redact(h.cfg.URL), redactErr(err))
	}
	if len(data) > MaxBundleBytes {
		return "", nil, fmt.Errorf("GET %s: bundle exceeds %d bytes", redact(h.cfg.URL), MaxBundleBytes)
	}
	// A server without ETags is compared by content, so an unchanged
	// bundle still costs no compile.
	version := resp.Header.Get("ETag")
	if version == "" {
		version = digestOf(data)
	}
	return snapshotOfTarball(data, version, known, h.verify)
}

// sourceToken is the configured token, or one from the token source.
func sourceToken(ctx context.Context, cfg SourceConfig, tokens TokenSource) (string, error) {
	if !cfg.TokenFromApp {
		return cfg.Token, nil
	}
	t, err := tokens(ctx, cfg.Repository)
	if err != nil {
		return "", fmt.Errorf("token for %s: %w", cfg.Repository, err)
	}
	return t, nil
}
