package test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/test/harness"
)

// binary is runpolicy, built once for every test.
var binary string

// audit records every server log line and every response of the suite;
// TestMain fails the run when any of them holds a secret.
var audit *harness.Audit

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runpolicy-e2e")
	if err != nil {
		panic(err)
	}
	binary, err = harness.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	if audit, err = harness.NewAudit(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	harness.Client.Transport = audit.Transport(harness.Client.Transport)
	code := m.Run()
	if leaks, lines, err := audit.Leaks(); err != nil {
		fmt.Fprintln(os.Stderr, "secret audit:", err)
		code = 1
	} else if len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: secrets in server logs or responses (%d):\n%s\n", len(leaks), strings.Join(leaks, "\n"))
		code = 1
	} else if code == 0 {
		fmt.Printf("secret audit: no secret in %d recorded log lines and responses\n", lines)
	}
	audit.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// guard registers a test's secrets with the audit: the webhook secret, the
// App's key, the admin token now, and the installation tokens the fake
// issued when the test ends.
func guard(t *testing.T, gh *harness.GitHub, adminTokens ...string) {
	t.Helper()
	if err := audit.Secret("webhook secret", gh.Secret); err != nil {
		t.Fatal(err)
	}
	if err := audit.SecretPEM("private key", gh.KeyPEM); err != nil {
		t.Fatal(err)
	}
	if err := audit.Secret("admin token", adminTokens...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := audit.Secret("installation token", gh.Fake.IssuedTokens()...); err != nil {
			t.Error(err)
		}
	})
}

const (
	appID        = 4242
	installation = 31337
	adminToken   = "admin-token-e2e"
)

// Workflow files the built-in policies judge by default.
var (
	// compromised_actions (enforce) denies tj-actions/changed-files@v45.
	badWorkflow = harness.CompromisedWorkflow
	// Nothing to say: hardened, only actions/* steps, no secrets.
	goodWorkflow = []byte(`name: build
on: pull_request
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: step-security/harden-runner@0634a2670c59f64b4a01f0f96f84700a4088b9f0
        with:
          egress-policy: audit
      - uses: actions/checkout@v4
      - run: make test
`)
	// allowed_actions and harden_runner run in dry_run by default.
	dryRunWorkflow = []byte(`name: lint
on: pull_request
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: someorg/some-action@v1
`)
)

// stack is a fake GitHub and a runpolicy server talking to it.
type stack struct {
	t       *testing.T
	gh      *harness.GitHub
	srv     *harness.Server
	dir     string
	cfg     map[string]any
	env     []string     // added to the server's environment
	baseURL atomic.Value // string: the server's URL, for callbacks from the fake
}

// url is the running server's URL, waiting briefly for a start in progress.
func (s *stack) url() string {
	var u string
	harness.WaitFor(10*time.Second, func() bool { u, _ = s.baseURL.Load().(string); return u != "" })
	return u
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newStack starts a server with quick retries; overrides replace config keys.
func newStack(t *testing.T, overrides map[string]any) *stack {
	t.Helper()
	return newStackWith(t, overrides, nil)
}

// newStackWith is newStack with a hook that sets up the fake before the
// server starts.
func newStackWith(t *testing.T, overrides map[string]any, before func(*stack)) *stack {
	t.Helper()
	gh := newGitHub(t, "acme", "forker", "other")
	s := &stack{t: t, gh: gh, dir: t.TempDir()}
	cfg, err := gh.Config(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{
		"database":                filepath.Join(s.dir, "runpolicy.db"),
		"admin_token":             adminToken,
		"retry_base":              "40ms",
		"retry_max":               "300ms",
		"github_timeout":          "1s",
		"poll_interval":           "20ms",
		"judge_attempts":          3,
		"max_attempts":            10,
		"cancel_escalation_delay": "0s",
		"redeliver_interval":      "0s",
		"log_level":               "debug",
		"shutdown_timeout":        "10s",
	} {
		cfg[k] = v
	}
	for k, v := range overrides {
		cfg[k] = v
	}
	s.cfg = cfg
	if before != nil {
		before(s)
	}
	s.start()
	t.Cleanup(func() {
		if s.srv != nil && !s.srv.Exited() {
			s.srv.Kill()
		}
		if (t.Failed() || os.Getenv("E2E_LOGS") != "") && s.srv != nil {
			t.Logf("server logs:\n%s", s.srv.Logs)
		}
	})
	return s
}

// newGitHub starts a fake GitHub with a fresh webhook secret, the App
// installed for owners, and every server log line and response of the test
// checked for its secrets (guard); it is closed when the test ends.
func newGitHub(t *testing.T, owners ...string) *harness.GitHub {
	t.Helper()
	gh, err := harness.NewGitHub(appID, "whsec-"+randomHex(12))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gh.Fake.Close)
	guard(t, gh, adminToken)
	for _, owner := range owners {
		gh.Fake.AddInstallation(owner, installation)
	}
	return gh
}

// start (re)starts the server on the stack's config and waits until ready.
func (s *stack) start() {
	s.t.Helper()
	srv, err := harness.Start(harness.Options{Binary: binary, Dir: s.dir, Config: s.cfg, Env: s.env, Echo: audit.Writer(s.t.Name())})
	if err != nil {
		s.t.Fatal(err)
	}
	s.srv = srv
	s.baseURL.Store(srv.URL)
	if err := srv.WaitReady(60 * time.Second); err != nil {
		s.t.Fatalf("%v\n%s", err, srv.Logs)
	}
}

// replica starts a second server beside s, on the same fake GitHub and the
// same configuration (and so the same database), as another replica would
// run; it is killed when the test ends.
func (s *stack) replica() *stack {
	s.t.Helper()
	r := &stack{t: s.t, gh: s.gh, dir: s.t.TempDir(), cfg: map[string]any{}}
	for k, v := range s.cfg {
		r.cfg[k] = v
	}
	r.start()
	s.t.Cleanup(func() {
		if !r.srv.Exited() {
			r.srv.Kill()
		}
	})
	return r
}

// send delivers a signed event and returns the status.
func (s *stack) send(event, id string, body []byte) int {
	s.t.Helper()
	code, err := s.gh.Send(context.Background(), s.srv.URL, harness.Delivery{Event: event, ID: id, Body: body})
	if err != nil {
		s.t.Fatalf("send %s %s: %v", event, id, err)
	}
	return code
}

// requested publishes a run and delivers its workflow_run requested event.
func (s *stack) requested(r harness.Run, head, base []byte, deliveryID string) {
	s.t.Helper()
	if r.Name == "" {
		r.Name = harness.WorkflowName(head, r.Path)
	}
	s.gh.Publish(r, head, base)
	body, err := harness.WorkflowRunRequested(r)
	if err != nil {
		s.t.Fatal(err)
	}
	if code := s.send("workflow_run", deliveryID, body); code != 202 {
		s.t.Fatalf("workflow_run delivery %s: status %d, want 202", deliveryID, code)
	}
}

// delivery is the admin view of a delivery.
type delivery struct {
	ID    string `json:"id"`
	State string `json:"state"`
	Note  string `json:"note"`
}

// processed waits until a delivery is processed (or failed) and returns it.
func (s *stack) processed(id string) delivery {
	s.t.Helper()
	var d delivery
	ok := harness.WaitFor(30*time.Second, func() bool {
		code, err := s.srv.Get(context.Background(), "/admin/deliveries/"+id, adminToken, &d)
		return err == nil && code == 200 && d.State != "received"
	})
	if !ok {
		s.t.Fatalf("delivery %s not processed in time (state %q)", id, d.State)
	}
	return d
}

// decision is the part of a decision log entry the tests read.
type decision struct {
	DecisionID string `json:"decision_id"`
	DeliveryID string `json:"delivery_id"`
	Event      string `json:"event"`
	Outcome    string `json:"outcome"`
	Cancel     bool   `json:"cancel"`
	Path       string `json:"path"`
	Bundles    map[string]struct {
		Revision string `json:"revision"`
	} `json:"bundles"`
	Input  map[string]any `json:"input"`
	Result *struct {
		Allow      bool `json:"allow"`
		Violations []struct {
			Policy string `json:"policy"`
			Mode   string `json:"mode"`
			Line   int    `json:"line"`
		} `json:"violations"`
	} `json:"result"`
	Error *struct {
		Code    string `json:"code"`
		OnError string `json:"on_error"`
	} `json:"error"`
	Metrics map[string]int64 `json:"metrics"`
	Run     struct {
		Repository string `json:"repository"`
		ID         int64  `json:"id"`
		Attempt    int    `json:"attempt"`
	} `json:"run"`
}

func (s *stack) decisions(query url.Values) []decision {
	s.t.Helper()
	var out []decision
	if code, err := s.srv.Get(context.Background(), "/admin/decisions?"+query.Encode(), adminToken, &out); err != nil || code != 200 {
		s.t.Fatalf("admin decisions: %d, %v", code, err)
	}
	return out
}

// only returns the one decision on a delivery.
func (s *stack) only(deliveryID string) decision {
	s.t.Helper()
	list := s.decisions(url.Values{"delivery_id": {deliveryID}})
	if len(list) != 1 {
		s.t.Fatalf("delivery %s has %d decisions, want 1", deliveryID, len(list))
	}
	return list[0]
}

// calls counts the fake's successful calls.
func (s *stack) calls(method, path string) int { return s.gh.Fake.Count(method, path) }

func cancelPath(repo string, id int64) string {
	return fmt.Sprintf("/repos/%s/actions/runs/%d/cancel", repo, id)
}

func checkRunsOf(s *stack, repo string) int { return s.calls("POST", "/repos/"+repo+"/check-runs") }

func commentsOf(s *stack, repo string, pr int) int {
	return s.calls("POST", fmt.Sprintf("/repos/%s/issues/%d/comments", repo, pr))
}

func sha(n int) string { return fmt.Sprintf("%040x", n) }

// metric reads one sample of /metrics, matching a name and label text.
func (s *stack) metric(name, labels string) string {
	s.t.Helper()
	resp, err := harness.Client.Get(s.srv.URL + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, name+"{") && strings.Contains(line, labels) || line == name || strings.HasPrefix(line, name+" ") {
			f := strings.Fields(line)
			return f[len(f)-1]
		}
	}
	return ""
}

// jsonOf is a small helper for readable failures.
func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
