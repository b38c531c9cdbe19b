package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runpolicy/runpolicy/bundles"
	"github.com/runpolicy/runpolicy/console"
	"github.com/runpolicy/runpolicy/internal/oneline"
	"github.com/runpolicy/runpolicy/resolve"
	"github.com/runpolicy/runpolicy/webhook"
)

// serveConfig is the server's configuration file. Every key can be
// overridden by the environment variable RUNPOLICY_<KEY> (upper case);
// RUNPOLICY_BUNDLES takes the list as YAML or JSON. defaultServeConfig
// holds its defaults, a key given is taken as it is (zero included), and
// check refuses what the server cannot run with.
type serveConfig struct {
	// Addr is the listen address (default :8080).
	Addr string `yaml:"addr"`
	// WebhookSecret is the App's webhook secret.
	WebhookSecret string `yaml:"webhook_secret"`
	AppID         int64  `yaml:"app_id"`
	// PrivateKeyFile is the App's PEM private key; PrivateKey holds the key
	// itself, for RUNPOLICY_PRIVATE_KEY.
	PrivateKeyFile string `yaml:"private_key_file"`
	PrivateKey     string `yaml:"private_key"`
	// GitHubAPIURL is the REST API (default https://api.github.com; GHES:
	// https://HOST/api/v3).
	GitHubAPIURL string `yaml:"github_api_url"`
	// Database is an SQLite file (default runpolicy.db) or postgres://….
	Database string `yaml:"database"`
	// DecisionRetention is how long decisions are kept before they are
	// pruned: a duration (90d, 12w, 2160h, at least 7d), or forever; 0 is
	// the default, 90d. checkData sets retention from it (data.go).
	DecisionRetention string `yaml:"decision_retention"`
	// retention is DecisionRetention read; 0 keeps decisions forever.
	retention time.Duration
	Bundles   []bundles.SourceConfig `yaml:"bundles"`
	// Resolve follows composite actions and reusable workflows (default true).
	Resolve bool `yaml:"resolve"`
	// ResolveTrustedOwners are the owners whose tag lookups are cached for
	// five minutes (default [actions, github]); every other tag is looked
	// up for each run, with a conditional request.
	ResolveTrustedOwners *[]string `yaml:"resolve_trusted_owners"`
	// ResolveMaxCommitCalls caps the API calls of one impostor-commit
	// check (default 100).
	ResolveMaxCommitCalls int `yaml:"resolve_max_commit_calls"`
	// AdminToken enables /admin for Bearer requests carrying it.
	AdminToken string `yaml:"admin_token"`
	// CommentTemplateFile is a Go text/template for pull request comments.
	CommentTemplateFile string `yaml:"comment_template_file"`
	// GitHubTimeout bounds one API request (default 10s).
	GitHubTimeout time.Duration `yaml:"github_timeout"`
	// Config holds the server's own keys (on_error, eval_timeout, workers,
	// the queue's and the redelivery sweep's): webhook.DefaultConfig is
	// their one home of defaults, and webhook.Config.Check refuses what
	// the server cannot run with.
	webhook.Config `yaml:",inline"`
	// LogLevel is debug, info, warn or error (default info).
	LogLevel string `yaml:"log_level"`
	// LogFormat is text or json; left empty, text when standard error is
	// a terminal and JSON otherwise (for log collectors).
	LogFormat string `yaml:"log_format"`
	// AllowBuiltins names the network built-ins policies may call
	// (comma-separated: http.send, net.lookup_ip_addr, …); none by default.
	AllowBuiltins string `yaml:"allow_builtins"`
	// ClientID and ClientSecretFile are the App's OAuth credentials: with
	// them the web console is served at ConsolePath (default /), signing
	// in with GitHub. SessionKeyFile holds the key that signs its cookies
	// (at least 32 bytes, the same on every replica). Members of the
	// ConsoleAdmins team (org/team-slug) see everything.
	ClientID         string `yaml:"client_id"`
	ClientSecretFile string `yaml:"client_secret_file"`
	SessionKeyFile   string `yaml:"session_key_file"`
	ConsolePath      string `yaml:"console_path"`
	ConsoleAdmins    string `yaml:"console_admins"`
}

// defaultServeConfig is every key's default: the server's own from
// webhook.DefaultConfig, and the command's. Those without one are required
// (webhook_secret, app_id, the key) or off (bundles, admin_token, …);
// resolve_trusted_owners left out is the resolver's default list.
func defaultServeConfig() *serveConfig {
	return &serveConfig{
		Addr:                  ":8080",
		GitHubAPIURL:          "https://api.github.com",
		Database:              "runpolicy.db",
		DecisionRetention:     "90d",
		retention:             defaultRetention,
		Resolve:               true,
		ResolveMaxCommitCalls: resolve.DefaultMaxCommitCalls,
		GitHubTimeout:         10 * time.Second,
		Config:                webhook.DefaultConfig(),
		LogLevel:              "info",
	}
}

// allowedBuiltins splits AllowBuiltins.
func (c *serveConfig) allowedBuiltins() []string {
	var out []string
	for _, n := range strings.Split(c.AllowBuiltins, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// configKeys lists the keys of serveConfig by YAML name, the server's
// own (webhook.Config, inline) among them.
func configKeys() map[string]reflect.StructField {
	keys := map[string]reflect.StructField{}
	for _, f := range reflect.VisibleFields(reflect.TypeOf(serveConfig{})) {
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if f.Anonymous || name == "" || name == "-" {
			continue
		}
		keys[name] = f
	}
	return keys
}

// loadConfig reads the file (optional when the environment says it all)
// over the defaults, applies RUNPOLICY_* overrides and checks every value:
// a key left out has its default, a key given has the value given, zero
// included. Errors are one line naming the file or variable and the key.
func loadConfig(path string, environ []string) (*serveConfig, error) {
	cfg, given, err := readConfig(path, environ)
	if err != nil {
		return nil, err
	}
	cfg.Follow(func(key string) bool { return given[key] })
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// readConfig reads the file, when there is one, and the RUNPOLICY_*
// overrides over the defaults, and says which keys were given; it checks
// nothing beyond each value's type.
func readConfig(path string, environ []string) (*serveConfig, map[string]bool, error) {
	cfg := defaultServeConfig()
	given := map[string]bool{}
	if path != "" {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("config: %w", err)
		}
		if err := decodeConfig(path, src, cfg, environ, given); err != nil {
			return nil, nil, err
		}
	}
	if err := applyEnv(cfg, environ, given); err != nil {
		return nil, nil, err
	}
	return cfg, given, nil
}

// decodeConfig decodes the file key by key, so that an unknown key or a
// bad value is reported with its name and line. ${VAR} in a value is
// replaced by the variable from environ first (see expandNode).
// given collects the keys the file names.
func decodeConfig(path string, src []byte, cfg *serveConfig, environ []string, given map[string]bool) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return fmt.Errorf("config %s: %s", path, oneline.Fold(err.Error()))
	}
	if len(doc.Content) == 0 {
		return nil // empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config %s: line %d: want a mapping of keys to values", path, root.Line)
	}
	keys := configKeys()
	v := reflect.ValueOf(cfg).Elem()
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, val := root.Content[i], root.Content[i+1]
		field, ok := keys[k.Value]
		if !ok {
			return fmt.Errorf("config %s: line %d: unknown key %q", path, k.Line, k.Value)
		}
		if given[k.Value] {
			return fmt.Errorf("config %s: line %d: key %q given twice", path, k.Line, k.Value)
		}
		given[k.Value] = true
		if err := expandNode(val, k.Value, environ); err != nil {
			return fmt.Errorf("config %s: %w", path, err)
		}
		if err := decodeValue(val, v.FieldByIndex(field.Index)); err != nil {
			return fmt.Errorf("config %s: line %d: %s: %s", path, val.Line, k.Value, err)
		}
	}
	return nil
}

// expandNode replaces ${NAME} in every scalar value under n with the
// environment variable NAME, so that secrets stay out of the file. An unset
// variable is an error naming the key: sending "${TOKEN}" as a token, or
// an empty one, would look configured when it is not. $${ is a literal ${;
// any other $ is kept as written. where names n in errors.
func expandNode(n *yaml.Node, where string, environ []string) error {
	switch n.Kind {
	case yaml.ScalarNode:
		out, changed, err := expandVars(n.Value, environ)
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", n.Line, where, err)
		}
		if changed {
			n.Value = out
			if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
				// An unquoted ${APP_ID} reads as a string; its value may
				// be a number or a duration.
				n.Tag = ""
				n.Tag = n.ShortTag()
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := expandNode(c, fmt.Sprintf("%s[%d]", where, i), environ); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := expandNode(n.Content[i+1], where+"."+n.Content[i].Value, environ); err != nil {
				return err
			}
		}
	}
	return nil
}

// expandVars expands ${NAME} references in s (see expandNode).
func expandVars(s string, environ []string) (string, bool, error) {
	if !strings.Contains(s, "${") {
		return s, false, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true, nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i]) // the first $ of $${ is the escape; keep the second
			b.WriteString("{")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", false, fmt.Errorf("%q: unterminated ${ (write $${ for a literal ${)", s[i:])
		}
		name := s[i+2 : i+end]
		if !envName(name) {
			return "", false, fmt.Errorf("${%s}: not an environment variable name (write $${ for a literal ${)", name)
		}
		v, ok := lookupEnv(environ, name)
		if !ok {
			return "", false, fmt.Errorf("${%s}: environment variable %s is not set", name, name)
		}
		b.WriteString(v)
		s = s[i+end+1:]
	}
}

// envName reports whether s is a shell-style variable name.
func envName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// lookupEnv finds name in environ (KEY=value entries); the last entry wins,
// as in os/exec.
func lookupEnv(environ []string, name string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

var sourceType = reflect.TypeOf(bundles.SourceConfig{})

// decodeValue decodes one value. Bundle sources go through their own JSON
// decoder, which knows their keys and durations.
func decodeValue(n *yaml.Node, dst reflect.Value) error {
	if dst.Type() == reflect.TypeOf([]bundles.SourceConfig{}) {
		if n.Kind != yaml.SequenceNode {
			return errors.New("want a list of bundle sources")
		}
		out := make([]bundles.SourceConfig, 0, len(n.Content))
		for i, item := range n.Content {
			var raw any
			if err := item.Decode(&raw); err != nil {
				return fmt.Errorf("[%d]: %s", i, yamlError(err))
			}
			b, err := json.Marshal(raw)
			if err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
			var sc bundles.SourceConfig
			if err := json.Unmarshal(b, &sc); err != nil {
				return fmt.Errorf("[%d]: %s", i, oneline.Fold(err.Error()))
			}
			out = append(out, sc)
		}
		dst.Set(reflect.ValueOf(out))
		return nil
	}
	if dst.Type() == reflect.TypeOf(&[]string{}) {
		if n.Kind != yaml.SequenceNode {
			return errors.New("want a list of strings")
		}
		out := make([]string, 0, len(n.Content))
		for i, item := range n.Content {
			if item.Kind != yaml.ScalarNode || item.Tag != "!!str" {
				return fmt.Errorf("[%d]: want a string", i)
			}
			out = append(out, item.Value)
		}
		dst.Set(reflect.ValueOf(&out))
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return errors.New("want a single value")
	}
	ptr := reflect.New(dst.Type())
	if err := n.Decode(ptr.Interface()); err != nil {
		return errors.New(yamlError(err))
	}
	dst.Set(ptr.Elem())
	return nil
}

// yamlError drops the "yaml: unmarshal errors: line N:" wrapping.
func yamlError(err error) string {
	msg := oneline.Fold(err.Error())
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors: ")
	if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "line ") && i > 0 {
		msg = msg[i+2:]
	}
	return msg
}

// applyEnv overrides keys from RUNPOLICY_<KEY>, adding them to given.
// Strings are taken as they are (a PEM key keeps its newlines); other
// values are read as YAML.
func applyEnv(cfg *serveConfig, environ []string, given map[string]bool) error {
	keys := configKeys()
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	v := reflect.ValueOf(cfg).Elem()
	for _, key := range names {
		name := "RUNPOLICY_" + strings.ToUpper(key)
		val, ok := env[name]
		if !ok {
			continue
		}
		given[key] = true
		dst := v.FieldByIndex(keys[key].Index)
		if dst.Kind() == reflect.String {
			dst.SetString(val)
			continue
		}
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(val), &doc); err != nil {
			return fmt.Errorf("config: %s: %s", name, oneline.Fold(err.Error()))
		}
		if len(doc.Content) == 0 {
			return fmt.Errorf("config: %s: empty value", name)
		}
		if err := decodeValue(doc.Content[0], dst); err != nil {
			return fmt.Errorf("config: %s: %s", name, err)
		}
	}
	return nil
}

// check refuses bad values, naming the key.
func (c *serveConfig) check() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("addr %q: want host:port", c.Addr)
	}
	if c.WebhookSecret == "" {
		return errors.New("webhook_secret is required (or RUNPOLICY_WEBHOOK_SECRET)")
	}
	if c.AppID <= 0 {
		return errors.New("app_id is required: the GitHub App's numeric id")
	}
	switch {
	case c.PrivateKey == "" && c.PrivateKeyFile == "":
		return errors.New("private_key_file is required (or RUNPOLICY_PRIVATE_KEY)")
	case c.PrivateKey != "" && c.PrivateKeyFile != "":
		return errors.New("private_key_file and private_key exclude each other")
	}
	if u, err := url.Parse(c.GitHubAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("github_api_url %q: want an http(s) URL", c.GitHubAPIURL)
	}
	if err := c.checkData(); err != nil {
		return err
	}
	if c.GitHubTimeout <= 0 {
		return fmt.Errorf("github_timeout %s: must be positive", c.GitHubTimeout)
	}
	if c.ResolveMaxCommitCalls < 1 || c.ResolveMaxCommitCalls > 10000 {
		return fmt.Errorf("resolve_max_commit_calls %d: want 1 to 10000", c.ResolveMaxCommitCalls)
	}
	if err := c.Config.Check(); err != nil {
		return err
	}
	if c.ResolveTrustedOwners != nil {
		for _, o := range *c.ResolveTrustedOwners {
			if o == "" || strings.ContainsAny(o, "/* \t") {
				return fmt.Errorf("resolve_trusted_owners: %q is not an owner name", o)
			}
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level %q: want debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "" && c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("log_format %q: want text or json", c.LogFormat)
	}
	return c.checkConsole()
}

// reservedPaths are the App's own; the console cannot be served below them.
var reservedPaths = []string{"/webhook", "/healthz", "/readyz", "/metrics", "/admin", "/status"}

// checkConsole takes the console's keys whole or refuses them: client_id
// turns the console on and needs the others; they mean nothing without it.
func (c *serveConfig) checkConsole() error {
	if c.ClientID == "" {
		for _, k := range []struct{ key, val string }{{"client_secret_file", c.ClientSecretFile},
			{"session_key_file", c.SessionKeyFile}, {"console_path", c.ConsolePath}, {"console_admins", c.ConsoleAdmins}} {
			if k.val != "" {
				return fmt.Errorf("%s: the console needs client_id (the App's client id) as well", k.key)
			}
		}
		return nil
	}
	if c.ClientSecretFile == "" {
		return errors.New("client_secret_file is required with client_id: the App's client secret")
	}
	if c.SessionKeyFile == "" {
		return errors.New("session_key_file is required with client_id: 32 random bytes or more, the same on every replica (head -c 32 /dev/urandom > session.key)")
	}
	if c.ConsolePath == "" {
		c.ConsolePath = "/"
	}
	p := c.ConsolePath
	if err := console.CheckPath(p); err != nil {
		return fmt.Errorf("console_%w", err)
	}
	for _, r := range reservedPaths {
		if p == r+"/" || strings.HasPrefix(p, r+"/") {
			return fmt.Errorf("console_path %q: %s is the server's own", p, r)
		}
	}
	if err := console.CheckAdmins(c.ConsoleAdmins); err != nil {
		return fmt.Errorf("console_admins %w", err)
	}
	return nil
}

// consoleSecrets reads the App's client secret and the session key.
func (c *serveConfig) consoleSecrets() (clientSecret string, sessionKey []byte, err error) {
	b, err := os.ReadFile(c.ClientSecretFile)
	if err != nil {
		return "", nil, fmt.Errorf("client_secret_file: %w", err)
	}
	if clientSecret = strings.TrimSpace(string(b)); clientSecret == "" {
		return "", nil, fmt.Errorf("client_secret_file %s: empty", c.ClientSecretFile)
	}
	if sessionKey, err = os.ReadFile(c.SessionKeyFile); err != nil {
		return "", nil, fmt.Errorf("session_key_file: %w", err)
	}
	if len(sessionKey) < 32 {
		return "", nil, fmt.Errorf("session_key_file %s: %d bytes, want at least 32 (head -c 32 /dev/urandom > session.key)", c.SessionKeyFile, len(sessionKey))
	}
	return clientSecret, sessionKey, nil
}

// privateKey returns the App's key from the environment or the file.
func (c *serveConfig) privateKey() ([]byte, error) {
	if c.PrivateKey != "" {
		return []byte(c.PrivateKey), nil
	}
	b, err := os.ReadFile(c.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("private_key_file: %w", err)
	}
	return b, nil
}

// commentTemplate parses comment_template_file, nil without one.
func (c *serveConfig) commentTemplate() (*template.Template, error) {
	if c.CommentTemplateFile == "" {
		return nil, nil
	}
	src, err := os.ReadFile(c.CommentTemplateFile)
	if err != nil {
		return nil, fmt.Errorf("comment_template_file: %w", err)
	}
	t, err := webhook.NewCommentTemplate(string(src))
	if err != nil {
		return nil, fmt.Errorf("comment_template_file %s: %s", c.CommentTemplateFile, oneline.Fold(err.Error()))
	}
	return t, nil
}

// policyRepositories are the repositories whose pushes refresh bundles.
func (c *serveConfig) policyRepositories() []string {
	var out []string
	for _, b := range c.Bundles {
		if b.Repository != "" {
			out = append(out, b.Repository)
		}
	}
	return out
}

// resolveOptions are the resolver's settings from the configuration.
func (c *serveConfig) resolveOptions() []resolve.Option {
	var opts []resolve.Option
	if c.ResolveTrustedOwners != nil {
		opts = append(opts, resolve.WithTrustedOwners(*c.ResolveTrustedOwners...))
	}
	if c.ResolveMaxCommitCalls != resolve.DefaultMaxCommitCalls {
		opts = append(opts, resolve.WithMaxCommitCalls(c.ResolveMaxCommitCalls))
	}
	return opts
}
