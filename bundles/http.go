package bundles

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// httpTimeout bounds one bundle download.
const httpTimeout = 2 * time.Minute

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
	return &httpSource{cfg: cfg, client: &http.Client{Timeout: httpTimeout}, verify: vc, tokens: tokens}, nil
}

func (h *httpSource) fetch(ctx context.Context, known string) (string, *snapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.cfg.URL, nil)
	if err != nil {
		return "", nil, err
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
		return "", nil, fmt.Errorf("GET %s: %w", redact(h.cfg.URL), err)
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
		return "", nil, fmt.Errorf("GET %s: %w", redact(h.cfg.URL), err)
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
