package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/bundles"
	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/test/fakegithub"
	"github.com/runpolicy/runpolicy/test/harness"
	"github.com/runpolicy/runpolicy/webhook"
)

// The server's benchmarks go through its public API only (New, Handler,
// Serve), so that the same file measures two versions of the package.

const benchSecret = "whsec-bench"

type readyPolicies struct{ ready bool }

func (p readyPolicies) Ready() bool                   { return p.ready }
func (readyPolicies) Refresh(context.Context, string) {}
func (readyPolicies) Status() []bundles.SourceStatus  { return nil }

// benchServer builds a server on an SQLite file in a temporary directory,
// against a fake GitHub.
func benchServer(b *testing.B, ready bool) (*webhook.Server, *fakegithub.Server) {
	b.Helper()
	ctx := context.Background()
	key, pemKey, err := fakegithub.NewKey()
	if err != nil {
		b.Fatal(err)
	}
	fake := fakegithub.New(fakegithub.Options{AppID: 1, PublicKey: &key.PublicKey})
	b.Cleanup(fake.Close)
	fake.AddInstallation("acme", 7)
	app, err := github.NewApp(github.Config{AppID: 1, PrivateKey: pemKey, APIURL: fake.URL()})
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := webhook.New(ctx, benchOptions(b, eng, app, ready))
	if err != nil {
		b.Fatal(err)
	}
	return srv, fake
}

func benchOptions(b *testing.B, eng *engine.Engine, app *github.App, ready bool) webhook.Options {
	cfg := webhook.DefaultConfig()
	cfg.RedeliverInterval, cfg.CancelEscalationDelay, cfg.PollInterval = 0, 0, 20*time.Millisecond
	return webhook.Options{Config: cfg, Secret: []byte(benchSecret), Engine: eng, Policies: readyPolicies{ready}, App: app,
		Database: filepath.Join(b.TempDir(), "bench.db")}
}

// BenchmarkReceive is acknowledging a workflow_run delivery: verify,
// persist, answer 202 (no policy set is active, so nothing is processed).
func BenchmarkReceive(b *testing.B) {
	srv, _ := benchServer(b, false)
	body, err := harness.WorkflowRunRequested(harness.Run{Repo: "acme/api", ID: 1, HeadSHA: strings.Repeat("a", 40),
		Path: ".github/workflows/ci.yml", Installation: 7})
	if err != nil {
		b.Fatal(err)
	}
	sig := webhook.Sign([]byte(benchSecret), body)
	h := srv.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "workflow_run")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d", i))
		req.Header.Set("X-Hub-Signature-256", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("answer %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkDeliveryToReport is a delivery of a denied run, from its
// arrival to its check run: received, queued, judged (the workflow file
// differs each time, so nothing is cached), cancelled and reported. The
// job variant also fetches the run, as a workflow_job delivery names no
// workflow file.
func BenchmarkDeliveryToReport(b *testing.B) {
	for _, event := range []string{"workflow_run", "workflow_job"} {
		b.Run(event, func(b *testing.B) { benchDeliveries(b, event) })
	}
}

func benchDeliveries(b *testing.B, event string) {
	srv, fake := benchServer(b, true)
	reported := make(chan struct{}, 1)
	fake.AddFault(fakegithub.Fault{Method: http.MethodPost, Path: "/repos/acme/api/check-runs",
		After: func(*http.Request) { reported <- struct{}{} }})
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	b.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			b.Error(err)
		}
	})
	url := "http://" + ln.Addr().String()
	gh := &harness.GitHub{Secret: benchSecret, Fake: fake}
	send := func(i int) {
		r := harness.Run{Repo: "acme/api", ID: int64(1000 + i), HeadSHA: fmt.Sprintf("%040x", i+1),
			Path: ".github/workflows/ci.yml", Installation: 7}
		gh.Publish(r, harness.Numbered(harness.CompromisedWorkflow, i), nil)
		var body []byte
		var err error
		if event == "workflow_run" {
			body, err = harness.WorkflowRunRequested(r)
		} else {
			body, err = harness.WorkflowJob(r, "queued", int64(5000+i), "changes", []string{"ubuntu-latest"})
		}
		if err != nil {
			b.Fatal(err)
		}
		code, err := gh.Send(ctx, url, harness.Delivery{Event: event, ID: fmt.Sprintf("%s-%d", event, i), Body: body})
		if err != nil || code != http.StatusAccepted {
			b.Fatalf("send: %d, %v", code, err)
		}
		select {
		case <-reported:
		case <-time.After(30 * time.Second):
			b.Fatalf("delivery %d: no check run after 30s", i)
		}
	}
	send(-1) // the first decision prepares what every other one reuses
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		send(i)
	}
	b.StopTimer()
	if r, _ := fake.Run("acme/api", int64(1000+b.N-1)); r.Conclusion != "cancelled" {
		b.Fatalf("the last run was not cancelled: %+v", r)
	}
}
