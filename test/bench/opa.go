package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildOPA builds the stock opa command from the version go.mod pins.
func buildOPA(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "opa")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/open-policy-agent/opa")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build github.com/open-policy-agent/opa: %w: %s", err, bytes.TrimSpace(out))
	}
	return bin, nil
}

// opaVersion returns the first line of `opa version`.
func opaVersion(ctx context.Context, bin string) string {
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(strings.TrimPrefix(line, "Version:"))
}

// opaServer is a running `opa run --server`.
type opaServer struct {
	cmd    *exec.Cmd
	url    string // of the decision
	client *http.Client
	stderr bytes.Buffer
}

// startServer starts stock opa on a free loopback port with the bundle
// directory, and waits until it is ready.
func startServer(ctx context.Context, bin, bundleDir string, conns int) (*opaServer, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &opaServer{
		url: "http://" + addr + "/v1/data/runpolicy/main/decision",
		client: &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: conns, // keep-alive: one connection per client goroutine
			DisableCompression:  true,
		}},
	}
	s.cmd = exec.CommandContext(ctx, bin, "run", "--server", "--addr", addr,
		"--log-level", "error", "--skip-version-check",
		"--optimize-store-for-read-speed", // the store option the engine uses too
		"--bundle", bundleDir)
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start opa: %w", err)
	}
	health := "http://" + addr + "/health?bundles"
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := s.client.Get(health)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.Stop()
			return nil, fmt.Errorf("opa run did not become ready: %v: %s", err, bytes.TrimSpace(s.stderr.Bytes()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// decide POSTs one input document ({"input": …}, already encoded) and
// returns the decision.
func (s *opaServer) decide(ctx context.Context, body []byte) (any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", s.url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %s: %s", s.url, resp.Status, bytes.TrimSpace(data))
	}
	var out struct{ Result any }
	if err := decodeJSON(data, &out); err != nil {
		return nil, fmt.Errorf("POST %s: %w", s.url, err)
	}
	if out.Result == nil {
		return nil, fmt.Errorf("POST %s: no result (is the bundle loaded?)", s.url)
	}
	return out.Result, nil
}

// peakRSS returns the server's VmHWM, its peak resident set, in bytes.
func (s *opaServer) peakRSS() (uint64, error) {
	return vmHWM(s.cmd.Process.Pid)
}

func (s *opaServer) Stop() {
	s.client.CloseIdleConnections()
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
	}
}

// evalOnce runs `opa eval` on one input file, as a script around the CLI
// (or conftest) does per decision. It returns the decision and the
// process's peak RSS: getrusage's ru_maxrss, the VmHWM the kernel reported
// for the process when it exited.
func evalOnce(ctx context.Context, bin, bundleDir, inputFile string) (any, uint64, error) {
	cmd := exec.CommandContext(ctx, bin, "eval", "--bundle", bundleDir, "--input", inputFile,
		"--format", "json", "data.runpolicy.main.decision")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, 0, fmt.Errorf("opa eval: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	var rss uint64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = uint64(ru.Maxrss)
		if runtime.GOOS == "linux" {
			rss *= 1024 // kilobytes on Linux
		}
	}
	var res struct {
		Result []struct {
			Expressions []struct{ Value any }
		}
	}
	if err := decodeJSON(out, &res); err != nil {
		return nil, 0, fmt.Errorf("opa eval output: %w", err)
	}
	if len(res.Result) == 0 || len(res.Result[0].Expressions) == 0 {
		return nil, 0, errors.New("opa eval: the decision is undefined")
	}
	return res.Result[0].Expressions[0].Value, rss, nil
}

// vmHWM reads a process's peak resident set size from /proc.
func vmHWM(pid int) (uint64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// decodeJSON decodes keeping numbers as json.Number, as OPA's Go API
// returns them.
func decodeJSON(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}
