package github

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts API calls by endpoint and status, and failures by kind.
type metrics struct {
	calls  *prometheus.CounterVec
	errors *prometheus.CounterVec
	prefix string // path of the API URL, "/api/v3" on GHES
}

func newMetrics(reg prometheus.Registerer, prefix string) *metrics {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runpolicy_github_api_calls_total",
			Help: "GitHub API calls by endpoint and HTTP status (\"error\" when no answer came).",
		}, []string{"endpoint", "code"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runpolicy_github_api_errors_total",
			Help: "Failed GitHub API calls by endpoint and kind: server (5xx), rate_limit, client (other 4xx), timeout, network.",
		}, []string{"endpoint", "kind"}),
		prefix: strings.TrimRight(prefix, "/"),
	}
	if reg != nil {
		reg.MustRegister(m.calls, m.errors)
	}
	return m
}

func (m *metrics) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		endpoint := endpointOf(strings.TrimPrefix(req.URL.Path, m.prefix), req.Method)
		resp, err := next.RoundTrip(req)
		if err != nil {
			m.calls.WithLabelValues(endpoint, "error").Inc()
			kind := "network"
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				kind = "timeout"
			}
			m.errors.WithLabelValues(endpoint, kind).Inc()
			return nil, err
		}
		m.calls.WithLabelValues(endpoint, strconv.Itoa(resp.StatusCode)).Inc()
		switch code := resp.StatusCode; {
		case code >= 500:
			m.errors.WithLabelValues(endpoint, "server").Inc()
		case code == http.StatusTooManyRequests, code == http.StatusForbidden && resp.Header.Get("X-RateLimit-Remaining") == "0",
			code == http.StatusForbidden && resp.Header.Get("Retry-After") != "":
			m.errors.WithLabelValues(endpoint, "rate_limit").Inc()
		case code >= 400 && code != http.StatusNotFound && code != http.StatusConflict:
			m.errors.WithLabelValues(endpoint, "client").Inc()
		}
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// endpointOf names the REST endpoint of a path, keeping the metric's
// label set small and free of repository names.
func endpointOf(path, method string) string {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	at := func(i int) string {
		if i < len(seg) {
			return seg[i]
		}
		return ""
	}
	switch {
	case at(0) == "app" && at(1) == "installations" && at(3) == "access_tokens":
		return "access_tokens"
	case at(0) == "app" && at(1) == "hook" && at(2) == "deliveries" && at(4) == "attempts":
		return "redeliver"
	case at(0) == "app" && at(1) == "hook" && at(2) == "deliveries":
		return "hook_deliveries"
	case at(0) != "repos" || len(seg) < 4:
		return "other"
	}
	switch rest := seg[3:]; {
	case rest[0] == "installation":
		return "installation"
	case rest[0] == "contents":
		return "contents"
	case rest[0] == "commits" && len(rest) >= 3 && rest[2] == "check-runs":
		return "check_runs"
	case rest[0] == "commits":
		return "commits"
	case rest[0] == "check-runs":
		return "check_runs"
	case rest[0] == "actions" && len(rest) == 4 && rest[3] == "cancel":
		return "cancel"
	case rest[0] == "actions" && len(rest) == 4 && rest[3] == "force-cancel":
		return "force_cancel"
	case rest[0] == "actions" && len(rest) == 4 && rest[3] == "rerun":
		return "rerun"
	case rest[0] == "collaborators":
		return "permission"
	case rest[0] == "actions" && len(rest) >= 3 && rest[1] == "runs":
		return "run"
	case rest[0] == "issues":
		return "comments"
	case rest[0] == "branches", rest[0] == "tags", rest[0] == "compare":
		return rest[0]
	case rest[0] == "git" && len(rest) >= 2 && rest[1] == "tags":
		return "git_tags"
	}
	return "other"
}
