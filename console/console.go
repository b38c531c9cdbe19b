// Package console is runpolicy's web console, served by `runpolicy serve`
// beside the webhook: the evaluations (decisions) it made, one evaluation
// with its findings and input document, the inventory of the actions
// runs used, the active policies, the approvals of workflow versions,
// and replays of a candidate policy.
//
// Users sign in with GitHub through the App's own user authorization (the
// OAuth web flow). Each sees only the repositories they can read on
// GitHub, asked with their token and cached briefly (access.go);
// organization owners and members of the console_admins team see more.
// Pages are server-rendered html/template with embedded assets and no
// script: the lists and filters are plain links and GET forms.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/runpolicy/runpolicy/bundles"
	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/webhook/store"
)

//go:embed templates static
var assets embed.FS

// Store is what the console reads of the decision store (*store.Store).
type Store interface {
	Evaluations(ctx context.Context, f store.EvaluationFilter) (store.EvaluationPage, error)
	EvaluationStats(ctx context.Context, f store.EvaluationFilter, top int) (store.EvaluationStats, error)
	Evaluation(ctx context.Context, scope store.Scope, id string) (*store.Decision, []store.Action, error)
	Inventory(ctx context.Context, q store.InventoryQuery) ([]store.InventoryEntry, bool, error)
	ApprovalsIn(ctx context.Context, scope store.Scope, limit int) ([]store.Approval, error)
	Approval(ctx context.Context, id string) (store.Approval, error)
}

// Engine is what the console reads of the policy engine (*engine.Engine).
type Engine interface {
	Settings(ctx context.Context, repository string) (*engine.RepositorySettings, error)
	Policies() map[string]engine.PolicyInfo
	Revisions() map[string]string
}

// Options configures a Console.
type Options struct {
	// Path is where the console is served: "/" (default) or a path ending
	// in "/".
	Path string
	// ClientID and ClientSecret are the App's OAuth credentials.
	ClientID, ClientSecret string
	// SessionKey signs the session cookies and seals the tokens in them;
	// at least 32 bytes, the same on every replica.
	SessionKey []byte
	// Admins is the org/team-slug whose members see everything.
	Admins string
	// APIURL is GitHub's REST API (default https://api.github.com); the
	// OAuth pages are on the matching web host (see webURL).
	APIURL string
	Store  Store
	Engine Engine
	// Bundles describes the policy sources (*bundles.Manager's Status).
	Bundles func() []bundles.SourceStatus
	// Replays runs the Replay page's replays (*replay.Runner); nil leaves
	// the page out.
	Replays Replays
	// Revoke revokes the Approvals page's approvals; nil lists them
	// without a way to revoke.
	Revoke Revoke
	// HTTPClient makes the GitHub calls (default: 10s timeout).
	HTTPClient *http.Client
	// AccessTTL is how long what GitHub said a user may read is trusted
	// (default 1 minute); SessionTTL bounds a session (default 8 hours,
	// less when GitHub's token expires sooner).
	AccessTTL, SessionTTL time.Duration
	Logger                *slog.Logger
}

// Console is the console's HTTP handler.
type Console struct {
	opts  Options
	base  string
	web   string
	api   *url.URL
	keys  keys
	http  *http.Client
	cache *lru.Cache[string, *access]
	pages pages
	log   *slog.Logger
	mux   http.Handler
	// pageSize is the evaluations per page (the store's default when 0).
	pageSize int
}

// New checks the options and builds the handler.
func New(o Options) (*Console, error) {
	if o.Path == "" {
		o.Path = "/"
	}
	if err := CheckPath(o.Path); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if o.ClientID == "" || o.ClientSecret == "" {
		return nil, errors.New("console: the App's client id and client secret are required")
	}
	if len(o.SessionKey) < 32 {
		return nil, fmt.Errorf("console: the session key has %d bytes, want at least 32", len(o.SessionKey))
	}
	if err := CheckAdmins(o.Admins); err != nil {
		return nil, fmt.Errorf("console: admins team %w", err)
	}
	if o.Store == nil || o.Engine == nil || o.Bundles == nil {
		return nil, errors.New("console: store, engine and bundles are required")
	}
	if o.APIURL == "" {
		o.APIURL = "https://api.github.com"
	}
	web, err := webURL(o.APIURL)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	api, _ := url.Parse(strings.TrimRight(o.APIURL, "/") + "/")
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.AccessTTL <= 0 {
		o.AccessTTL = time.Minute
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 8 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	// Sessions seen in the last minute, each with up to 10,000 names.
	cache, _ := lru.New[string, *access](1024)
	c := &Console{opts: o, base: o.Path, web: web, api: api, keys: deriveKeys(o.SessionKey), http: o.HTTPClient,
		cache: cache, pages: p, log: o.Logger}
	c.mux = c.routes()
	return c, nil
}

// CheckPath accepts "/" and absolute paths ending in "/" made of plain
// segments, where the console may be served.
func CheckPath(p string) error {
	bad := fmt.Errorf("path %q: want / or /a/path/ ending in /", p)
	if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") || strings.Contains(p, "//") || strings.ContainsAny(p, "?#%{}\\ ") {
		return bad
	}
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == "." || seg == ".." {
			return bad
		}
	}
	return nil
}

// CheckAdmins checks the console_admins team: empty (none) or
// org/team-slug.
func CheckAdmins(team string) error {
	if team == "" {
		return nil
	}
	if org, slug, ok := strings.Cut(team, "/"); !ok || org == "" || slug == "" || strings.Contains(slug, "/") {
		return fmt.Errorf("%q: want org/team-slug", team)
	}
	return nil
}

// Path is where the console is served, ending in "/".
func (c *Console) Path() string { return c.base }

func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	b := c.base
	mux.HandleFunc("GET "+b+"{$}", c.page(c.evaluations))
	mux.HandleFunc("GET "+b+"evaluations/{id}", c.page(c.evaluation))
	mux.HandleFunc("GET "+b+"evaluations/{id}/input.json", c.page(c.inputDocument))
	mux.HandleFunc("GET "+b+"policies", c.page(c.policies))
	mux.HandleFunc("GET "+b+"inventory", c.page(c.inventory))
	mux.HandleFunc("GET "+b+"approvals", c.page(c.approvals))
	mux.HandleFunc("POST "+b+"approvals/{id}/revoke", c.page(c.revokeApproval))
	mux.HandleFunc("GET "+b+"replays", c.page(c.replays))
	mux.HandleFunc("POST "+b+"replays", c.page(c.startReplay))
	mux.HandleFunc("GET "+b+"replays/{id}", c.page(c.replay))
	mux.HandleFunc("GET "+b+"login", c.login)
	mux.HandleFunc("GET "+b+"login/github", c.startLogin)
	mux.HandleFunc("GET "+b+"auth/callback", c.callback)
	mux.HandleFunc("POST "+b+"logout", c.logout)
	static := http.FileServerFS(assets)
	mux.Handle("GET "+b+"static/", http.StripPrefix(strings.TrimSuffix(b, "/"), cacheable(static)))
	mux.HandleFunc(b, func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusNotFound, "There is no such page.")
	})
	// Forms are posted from the console's own pages only: a cross-site
	// POST is refused before any handler (the CSRF token checks it again).
	return http.NewCrossOriginProtection().Handler(mux)
}

// ServeHTTP serves the console with headers that keep its pages in their
// own frame, off caches, and free of anything not served by the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// cacheable serves the embedded files, never a listing of them.
func cacheable(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// viewer is the signed-in user a page is rendered for.
type viewer struct {
	sess   *session
	token  string
	access *access
	csrf   string
}

// page runs a handler for a signed-in user: without a valid session the
// browser is sent to sign in, and what the user may see is known (from
// GitHub or the cache) before the handler runs.
func (c *Console) page(h func(http.ResponseWriter, *http.Request, *viewer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, token, ok := c.session(r)
		if !ok {
			next := r.URL.Path
			if r.URL.RawQuery != "" {
				next += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, c.base+"login?"+url.Values{"next": {next}}.Encode(), http.StatusSeeOther)
			return
		}
		a, err := c.access(r.Context(), sess, token)
		if errors.Is(err, errSignedOut) {
			c.signOut(w, sess)
			http.Redirect(w, r, c.base+"login?"+url.Values{"expired": {"1"}}.Encode(), http.StatusSeeOther)
			return
		}
		if err != nil {
			c.log.Warn("console: cannot tell what a user may see", "login", sess.Login, "err", err)
			c.fail(w, r, http.StatusBadGateway, "GitHub did not say which repositories you can read. Try again in a moment.")
			return
		}
		h(w, r, &viewer{sess: sess, token: token, access: a, csrf: c.keys.csrfToken(sess.ID)})
	}
}

// session reads the session cookie: its signature, its expiry and its
// sealed token.
func (c *Console) session(r *http.Request) (*session, string, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, "", false
	}
	var s session
	if c.keys.decode(sessionCookie, ck.Value, &s) != nil || s.ID == "" || time.Now().Unix() >= s.Expires {
		return nil, "", false
	}
	token, err := c.keys.openToken(s.ID, s.Token)
	if err != nil {
		return nil, "", false
	}
	return &s, token, true
}

func (c *Console) signOut(w http.ResponseWriter, sess *session) {
	if sess != nil {
		c.cache.Remove(sess.ID)
	}
	setCookie(w, sessionCookie, "", c.base, 0)
}

// fail renders an error page with a message for people; causes go to the
// log, never to the page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	sess, _, _ := c.session(r)
	data := c.common(r, nil, http.StatusText(status))
	if sess != nil {
		data.Login, data.CSRF = sess.Login, c.keys.csrfToken(sess.ID)
	}
	data.Status, data.Message = status, msg
	c.render(w, status, "error", data)
}
