// Package harness starts the real runpolicy binary as a user would, beside
// a fake GitHub API, and talks to it as GitHub does: signed deliveries
// built from the corpus's real payloads. The end-to-end tests and the load
// script share it.
package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"
)

// Root is the module's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Build compiles ./cmd/runpolicy into dir and returns the binary's path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "runpolicy")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/runpolicy")
	cmd.Dir = Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/runpolicy: %v\n%s", err, out)
	}
	return bin, nil
}

// Logs collects the server's log lines (JSON on stderr). It is safe for
// concurrent use.
type Logs struct {
	mu      sync.Mutex
	lines   []string
	waiters []chan struct{}
}

func (l *Logs) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	for _, w := range l.waiters {
		close(w)
	}
	l.waiters = nil
}

// Lines returns every line so far.
func (l *Logs) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// String is every line joined.
func (l *Logs) String() string { return strings.Join(l.Lines(), "\n") }

// Find returns the first JSON line whose "msg" is msg, nil when none.
func (l *Logs) Find(msg string) map[string]any {
	for _, line := range l.Lines() {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			return m
		}
	}
	return nil
}

// wait blocks until a new line arrives or d passes.
func (l *Logs) wait(d time.Duration) {
	l.mu.Lock()
	ch := make(chan struct{})
	l.waiters = append(l.waiters, ch)
	l.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(d):
	}
}

// Server is a running `runpolicy serve`.
type Server struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL    string
	Logs   *Logs
	Config map[string]any
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	stdout bytes.Buffer
}

// Options starts a server.
type Options struct {
	Binary string
	// Dir holds the config file (and, by default, the database).
	Dir string
	// Config is written as the YAML config file; addr defaults to a free
	// loopback port.
	Config map[string]any
	// Env is added to the environment (RUNPOLICY_* overrides).
	Env []string
	// Echo copies the server's logs to this writer as they come.
	Echo io.Writer
}

// Start writes the config, starts the binary and waits until it listens.
func Start(o Options) (*Server, error) {
	cfg := map[string]any{"addr": "127.0.0.1:0"}
	for k, v := range o.Config {
		cfg[k] = v
	}
	raw, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(o.Dir, "runpolicy.yml")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return nil, err
	}
	s := &Server{Logs: &Logs{}, Config: cfg, done: make(chan struct{})}
	s.cmd = exec.Command(o.Binary, "serve", "--config", path)
	s.cmd.Env = append(os.Environ(), o.Env...)
	s.cmd.Stdout = &s.stdout
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			s.Logs.add(sc.Text())
			if o.Echo != nil {
				fmt.Fprintln(o.Echo, sc.Text())
			}
		}
		s.err = s.cmd.Wait()
		close(s.done)
		s.Logs.add("") // wake waiters
	}()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := s.Logs.Find("listening"); m != nil {
			s.URL = "http://" + fmt.Sprint(m["addr"])
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("runpolicy serve exited: %v\n%s", s.err, s.Logs)
		default:
		}
		s.Logs.wait(100 * time.Millisecond)
	}
	s.Kill()
	return nil, fmt.Errorf("runpolicy serve did not listen within 60s\n%s", s.Logs)
}

// WaitReady polls /readyz until it answers 200.
func (s *Server) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("runpolicy serve exited: %v", s.err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("not ready within %s", timeout)
}

// Stop sends SIGTERM and waits for the exit; it returns the exit code.
func (s *Server) Stop(timeout time.Duration) (int, error) {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return -1, err
	}
	select {
	case <-s.done:
	case <-time.After(timeout):
		s.Kill()
		return -1, fmt.Errorf("no exit within %s of SIGTERM", timeout)
	}
	return s.cmd.ProcessState.ExitCode(), nil
}

// Kill ends the process with SIGKILL and waits for it.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Client is an HTTP client for the server. It keeps enough idle
// connections for a load of concurrent deliveries, so that the figures
// measure the server rather than connection setup.
var Client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
	Proxy:               nil,
	MaxIdleConns:        512,
	MaxIdleConnsPerHost: 512,
	IdleConnTimeout:     90 * time.Second,
}}

// Get fetches a path with an optional bearer token and decodes JSON into v.
func (s *Server) Get(ctx context.Context, path, token string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", path, err)
		}
	}
	return resp.StatusCode, nil
}
