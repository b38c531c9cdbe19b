package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/runpolicy/runpolicy/bundles"
	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/github"
	"github.com/runpolicy/runpolicy/policies"
	"github.com/runpolicy/runpolicy/test/fakegithub"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// The fuzz targets of the server's input handling. Their seeds are in
// testdata/fuzz/<target>; CI runs each for a bounded time:
//
//	go test -run='^$' -fuzz='^FuzzSignature$' -fuzztime=10s ./webhook

// corpus is the repository's copy of the shared test corpus.
var corpus = filepath.Join("..", "test", "testdata", "corpus")

// FuzzSignature checks X-Hub-Signature-256 handling against an independent
// statement of it: a request is authentic exactly when the header is
// "sha256=" and the hex HMAC-SHA256 of the body under the secret (hex in
// either case). The body reader, which authenticates in chunks as bytes
// arrive, must agree and return the body unchanged.
func FuzzSignature(f *testing.F) {
	secret := []byte("whsec-fuzz")
	for _, body := range [][]byte{nil, []byte("{}"), []byte(`{"action":"requested"}`), bytes.Repeat([]byte("x"), 70_000)} {
		f.Add(secret, body, Sign(secret, body))
		f.Add(secret, body, strings.ToUpper(Sign(secret, body)))
		f.Add(secret, body, "sha1="+strings.Repeat("0", 40))
		f.Add([]byte("other"), body, Sign(secret, body))
	}
	f.Add([]byte{}, []byte("{}"), "sha256=")
	f.Add(secret, []byte("{}"), "sha256="+strings.Repeat("zz", 32))
	f.Fuzz(func(t *testing.T, secret, body []byte, header string) {
		sum, reason := parseSignature(header)
		if reason == "" && len(sum) != 32 {
			t.Fatalf("parseSignature(%q) accepted a %d-byte sum", header, len(sum))
		}
		accepted := reason == "" && validSignature(secret, body, sum)
		want := strings.HasPrefix(header, "sha256=") && strings.EqualFold(header[len("sha256="):], Sign(secret, body)[len("sha256="):])
		if accepted != want {
			t.Fatalf("header %q for a %d-byte body: accepted %v, want %v", header, len(body), accepted, want)
		}
		if good, _ := parseSignature(Sign(secret, body)); !validSignature(secret, body, good) {
			t.Fatal("the body's own signature is refused")
		}
		if reason != "" {
			return
		}
		s := newBodyReader(secret, 1<<20, 1)
		got, err := s.read(nil, httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body)), sum)
		switch {
		case accepted && (err != nil || !bytes.Equal(got, body)):
			t.Fatalf("readBody of an authentic %d-byte body: %d bytes, %v", len(body), len(got), err)
		case !accepted && !errors.Is(err, errBadSignature):
			t.Fatalf("readBody of a forged body: %v, want errBadSignature", err)
		}
	})
}

// fuzzServer is a server that receives and stores deliveries but never
// processes them (no policy set becomes active).
type fuzzServer struct {
	once sync.Once
	srv  *Server
	err  error
}

type neverReady struct{}

func (neverReady) Ready() bool                     { return false }
func (neverReady) Refresh(context.Context, string) {}
func (neverReady) Status() []bundles.SourceStatus  { return nil }

func (fs *fuzzServer) get(t *testing.T, dir string) *Server {
	fs.once.Do(func() {
		ctx := context.Background()
		eng, err := engine.New(ctx, nil)
		if err != nil {
			fs.err = err
			return
		}
		_, key, err := fakegithub.NewKey()
		if err != nil {
			fs.err = err
			return
		}
		app, err := github.NewApp(github.Config{AppID: 1, PrivateKey: key, APIURL: "http://127.0.0.1:1"})
		if err != nil {
			fs.err = err
			return
		}
		cfg := DefaultConfig()
		cfg.RedeliverInterval = 0
		fs.srv, fs.err = New(ctx, Options{Config: cfg, Secret: []byte("whsec-fuzz"), Engine: eng, Policies: neverReady{}, App: app,
			Database: filepath.Join(dir, "fuzz.db")})
	})
	if fs.err != nil {
		t.Fatal(fs.err)
	}
	return fs.srv
}

// FuzzReceive sends deliveries with any event, delivery id, content type
// and body through the live /webhook handler, signed once with the wrong
// secret and once with the right one. Forged ones are refused and leave
// nothing; signed ones are acknowledged or refused as bad requests, never
// a server error; whatever is stored is the delivery's JSON payload as
// sent.
func FuzzReceive(f *testing.F) {
	payloads, _ := filepath.Glob(filepath.Join(corpus, "payloads", "*.json"))
	for _, p := range payloads {
		body, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		event, _, _ := strings.Cut(filepath.Base(p), ".")
		f.Add(event, "seed-"+filepath.Base(p), "application/json", body)
	}
	f.Add("workflow_run", "form-1", "application/x-www-form-urlencoded", []byte("payload=%7B%22action%22%3A%22requested%22%7D"))
	f.Add("workflow_run", "deep-1", "application/json", []byte(`{"action":"requested","x":`+strings.Repeat("[", 20_000)+strings.Repeat("]", 20_000)+`}`))
	f.Add("push", "push-1", "application/json", []byte(`{"ref":"refs/heads/main","repository":{"full_name":"a/b","default_branch":"main"}}`))
	f.Add("ping", "../etc/passwd", "text/plain", []byte("not json"))
	var fs fuzzServer
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, event, deliveryID, contentType string, body []byte) {
		s := fs.get(t, dir)
		send := func(sig string) int {
			req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
			req.Header.Set("Content-Type", contentType)
			req.Header.Set("X-GitHub-Event", event)
			req.Header.Set("X-GitHub-Delivery", deliveryID)
			req.Header.Set("X-Hub-Signature-256", sig)
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			return rec.Code
		}
		ctx := context.Background()
		_, err := s.store.Delivery(ctx, deliveryID)
		existed := err == nil // sent by an earlier input
		if code := send(Sign([]byte("not-the-secret"), body)); code != http.StatusUnauthorized {
			t.Fatalf("forged delivery: %d, want 401", code)
		}
		if _, err := s.store.Delivery(ctx, deliveryID); !existed && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("forged delivery %q stored (%v)", deliveryID, err)
		}
		code := send(Sign([]byte("whsec-fuzz"), body))
		switch code {
		case http.StatusAccepted, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("signed delivery (event %q, id %q, type %q, %d bytes): %d", event, deliveryID, contentType, len(body), code)
		}
		d, err := s.store.Delivery(ctx, deliveryID)
		if errors.Is(err, store.ErrNotFound) || existed {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		// Stored by this input: acknowledged, and exactly what was sent.
		payload, perr := jsonPayload(contentType, body)
		if code != http.StatusAccepted || perr != nil || !bytes.Equal(d.Payload, payload) || d.Event != event {
			t.Fatalf("stored delivery %q (answered %d): event %q, payload %.100q; want event %q, payload %.100q (%v)",
				deliveryID, code, d.Event, d.Payload, event, payload, perr)
		}
		var obj map[string]any
		if json.Unmarshal(d.Payload, &obj) != nil {
			t.Fatalf("stored delivery %q is not a JSON object: %.100q", deliveryID, d.Payload)
		}
	})
}

// allowFuzz evaluates the built-in policies with the settings each input
// brings, as the engine does after a load: the list indexes are rebuilt
// from the settings (data.internal.runpolicy.prepared) before the decision.
type allowFuzz struct {
	once     sync.Once
	store    storage.Store
	decision rego.PreparedEvalQuery
	prepared rego.PreparedEvalQuery
	errs     rego.PreparedEvalQuery
	err      error
}

func (a *allowFuzz) init(ctx context.Context) error {
	a.once.Do(func() {
		b, err := policies.Bundle()
		if err != nil {
			a.err = err
			return
		}
		// The engine's compiler and load-time data (the policy packages the
		// aggregator reads); eval rebuilds the settings indexes per input.
		compiler, data, err := engine.Compile(ctx, []engine.Bundle{{Name: engine.BuiltinName, Bundle: b}})
		if err != nil {
			a.err = err
			return
		}
		a.store = inmem.NewFromObject(data)
		for q, dst := range map[string]*rego.PreparedEvalQuery{
			engine.DecisionQuery:     &a.decision,
			engine.PreparedQuery:     &a.prepared,
			engine.ConfigErrorsQuery: &a.errs,
		} {
			if *dst, err = rego.New(rego.Query(q), rego.Compiler(compiler), rego.Store(a.store)).PrepareForEval(ctx); err != nil {
				a.err = err
				return
			}
		}
	})
	return a.err
}

// eval judges doc with allowed_actions enforced and allow as its list. It
// returns the allowed_actions violations, or the settings errors when the
// engine would refuse the list.
func (a *allowFuzz) eval(ctx context.Context, doc *input.Document, allow []string) (violations []string, configErrors []any, err error) {
	txn, err := a.store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return nil, nil, err
	}
	defer a.store.Abort(ctx, txn)
	list := make([]any, len(allow))
	for i, p := range allow {
		list[i] = p
	}
	settings := map[string]any{"mode": "enforce", "allow": list}
	if err := a.store.Write(ctx, txn, storage.ReplaceOp, storage.MustParsePath("/runpolicy/settings/allowed_actions"), settings); err != nil {
		return nil, nil, err
	}
	rs, err := a.errs.Eval(ctx, rego.EvalTransaction(txn))
	if err != nil {
		return nil, nil, fmt.Errorf("config_errors: %w", err)
	}
	if len(rs) > 0 {
		if errs, _ := rs[0].Expressions[0].Value.([]any); len(errs) > 0 {
			return nil, errs, nil
		}
	}
	rs, err = a.prepared.Eval(ctx, rego.EvalTransaction(txn))
	if err != nil {
		return nil, nil, fmt.Errorf("prepared: %w", err)
	}
	if len(rs) > 0 {
		if err := a.store.Write(ctx, txn, storage.AddOp, storage.MustParsePath(engine.PreparedPath), rs[0].Expressions[0].Value); err != nil {
			return nil, nil, err
		}
	}
	rs, err = a.decision.Eval(ctx, rego.EvalTransaction(txn), rego.EvalParsedInput(doc.Value()))
	if err != nil {
		return nil, nil, fmt.Errorf("decision: %w", err)
	}
	if len(rs) == 0 {
		return nil, nil, errors.New("decision undefined")
	}
	d, _ := rs[0].Expressions[0].Value.(map[string]any)
	vs, _ := d["violations"].([]any)
	for _, v := range vs {
		if m, _ := v.(map[string]any); m["policy"] == "allowed_actions" {
			violations = append(violations, fmt.Sprint(m["message"]))
		}
	}
	return violations, nil, nil
}

// githubShaped matches the references GitHub runs: owner/repo[/path] with
// an optional @ref (no whitespace or characters git refuses in a ref), or
// docker://image.
var githubShaped = regexp.MustCompile(`^(?:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[^\s@]+)?(?:@[^\s@~^:?*\[\\]+)?|docker://\S+)$`)

// FuzzAllowPattern fuzzes the allow-list matcher (Rego, in
// policies/lib/actions.rego) through the engine's policies: a workflow
// with one step using a fuzzed reference, judged with a fuzzed allow
// pattern. No pattern the settings check accepts may make evaluation fail;
// a reference is always allowed by its exact self (as written, and
// without its ref), and an exact "!" entry always blocks it.
func FuzzAllowPattern(f *testing.F) {
	for _, seed := range [][2]string{
		{"actions/checkout@v4", "actions/*"},
		{"actions/checkout@v4", "actions/checkout"},
		{"octo-org/example-repo/.github/workflows/deploy.yml@main", "octo-org/*/.github/workflows/*"},
		{"docker://alpine:3.19", "docker://alpine:*"},
		{"tj-actions/changed-files@v45", "!tj-actions/changed-files@v45"},
		{"Space-Org/Repo@V1", "space-org*/*"},
		{"a/b@c", "*"},
		{"a/b@c", "*/*"},
		{"a/b/c/d@e", "a/b/*"},
		{"a/b@" + strings.Repeat("0", 40), "a/b@" + strings.Repeat("0", 40)},
		{"./local/action", "./local/*"},
		{"a/b@[v1]", "a/b@[v1]"},
		{"ü/ñ@ß", "Ü/*"},
	} {
		f.Add(seed[0], seed[1])
	}
	workflows, _ := filepath.Glob(filepath.Join(corpus, "workflows", "*.y*ml"))
	for _, w := range workflows[:min(len(workflows), 10)] {
		src, _ := os.ReadFile(w)
		for _, line := range strings.Split(string(src), "\n") {
			if _, ref, ok := strings.Cut(line, "uses: "); ok {
				f.Add(strings.Trim(strings.TrimSpace(ref), `'"`), "actions/*")
				break
			}
		}
	}
	var a allowFuzz
	f.Fuzz(func(t *testing.T, ref, pattern string) {
		ctx := context.Background()
		if err := a.init(ctx); err != nil {
			t.Fatal(err)
		}
		quoted, _ := json.Marshal(ref) // a JSON string is a YAML scalar
		src := "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: " + string(quoted) + "\n"
		facts, err := input.Parse("fuzz.yml", []byte(src))
		if err != nil {
			return // the normalizer refuses the reference: nothing to judge
		}
		doc := input.Build(facts, input.LocalContext("fuzz.yml"))
		if len(doc.Uses) != 1 {
			return
		}
		use := doc.Uses[0]
		if _, _, err := a.eval(ctx, doc, []string{pattern}); err != nil {
			t.Fatalf("uses %q, allow [%q]: %v", use.Raw, pattern, err)
		}
		if use.Kind == "local" {
			return // allow_local decides, not the list
		}
		if !githubShaped.MatchString(use.Raw) || strings.Contains(use.Ref, "..") || strings.Contains(use.Ref, "@{") {
			// A reference GitHub would refuse to run (spaces, a second
			// "@", a ref git does not allow): the list cannot name it,
			// as entries are trimmed and split at "@", so it is denied,
			// failing closed; the evaluation above must merely succeed.
			return
		}
		name := strings.TrimSuffix(use.Raw, "@"+use.Ref)
		for _, self := range []string{use.Raw, name} {
			violations, configErrors, err := a.eval(ctx, doc, []string{self})
			if err != nil {
				t.Fatalf("uses %q, allow [%q]: %v", use.Raw, self, err)
			}
			if len(configErrors) > 0 {
				continue // the settings check refuses the reference as a pattern
			}
			if len(violations) > 0 {
				t.Fatalf("uses %q (kind %s) is not allowed by its exact self %q: %v", use.Raw, use.Kind, self, violations)
			}
			violations, configErrors, err = a.eval(ctx, doc, []string{self, "!" + self})
			if err != nil {
				t.Fatalf("uses %q, allow [%q, %q]: %v", use.Raw, self, "!"+self, err)
			}
			if len(configErrors) == 0 && len(violations) == 0 {
				t.Fatalf("uses %q is allowed although %q blocks it", use.Raw, "!"+self)
			}
		}
	})
}

// TestAllowFuzzHarness checks that the harness of FuzzAllowPattern sees
// what it is meant to: a reference off the list is denied, one on it is
// not, and a "!" entry blocks.
func TestAllowFuzzHarness(t *testing.T) {
	ctx := context.Background()
	var a allowFuzz
	if err := a.init(ctx); err != nil {
		t.Fatal(err)
	}
	facts, err := input.Parse("ci.yml", []byte("on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - uses: evil/action@v1\n"))
	if err != nil {
		t.Fatal(err)
	}
	doc := input.Build(facts, input.LocalContext("ci.yml"))
	for _, tc := range []struct {
		allow  []string
		denied bool
	}{
		{[]string{"actions/*"}, true},
		{[]string{"evil/action@v1"}, false},
		{[]string{"evil/*"}, false},
		{[]string{"evil/*", "!evil/action"}, true},
	} {
		v, errs, err := a.eval(ctx, doc, tc.allow)
		if err != nil || len(errs) > 0 || (len(v) > 0) != tc.denied {
			t.Errorf("allow %q: violations %q, settings errors %v, %v; want denied %v", tc.allow, v, errs, err, tc.denied)
		}
	}
}
