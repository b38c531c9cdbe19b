package harness

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/runpolicy/runpolicy/test/fakegithub"
	"github.com/runpolicy/runpolicy/webhook"
)

// GitHub is the GitHub side of a test: the App's credentials and a fake
// API that knows the App.
type GitHub struct {
	AppID  int64
	Key    *rsa.PrivateKey
	KeyPEM []byte
	Secret string
	Fake   *fakegithub.Server
}

// NewGitHub makes an App with a fresh key and a fake API that accepts it.
func NewGitHub(appID int64, secret string) (*GitHub, error) {
	key, pemKey, err := fakegithub.NewKey()
	if err != nil {
		return nil, err
	}
	fake := fakegithub.New(fakegithub.Options{AppID: appID, PublicKey: &key.PublicKey})
	return &GitHub{AppID: appID, Key: key, KeyPEM: pemKey, Secret: secret, Fake: fake}, nil
}

// Config returns the server config keys that connect it to this GitHub.
func (g *GitHub) Config(dir string) (map[string]any, error) {
	keyFile := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(keyFile, g.KeyPEM, 0o600); err != nil {
		return nil, err
	}
	return map[string]any{
		"webhook_secret":   g.Secret,
		"app_id":           g.AppID,
		"private_key_file": keyFile,
		"github_api_url":   g.Fake.URL(),
	}, nil
}

// Delivery is one webhook request.
type Delivery struct {
	Event string
	ID    string
	Body  []byte
}

// Send delivers d to the server's /webhook, signed as GitHub signs it, and
// returns the status code.
func (g *GitHub) Send(ctx context.Context, url string, d Delivery) (int, error) {
	return g.SendWith(ctx, url, d, http.Header{"X-Hub-Signature-256": {webhook.Sign([]byte(g.Secret), d.Body)}})
}

// SendWith delivers d with the given signature headers (for bad ones).
func (g *GitHub) SendWith(ctx context.Context, url string, d Delivery, sig http.Header) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/webhook", bytes.NewReader(d.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/test")
	req.Header.Set("X-GitHub-Event", d.Event)
	req.Header.Set("X-GitHub-Delivery", d.ID)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	for k, v := range sig {
		req.Header[k] = v
	}
	resp, err := Client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Run describes a workflow run for the payload builders and the fake.
type Run struct {
	Repo          string // owner/name
	ID            int64
	Attempt       int
	Number        int
	HeadSHA       string
	HeadBranch    string
	HeadRepo      string // owner/name of a fork; defaults to Repo
	DefaultBranch string // default "main"
	Path          string
	// Name is the workflow's name as GitHub shows it; Publish and
	// WorkflowRunRequested default it to the file's name: key, else its
	// path, as GitHub does.
	Name         string
	Event        string // default pull_request
	Actor        string
	PullRequests []int
	// Installation goes into the payload; 0 leaves it out.
	Installation int64
}

func (r Run) withDefaults() Run {
	if r.Attempt == 0 {
		r.Attempt = 1
	}
	if r.HeadRepo == "" {
		r.HeadRepo = r.Repo
	}
	if r.DefaultBranch == "" {
		r.DefaultBranch = "main"
	}
	if r.Event == "" {
		r.Event = "pull_request"
	}
	if r.Actor == "" {
		r.Actor = "octocat"
	}
	if r.HeadBranch == "" {
		r.HeadBranch = "feature"
	}
	if r.Number == 0 {
		r.Number = int(r.ID % 1000)
	}
	return r
}

// Publish makes the fake know the run, its workflow file at the head
// commit and, when base is not nil, on the default branch.
func (g *GitHub) Publish(r Run, head, base []byte) {
	r = r.withDefaults()
	g.Fake.SetDefaultBranch(r.Repo, r.DefaultBranch)
	g.Fake.SetFile(r.HeadRepo, r.HeadSHA, r.Path, head)
	if base != nil {
		g.Fake.SetFile(r.Repo, r.DefaultBranch, r.Path, base)
	}
	if r.Name == "" {
		r.Name = WorkflowName(head, r.Path)
	}
	g.Fake.AddRun(fakegithub.Run{Repo: r.Repo, ID: r.ID, Attempt: r.Attempt, Number: r.Number, Name: r.Name, Path: r.Path,
		Event: r.Event, HeadSHA: r.HeadSHA, HeadBranch: r.HeadBranch, HeadRepo: r.HeadRepo, Actor: r.Actor,
		PullRequests: r.PullRequests, Status: "queued"})
}

// WorkflowName is a workflow's name as GitHub shows it: its top-level
// name: key, else its path.
func WorkflowName(src []byte, path string) string {
	if m := nameKey.FindSubmatch(src); m != nil {
		return strings.Trim(strings.TrimSpace(string(m[1])), `"'`)
	}
	return path
}

var nameKey = regexp.MustCompile(`(?m)^name:[ \t]*(\S.*)$`)

// CorpusDir is the repository's copy of the test corpus.
func CorpusDir() string { return filepath.Join(Root(), "test", "testdata", "corpus") }

// corpusPayload reads a payload of the corpus as a JSON object.
func corpusPayload(name string) (map[string]any, error) {
	raw, err := os.ReadFile(filepath.Join(CorpusDir(), "payloads", name))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// setRepo points a repository object of a real payload at owner/name.
func setRepo(obj any, fullName, defaultBranch string) {
	m, ok := obj.(map[string]any)
	if !ok {
		return
	}
	owner, name, _ := strings.Cut(fullName, "/")
	m["full_name"], m["name"] = fullName, name
	if o, ok := m["owner"].(map[string]any); ok {
		o["login"] = owner
	}
	if defaultBranch != "" {
		m["default_branch"] = defaultBranch
	}
	m["url"] = "https://api.github.com/repos/" + fullName
	m["html_url"] = "https://github.com/" + fullName
}

// WorkflowRunRequested adapts the corpus's workflow_run.requested payload
// to r.
func WorkflowRunRequested(r Run) ([]byte, error) {
	r = r.withDefaults()
	p, err := corpusPayload("workflow_run.requested.json")
	if err != nil {
		return nil, err
	}
	setRepo(p["repository"], r.Repo, r.DefaultBranch)
	wr := p["workflow_run"].(map[string]any)
	setRepo(wr["repository"], r.Repo, "")
	setRepo(wr["head_repository"], r.HeadRepo, "")
	if r.HeadRepo != r.Repo {
		wr["head_repository"].(map[string]any)["fork"] = true
	}
	wr["id"], wr["run_attempt"], wr["run_number"] = r.ID, r.Attempt, r.Number
	wr["name"] = r.Name
	if r.Name == "" {
		wr["name"] = r.Path
	}
	wr["head_sha"], wr["head_branch"], wr["path"], wr["event"] = r.HeadSHA, r.HeadBranch, r.Path, r.Event
	wr["head_commit"].(map[string]any)["id"] = r.HeadSHA
	wr["url"] = fmt.Sprintf("https://api.github.com/repos/%s/actions/runs/%d", r.Repo, r.ID)
	wr["html_url"] = fmt.Sprintf("https://github.com/%s/actions/runs/%d", r.Repo, r.ID)
	for _, k := range []string{"actor", "triggering_actor"} {
		wr[k].(map[string]any)["login"] = r.Actor
	}
	prs := []any{}
	for _, n := range r.PullRequests {
		prs = append(prs, map[string]any{"number": n, "id": n * 1000,
			"url":  fmt.Sprintf("https://api.github.com/repos/%s/pulls/%d", r.Repo, n),
			"head": map[string]any{"ref": r.HeadBranch, "sha": r.HeadSHA},
			"base": map[string]any{"ref": r.DefaultBranch, "sha": strings.Repeat("0", 40)}})
	}
	wr["pull_requests"] = prs
	if r.Installation != 0 {
		p["installation"] = map[string]any{"id": r.Installation, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
	}
	return json.Marshal(p)
}

// WorkflowJob adapts the corpus's workflow_job payload (action queued or
// waiting) to a job of r with the runner labels GitHub resolved.
func WorkflowJob(r Run, action string, jobID int64, name string, labels []string) ([]byte, error) {
	r = r.withDefaults()
	p, err := corpusPayload("workflow_job." + action + ".json")
	if err != nil {
		return nil, err
	}
	setRepo(p["repository"], r.Repo, r.DefaultBranch)
	j := p["workflow_job"].(map[string]any)
	j["id"], j["run_id"], j["run_attempt"], j["head_sha"], j["name"] = jobID, r.ID, r.Attempt, r.HeadSHA, name
	j["head_branch"], j["status"] = r.HeadBranch, action
	ls := []any{}
	for _, l := range labels {
		ls = append(ls, l)
	}
	j["labels"] = ls
	if r.Installation != 0 {
		p["installation"] = map[string]any{"id": r.Installation}
	} else {
		delete(p, "installation")
	}
	return json.Marshal(p)
}

// Payload reads a corpus payload as it is.
func Payload(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(CorpusDir(), "payloads", name))
}

// WaitFor polls cond until it holds or timeout passes.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
