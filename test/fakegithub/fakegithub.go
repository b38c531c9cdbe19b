// Package fakegithub is an in-memory GitHub REST API for tests: the
// endpoints runpolicy calls, with GitHub's paths, status codes, headers and
// authentication (App JWTs signed by the test key, installation tokens it
// issued), plus latency and fault injection and a record of every call.
//
// Start one with New, point the code under test at URL, seed it with
// SetFile, AddRun and AddHookDelivery, and assert on Calls.
package fakegithub

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a fake GitHub API. Its methods are safe for concurrent use.
type Server struct {
	srv   *httptest.Server
	appID int64
	pub   *rsa.PublicKey

	mu            sync.Mutex
	latency       time.Duration
	faults        []*Fault
	calls         []Call
	tokens        map[string]token
	tokenTTL      time.Duration
	installations map[string]int64 // lower-case owner → installation id
	defaultBranch map[string]string
	files         map[fileKey][]byte
	refs          map[fileKey]string // (repo, ref) → commit sha
	refKind       map[fileKey]string // (lower-case repo, ref) → branch or tag
	parents       map[string][]string
	commitRepo    map[string]string // commit → lower-case repository it was pushed to
	forkOf        map[string]string // lower-case fork → its parent
	tagObjects    map[string]tagObject
	runs          map[runKey]*Run
	checkRuns     []*CheckRun
	comments      []*Comment
	deliveries    []*HookDelivery
	nextID        int64
	onRedeliver   func(HookDelivery) int
	chaos         *chaos
	blobs         map[blobKey]string
	oauth         oauthState
	permissions   map[string]map[string]string // lower-case repository → lower-case login → role
	onRerun       func(Run)
}

// Options configures New.
type Options struct {
	// AppID is the App whose JWTs are accepted (the iss claim).
	AppID int64
	// PublicKey verifies the App JWTs (RS256).
	PublicKey *rsa.PublicKey
	// TokenTTL is the lifetime of issued installation tokens (default 1h, as GitHub).
	TokenTTL time.Duration
}

type token struct {
	installation int64
	// user is the login a user access token acts for (oauth.go).
	user    string
	expires time.Time
}

type fileKey struct{ repo, ref, path string }

type runKey struct {
	repo string
	id   int64
}

// New starts a fake on a loopback port. Close it when done.
func New(o Options) *Server {
	s := &Server{
		appID:         o.AppID,
		pub:           o.PublicKey,
		tokens:        map[string]token{},
		tokenTTL:      o.TokenTTL,
		installations: map[string]int64{},
		defaultBranch: map[string]string{},
		files:         map[fileKey][]byte{},
		refs:          map[fileKey]string{},
		refKind:       map[fileKey]string{},
		parents:       map[string][]string{},
		commitRepo:    map[string]string{},
		forkOf:        map[string]string{},
		tagObjects:    map[string]tagObject{},
		runs:          map[runKey]*Run{},
		permissions:   map[string]map[string]string{},
		blobs:         map[blobKey]string{},
		nextID:        1000,
	}
	if s.tokenTTL == 0 {
		s.tokenTTL = time.Hour
	}
	s.srv = httptest.NewServer(s.routes())
	return s
}

// URL is the API base URL (github_api_url).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// NewKey returns a fresh App private key and its PEM encoding (PKCS#1, as
// GitHub issues them).
func NewKey() (*rsa.PrivateKey, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return key, pemBytes, nil
}

// SetLatency delays every answer by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// AddInstallation installs the App on an account (user or organization).
func (s *Server) AddInstallation(owner string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installations[strings.ToLower(owner)] = id
}

// SetDefaultBranch sets a repository's default branch (default "main").
func (s *Server) SetDefaultBranch(repo, branch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defaultBranch[repo] = branch
}

// SetFile stores a file of repo (owner/name) at ref (a commit sha or a
// branch or tag name).
func (s *Server) SetFile(repo, ref, path string, content []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[fileKey{repo, ref, path}] = content
}

// SetRef makes tag ref of repo point at sha (SetBranch for a branch).
func (s *Server) SetRef(repo, ref, sha string) { s.SetTag(repo, ref, sha) }

// OnRedeliver sets what happens when a redelivery is requested: fn sends
// the delivery again and returns the status code it got.
func (s *Server) OnRedeliver(fn func(HookDelivery) int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRedeliver = fn
}

// IssuedTokens returns every installation token handed out.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.tokens))
	for t := range s.tokens {
		out = append(out, t)
	}
	return out
}

func (s *Server) newID() int64 {
	s.nextID++
	return s.nextID
}

// ---- recording and faults ----

// Call is one request the fake received.
type Call struct {
	Method string
	Path   string
	Query  string
	Accept string
	// Auth is "jwt", "token", or "" for none.
	Auth   string
	Body   []byte
	Status int
	At     time.Time
	// Installation is the installation whose token authenticated the
	// call, 0 for none or an App JWT; Token is that token. Each process
	// of the server fetches tokens of its own, so the token tells which
	// process made the call.
	Installation int64
	Token        string
	// Injected names the failure chaos or a fault put in instead of the
	// real answer (see the Injected constants), "" for none.
	Injected string
	// RetryNotBefore is, for a rate-limit answer, the earliest time a
	// client that honours it may call again.
	RetryNotBefore time.Time
}

// Calls returns every call so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Count returns how many calls matched method and path and got a 2xx answer.
func (s *Server) Count(method, path string) int {
	n := 0
	for _, c := range s.Calls() {
		if c.Method == method && c.Path == path && c.Status >= 200 && c.Status < 300 {
			n++
		}
	}
	return n
}

// CountAll returns how many calls matched method and path, whatever the answer.
func (s *Server) CountAll(method, path string) int {
	n := 0
	for _, c := range s.Calls() {
		if c.Method == method && c.Path == path {
			n++
		}
	}
	return n
}

// Fault makes matching requests fail.
type Fault struct {
	// Method and Path select requests; empty matches any. Path matches
	// exactly, or as a prefix when it ends in "*".
	Method string
	Path   string
	// Times is how many requests it hits; 0 means until ClearFaults.
	Times int
	// Status and Header are the answer; Body defaults to GitHub's error JSON.
	Status int
	Header http.Header
	Body   string
	// Reset drops the connection instead of answering.
	Reset bool
	// Delay holds the answer back (to trip client timeouts).
	Delay time.Duration
	// After runs with the request once it is done, before its answer
	// leaves (a fault with only After answers as GitHub would): a test
	// kills the caller there, between GitHub doing something and the
	// caller recording it.
	After func(*http.Request)

	hits int
}

// AddFault installs a fault; faults are checked in the order added.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// RateLimited is a primary rate-limit fault: 403 with no calls remaining
// until reset.
func RateLimited(method, path string, times int, reset time.Time) Fault {
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Used", "5000")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	return Fault{Method: method, Path: path, Times: times, Status: http.StatusForbidden, Header: h,
		Body: `{"message":"API rate limit exceeded for installation.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`}
}

// SecondaryRateLimited is a secondary rate-limit fault: 429 with Retry-After.
func SecondaryRateLimited(method, path string, times int, retryAfter time.Duration) Fault {
	h := http.Header{}
	h.Set("Retry-After", strconv.Itoa(int(retryAfter.Seconds())))
	return Fault{Method: method, Path: path, Times: times, Status: http.StatusTooManyRequests, Header: h,
		Body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`}
}

func (f *Fault) matches(r *http.Request) bool {
	if f.Method != "" && f.Method != r.Method {
		return false
	}
	if f.Path == "" {
		return true
	}
	if prefix, ok := strings.CutSuffix(f.Path, "*"); ok {
		return strings.HasPrefix(r.URL.Path, prefix)
	}
	return f.Path == r.URL.Path
}

// takeFault returns the first live fault matching r, counting the hit.
func (s *Server) takeFault(r *http.Request) *Fault {
	for _, f := range s.faults {
		if (f.Times == 0 || f.hits < f.Times) && f.matches(r) {
			f.hits++
			cp := *f
			return &cp
		}
	}
	return nil
}

// ---- HTTP plumbing ----

// recorder stores the status an endpoint answers with in the call log
// before the answer leaves, so that a client that got its answer always
// finds the call recorded.
type recorder struct {
	http.ResponseWriter
	s      *Server
	index  int
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		r.s.mu.Lock()
		r.s.calls[r.index].Status = code
		r.s.mu.Unlock()
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		s.mu.Lock()
		latency := s.latency
		fault := s.takeFault(r)
		injected := ""
		if fault != nil {
			injected = InjectedFault
		} else {
			injected = s.draw()
		}
		var hold, wait time.Duration
		if s.chaos != nil {
			hold, wait = s.chaos.Hold, s.chaos.Wait
		}
		s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Accept: r.Header.Get("Accept"), Auth: authKind(r), Body: body, At: time.Now(),
			Installation: s.installationOf(r), Token: s.tokenOf(r), Injected: injected})
		index := len(s.calls) - 1
		rec := &recorder{ResponseWriter: w, s: s, index: index}
		s.mu.Unlock()
		if latency > 0 {
			time.Sleep(latency)
		}
		switch injected {
		case Injected500, Injected502, InjectedRateLimit, InjectedRetryAfter:
			notBefore := s.injectError(w, rec, injected, wait)
			s.mu.Lock()
			s.calls[index].RetryNotBefore = notBefore
			s.mu.Unlock()
			return
		case InjectedLostAnswer:
			rateHeaders(w.Header())
			late := &lateWriter{header: w.Header().Clone()}
			next.ServeHTTP(late, r)
			s.mu.Lock()
			s.calls[index].Status = late.status
			s.mu.Unlock()
			time.Sleep(hold)
			late.release(w)
			return
		case InjectedDropped:
			time.Sleep(hold)
			if r.Context().Err() != nil {
				return // the client gave up: never processed, status 0
			}
		}
		if fault != nil && fault.Delay > 0 {
			time.Sleep(fault.Delay)
		}
		switch {
		case fault != nil && fault.After != nil && !fault.Reset && fault.Status == 0:
			rateHeaders(w.Header())
			late := &lateWriter{header: w.Header().Clone()}
			next.ServeHTTP(late, r)
			s.mu.Lock()
			s.calls[index].Status = late.status
			s.mu.Unlock()
			fault.After(r)
			late.release(w)
			return
		case fault != nil && fault.Reset:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
						_ = tc.SetLinger(0) // RST, not FIN
					}
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		case fault != nil && fault.Status != 0:
			for k, v := range fault.Header {
				w.Header()[k] = v
			}
			body := fault.Body
			if body == "" {
				body = fmt.Sprintf(`{"message":%q}`, http.StatusText(fault.Status))
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			rec.WriteHeader(fault.Status)
			_, _ = io.WriteString(w, body)
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/login/") { // the web host's OAuth pages have no API rate limit
			rateHeaders(w.Header())
		}
		next.ServeHTTP(rec, r)
	})
}

func rateHeaders(h http.Header) {
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "4999")
	h.Set("X-RateLimit-Used", "1")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
}

func authKind(r *http.Request) string {
	a := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(a, "Bearer ey"):
		return "jwt"
	case strings.HasPrefix(a, "token "), strings.HasPrefix(a, "Bearer "):
		return "token"
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg, doc string) {
	writeJSON(w, status, map[string]string{"message": msg, "documentation_url": doc, "status": strconv.Itoa(status)})
}

func notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
}

// ---- authentication ----

// requireJWT checks an App JWT: RS256 over header.claims by the test key,
// iss the App id, not expired, issued at most a minute ahead (as GitHub).
func (s *Server) requireJWT(w http.ResponseWriter, r *http.Request) bool {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || s.verifyJWT(raw) != nil {
		writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded", "https://docs.github.com/rest")
		return false
	}
	return true
}

func (s *Server) verifyJWT(raw string) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT")
	}
	var header struct{ Alg string }
	if err := decodeSegment(parts[0], &header); err != nil || header.Alg != "RS256" {
		return errors.New("bad header")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if s.pub == nil {
		return errors.New("no public key")
	}
	if err := rsa.VerifyPKCS1v15(s.pub, crypto.SHA256, sum[:], sig); err != nil {
		return err
	}
	var claims struct {
		Iss any   `json:"iss"`
		Exp int64 `json:"exp"`
		Iat int64 `json:"iat"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return err
	}
	if fmt.Sprint(claims.Iss) != strconv.FormatInt(s.appID, 10) {
		return fmt.Errorf("iss %v", claims.Iss)
	}
	now := time.Now().Unix()
	if claims.Exp < now || claims.Iat > now+60 || claims.Exp-claims.Iat > 600+60 {
		return errors.New("expired or too long")
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// installationOf is the installation whose token r carries, 0 for none.
// The caller holds s.mu.
func (s *Server) installationOf(r *http.Request) int64 {
	return s.tokens[s.tokenOf(r)].installation
}

// credential is the token r's Authorization header carries, as
// "token X" or "Bearer X".
func credential(r *http.Request) string {
	a := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(a, "token ")
	if !ok {
		raw, _ = strings.CutPrefix(a, "Bearer ")
	}
	return raw
}

// tokenOf is the installation token r carries, "" for none.
func (s *Server) tokenOf(r *http.Request) string {
	raw := credential(r)
	if _, issued := s.tokens[raw]; !issued {
		return ""
	}
	return raw
}

// requireToken checks an installation token this fake issued.
func (s *Server) requireToken(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	t, known := s.tokens[credential(r)]
	s.mu.Unlock()
	if !known || time.Now().After(t.expires) {
		writeError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return false
	}
	return true
}

func randomToken() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return "ghs_" + hex.EncodeToString(b)
}
