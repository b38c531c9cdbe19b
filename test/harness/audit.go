package harness

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
)

// Audit records everything a suite's servers said, every log line and
// every response body, in a file, and checks at the end that no secret
// appears in any of it: webhook secrets, private keys, installation tokens,
// admin tokens. Secrets are registered as the tests make them.
type Audit struct {
	mu      sync.Mutex
	file    *os.File
	w       *bufio.Writer
	secrets map[string]string // secret → what it is
	lines   int
}

// NewAudit writes its record to a file in dir.
func NewAudit(dir string) (*Audit, error) {
	f, err := os.CreateTemp(dir, "audit-*.log")
	if err != nil {
		return nil, err
	}
	return &Audit{file: f, w: bufio.NewWriterSize(f, 1<<20), secrets: map[string]string{}}, nil
}

// Record adds text the server sent, under a label saying where from.
func (a *Audit) Record(label, text string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintf(a.w, "%s\t%s\n", label, strings.ReplaceAll(text, "\n", "\\n"))
	a.lines++
}

// Writer returns a writer whose lines are recorded under label; give it
// to Options.Echo to record a server's logs.
func (a *Audit) Writer(label string) io.Writer { return auditWriter{a, label} }

type auditWriter struct {
	a     *Audit
	label string
}

func (w auditWriter) Write(p []byte) (int, error) {
	w.a.Record(w.label, strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Secret registers secrets the record must not contain. Short strings
// (under 12 characters) cannot be told from chance and are refused.
func (a *Audit) Secret(what string, secrets ...string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range secrets {
		if len(s) < 12 {
			return fmt.Errorf("audit: secret %q (%s) is too short to look for", s, what)
		}
		a.secrets[s] = what
	}
	return nil
}

// SecretPEM registers every line of a PEM block's body.
func (a *Audit) SecretPEM(what string, pemBytes []byte) error {
	for _, line := range strings.Split(string(pemBytes), "\n") {
		if line = strings.TrimSpace(line); len(line) >= 40 && !strings.HasPrefix(line, "-----") {
			if err := a.Secret(what, line); err != nil {
				return err
			}
		}
	}
	return nil
}

// Transport records every response body read through rt.
func (a *Audit) Transport(rt http.RoundTripper) http.RoundTripper {
	return auditTransport{a, rt}
}

type auditTransport struct {
	a  *Audit
	rt http.RoundTripper
}

func (t auditTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	label := fmt.Sprintf("response %s %s %d", req.Method, req.URL.Path, resp.StatusCode)
	headers := make([]string, 0, len(resp.Header))
	for k, v := range resp.Header {
		headers = append(headers, k+": "+strings.Join(v, ", "))
	}
	t.a.Record(label+" headers", strings.Join(headers, "; "))
	resp.Body = &auditBody{ReadCloser: resp.Body, a: t.a, label: label}
	return resp, nil
}

// auditBody records a response body as it is read.
type auditBody struct {
	io.ReadCloser
	a     *Audit
	label string
	buf   strings.Builder
}

func (b *auditBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.buf.Len() < 4<<20 { // server answers are small; cap what a stray one costs
		b.buf.Write(p[:n])
	}
	return n, err
}

func (b *auditBody) Close() error {
	b.a.Record(b.label, b.buf.String())
	return b.ReadCloser.Close()
}

// Leaks reads the record back and returns one line per secret found in
// it, naming the secret's kind and the record line (cut short), and how
// many lines it checked.
func (a *Audit) Leaks() ([]string, int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.w.Flush(); err != nil {
		return nil, 0, err
	}
	if _, err := a.file.Seek(0, io.SeekStart); err != nil {
		return nil, 0, err
	}
	// Index the secrets by their first 12 bytes: one map lookup per
	// position of the record, whatever the number of secrets.
	byPrefix := map[string][]string{}
	for s := range a.secrets {
		byPrefix[s[:12]] = append(byPrefix[s[:12]], s)
	}
	var leaks []string
	sc := bufio.NewScanner(a.file)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		for i := 0; i+12 <= len(line); i++ {
			for _, s := range byPrefix[line[i:i+12]] {
				if strings.HasPrefix(line[i:], s) {
					leaks = append(leaks, fmt.Sprintf("%s (%.8s…) in: %.300s", a.secrets[s], s, line))
				}
			}
		}
	}
	return leaks, n, sc.Err()
}

// Close removes the record.
func (a *Audit) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.file.Close()
	return os.Remove(a.file.Name())
}
