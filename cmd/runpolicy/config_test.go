package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runpolicy/runpolicy/webhook"
)

// validConfig is the smallest config that loads.
const validConfig = `webhook_secret: s3cret
app_id: 42
private_key_file: /dev/null
`

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "runpolicy.yml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(writeConfig(t, validConfig+`
addr: 127.0.0.1:9000
database: postgres://runpolicy@db/runpolicy
on_error: cancel
cancel_escalation_delay: 0s
retry_base: 250ms
workers: 4
bundles:
  - name: org
    url: https://github.com/acme/policies.git
    interval: 30s
    token_from_app: true
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9000" || cfg.OnError != "cancel" || cfg.CancelEscalationDelay != 0 || cfg.RetryBase != 250*time.Millisecond ||
		cfg.Workers != 4 || cfg.GitHubAPIURL != "https://api.github.com" || cfg.LogLevel != "info" {
		t.Errorf("config = %+v", cfg)
	}
	if len(cfg.Bundles) != 1 || cfg.Bundles[0].Interval != 30*time.Second || !cfg.Bundles[0].TokenFromApp {
		t.Errorf("bundles = %+v", cfg.Bundles)
	}
	if cfg.RedeliverInterval != 5*time.Minute || cfg.Database != "postgres://runpolicy@db/runpolicy" {
		t.Errorf("defaults: redeliver %s, database %s", cfg.RedeliverInterval, cfg.Database)
	}
	if cfg.ResolveTrustedOwners != nil || len(cfg.resolveOptions()) != 0 {
		t.Errorf("resolver defaults: trusted owners %v, %d options", cfg.ResolveTrustedOwners, len(cfg.resolveOptions()))
	}
}

// The resolver's settings: trusted owners (a list, possibly empty to
// trust none) and the impostor check's call cap, from the file or the
// environment.
func TestLoadConfigResolve(t *testing.T) {
	cfg, err := loadConfig(writeConfig(t, validConfig+"resolve_trusted_owners: []\nresolve_max_commit_calls: 20\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ResolveTrustedOwners == nil || len(*cfg.ResolveTrustedOwners) != 0 || cfg.ResolveMaxCommitCalls != 20 || len(cfg.resolveOptions()) != 2 {
		t.Errorf("config = %+v", cfg)
	}
	cfg, err = loadConfig(writeConfig(t, validConfig), []string{"RUNPOLICY_RESOLVE_TRUSTED_OWNERS=[actions, github, acme]"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ResolveTrustedOwners == nil || strings.Join(*cfg.ResolveTrustedOwners, ",") != "actions,github,acme" {
		t.Errorf("trusted owners from the environment = %v", cfg.ResolveTrustedOwners)
	}
}

func TestLoadConfigEnvironment(t *testing.T) {
	pem := "-----BEGIN RSA PRIVATE KEY-----\nMIIB: not really\n-----END RSA PRIVATE KEY-----\n"
	cfg, err := loadConfig(writeConfig(t, "app_id: 1\nwebhook_secret: from-file\n"), []string{
		"RUNPOLICY_WEBHOOK_SECRET=from-env",
		"RUNPOLICY_PRIVATE_KEY=" + pem,
		"RUNPOLICY_APP_ID=77",
		"RUNPOLICY_JOB_TIMEOUT=2m",
		"RUNPOLICY_BUNDLES=[{name: org, url: /srv/policies}]",
		"RUNPOLICY_UNRELATED=ignored",
	})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := cfg.privateKey()
	if cfg.WebhookSecret != "from-env" || string(key) != pem || cfg.AppID != 77 || cfg.JobTimeout != 2*time.Minute ||
		len(cfg.Bundles) != 1 || cfg.Bundles[0].URL != "/srv/policies" {
		t.Errorf("config = %+v", cfg)
	}
	if cfg.EvalTimeout != 5*time.Second {
		t.Errorf("eval_timeout = %s, want the default 5s", cfg.EvalTimeout)
	}
	short, err := loadConfig(writeConfig(t, validConfig+"job_timeout: 3s\n"), nil)
	if err != nil || short.EvalTimeout != time.Second {
		t.Errorf("eval_timeout with job_timeout 3s = %v (%v), want a third of it", short, err)
	}
	// The environment alone is enough.
	if _, err := loadConfig("", []string{"RUNPOLICY_WEBHOOK_SECRET=x", "RUNPOLICY_APP_ID=1", "RUNPOLICY_PRIVATE_KEY=" + pem}); err != nil {
		t.Errorf("config from the environment only: %v", err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		env        []string
		want       string // in the one-line error
	}{
		{"unknown key", validConfig + "adr: :80\n", nil, `line 4: unknown key "adr"`},
		{"key twice", validConfig + "app_id: 43\n", nil, `line 4: key "app_id" given twice`},
		{"bad duration", validConfig + "retry_base: soon\n", nil, "retry_base"},
		{"integer duration", validConfig + "retry_max: 30\n", nil, "retry_max"},
		{"bad number", validConfig + "workers: many\n", nil, "workers"},
		{"too many workers", validConfig + "workers: 5000\n", nil, "workers 5000"},
		{"trusted owners not a list", validConfig + "resolve_trusted_owners: actions\n", nil, "resolve_trusted_owners: want a list of strings"},
		{"trusted owner with a slash", validConfig + "resolve_trusted_owners: [actions/checkout]\n", nil, `resolve_trusted_owners: "actions/checkout" is not an owner name`},
		{"negative commit calls", validConfig + "resolve_max_commit_calls: -1\n", nil, "resolve_max_commit_calls -1"},
		{"negative duration", validConfig + "job_timeout: -1s\n", nil, "job_timeout -1s: must not be negative"},
		{"bad on_error", validConfig + "on_error: ignore\n", nil, `on_error "ignore": want allow or cancel`},
		{"bad comment_on", validConfig + "comment_on: always\n", nil, `comment_on "always": want deny, findings or never`},
		{"bad approve_permission", validConfig + "approve_permission: owner\n", nil, `approve_permission "owner": want one of read, triage, write, maintain, admin`},
		{"negative approval_expiry", validConfig + "approval_expiry: -1h\n", nil, "approval_expiry -1h0m0s: must not be negative"},
		{"bad addr", validConfig + "addr: localhost\n", nil, `addr "localhost"`},
		{"bad url", validConfig + "github_api_url: ftp://x\n", nil, "github_api_url"},
		{"bad log level", validConfig + "log_level: loud\n", nil, "log_level"},
		{"list for a string", validConfig + "addr: [a]\n", nil, "addr: want a single value"},
		{"bundles not a list", validConfig + "bundles: x\n", nil, "bundles: want a list"},
		{"unknown bundle key", validConfig + "bundles:\n  - {name: a, url: /x, branch: main}\n", nil, `bundles: [0]: bundle source: json: unknown field "branch"`},
		{"no secret", "app_id: 1\nprivate_key_file: /dev/null\n", nil, "webhook_secret is required"},
		{"no app id", "webhook_secret: x\nprivate_key_file: /dev/null\n", nil, "app_id is required"},
		{"no key", "webhook_secret: x\napp_id: 1\n", nil, "private_key_file is required"},
		{"two keys", validConfig, []string{"RUNPOLICY_PRIVATE_KEY=x"}, "exclude each other"},
		{"bad env value", validConfig, []string{"RUNPOLICY_WORKERS=lots"}, "RUNPOLICY_WORKERS"},
		{"not yaml", "a: [", nil, "config"},
		{"not a mapping", "- a\n", nil, "want a mapping"},
		{"rescue before timeout", validConfig + "job_timeout: 1m\nrescue_after: 30s\n", nil, "rescue_after"},
		{"eval timeout near the job's", validConfig + "eval_timeout: 30s\n", nil, "eval_timeout 30s: must be at most a third of job_timeout 1m0s"},
		{"negative eval timeout", validConfig + "eval_timeout: -1s\n", nil, "eval_timeout -1s: must not be negative"},
		{"eval timeout near a short job's", validConfig + "job_timeout: 2s\neval_timeout: 1s\n", nil, "eval_timeout 1s: must be at most a third of job_timeout 2s"},
	} {
		_, err := loadConfig(writeConfig(t, tc.body), tc.env)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q, want one line containing %q", tc.name, msg, tc.want)
		}
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	path := writeConfig(t, validConfig+"on_eror: cancel\n")
	code, _, stderr := runBinary(t, "serve", "--config", path)
	if code != exitError || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, `unknown key "on_eror"`) {
		t.Errorf("serve with a bad config: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runBinary(t, "serve", "--config", filepath.Join(t.TempDir(), "missing.yml"))
	if code != exitError || !strings.Contains(stderr, "missing.yml") {
		t.Errorf("serve with a missing config: exit %d, stderr %q", code, stderr)
	}
}

// TestLoadConfigExpandsVariables: ${VAR} in the file is read from the
// environment, in nested values too; an unset one fails naming the key
// rather than sending "${VAR}" as a secret.
func TestLoadConfigExpandsVariables(t *testing.T) {
	body := `webhook_secret: "${HOOK_SECRET}"
app_id: ${APP_ID}
private_key_file: /dev/null
admin_token: "pa$$word-$${LITERAL}"
bundles:
  - name: platform
    url: https://bundles.example/p.tar.gz
    token: "Bearer-${BUNDLE_TOKEN}"
`
	env := []string{"HOOK_SECRET=s3cret", "APP_ID=42", "BUNDLE_TOKEN=tok"}
	cfg, err := loadConfig(writeConfig(t, body), env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WebhookSecret != "s3cret" || cfg.AppID != 42 || cfg.AdminToken != "pa$$word-${LITERAL}" {
		t.Errorf("secret %q, app id %d, admin token %q", cfg.WebhookSecret, cfg.AppID, cfg.AdminToken)
	}
	if len(cfg.Bundles) != 1 || cfg.Bundles[0].Token != "Bearer-tok" {
		t.Errorf("bundles = %+v", cfg.Bundles)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"unset", body, `line 8: bundles[0].token: ${BUNDLE_TOKEN}: environment variable BUNDLE_TOKEN is not set`},
		{"top-level unset", validConfig + "admin_token: ${NOPE}\n", `line 4: admin_token: ${NOPE}: environment variable NOPE is not set`},
		{"unterminated", validConfig + "admin_token: \"${NOPE\"\n", "admin_token: \"${NOPE\": unterminated"},
		{"bad name", validConfig + "admin_token: \"${A-B}\"\n", "admin_token: ${A-B}: not an environment variable name"},
	} {
		_, err := loadConfig(writeConfig(t, tc.body), env[:2])
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", tc.name, err, tc.want)
		}
	}
}

// TestConfigDefaults pins where defaults live: a file that names only the
// required keys gets defaultServeConfig, whose server part is
// webhook.DefaultConfig, with nothing filled in later; a zero given is
// kept (never, for the two keys where it means that) or refused.
func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(writeConfig(t, validConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := defaultServeConfig()
	want.WebhookSecret, want.AppID, want.PrivateKeyFile = "s3cret", 42, "/dev/null"
	if !reflect.DeepEqual(cfg, want) || cfg.Config != webhook.DefaultConfig() {
		t.Errorf("config with no setting =\n%+v\nwant the defaults\n%+v", cfg, want)
	}
	cfg, err = loadConfig(writeConfig(t, validConfig+"redeliver_interval: 0s\ncancel_escalation_delay: 0s\n"), nil)
	if err != nil || cfg.RedeliverInterval != 0 || cfg.CancelEscalationDelay != 0 {
		t.Errorf("0s for never: %+v, %v", cfg, err)
	}
	for body, msg := range map[string]string{
		"workers: 0\n":                        "workers 0: want 1 to 1000",
		"max_attempts: 0\n":                   "max_attempts 0: want 1 to 100",
		"retry_base: 0s\n":                    "retry_base 0s: must be positive",
		"poll_interval: 0s\n":                 "poll_interval 0s: must be positive",
		"github_timeout: 0s\n":                "github_timeout 0s: must be positive",
		"resolve_max_commit_calls: 0\n":       "resolve_max_commit_calls 0: want 1 to 10000",
		"database: ''\n":                      "database: want a file path",
		"job_timeout: 2s\nrescue_after: 1s\n": "rescue_after 1s: must be longer than job_timeout 2s",
	} {
		if _, err := loadConfig(writeConfig(t, validConfig+body), nil); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want %q", body, err, msg)
		}
	}
}

// TestConfigDefaultsDocumented: the README's table of keys names every
// key with the default defaultServeConfig has.
func TestConfigDefaultsDocumented(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(src), "| key | default | meaning |\n|---|---|---|\n")
	if !ok {
		t.Fatal("README.md has no table of configuration keys")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	tick := regexp.MustCompile("`([^`]*)`")
	documented := map[string]string{}
	for _, row := range strings.Split(table, "\n") {
		cells := strings.Split(row, " | ")
		if len(cells) < 3 {
			t.Fatalf("row %q", row)
		}
		keys, defaults := tick.FindAllStringSubmatch(cells[0], -1), tick.FindAllStringSubmatch(cells[1], -1)
		for i, k := range keys {
			switch {
			case len(defaults) == 0: // required, none, built in
				documented[k[1]] = ""
			case i < len(defaults):
				documented[k[1]] = defaults[i][1]
			default:
				t.Errorf("row %q: no default for %s", row, k[1])
			}
		}
	}
	// Defaults that live elsewhere: the resolver's list of owners, and the
	// log format a terminal decides.
	elsewhere := map[string]bool{"resolve_trusted_owners": true, "log_format": true}
	def := reflect.ValueOf(defaultServeConfig()).Elem()
	for key, field := range configKeys() {
		doc, ok := documented[key]
		if !ok {
			t.Errorf("README.md does not document %s", key)
			continue
		}
		delete(documented, key)
		if elsewhere[key] {
			continue
		}
		v := def.FieldByIndex(field.Index)
		var got string
		switch x := v.Interface().(type) {
		case time.Duration:
			got = x.String()
			if d, err := time.ParseDuration(doc); err == nil {
				doc = d.String()
			} else if base, plus, ok := strings.Cut(doc, " + "); ok {
				d, _ := time.ParseDuration(plus)
				doc = (def.FieldByIndex(configKeys()[base].Index).Interface().(time.Duration) + d).String()
			}
		default:
			if !v.IsZero() {
				got = fmt.Sprint(x)
			}
		}
		if got != doc {
			t.Errorf("%s: default %q, README.md says %q", key, got, doc)
		}
	}
	for key := range documented {
		t.Errorf("README.md documents %s, which is no key", key)
	}
}

// decision_retention: a duration with days and weeks, forever, or the
// default for absent and 0; anything else refuses the config naming it.
func TestDecisionRetention(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		value string
		env   []string
		want  time.Duration
		err   string
	}{
		{value: "", want: 90 * day},
		{value: "decision_retention: 0\n", want: 90 * day},
		{value: "decision_retention: forever\n", want: 0},
		{value: "decision_retention: 30d\n", want: 30 * day},
		{value: "decision_retention: 12w\n", want: 84 * day},
		{value: "decision_retention: 2160h\n", want: 90 * day},
		{env: []string{"RUNPOLICY_DECISION_RETENTION=400d"}, want: 400 * day},
		{value: "decision_retention: 1d\n", err: `decision_retention "1d": at least 7d`},
		{value: "decision_retention: 36h\n", err: `decision_retention "36h": at least 7d`},
		{value: "decision_retention: -30d\n", err: `decision_retention "-30d": want a duration such as 90d`},
		{value: "decision_retention: always\n", err: `decision_retention "always": want a duration such as 90d, 12w or 2160h, or forever`},
		{value: "decision_retention: 1.5d\n", err: `decision_retention "1.5d"`},
		{value: "decision_retention: [90d]\n", err: "decision_retention: want a single value"},
		{env: []string{"RUNPOLICY_DECISION_RETENTION=never"}, err: `decision_retention "never"`},
	} {
		cfg, err := loadConfig(writeConfig(t, validConfig+tc.value), tc.env)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n")):
			t.Errorf("%q %v: error %v; want one line with %q", tc.value, tc.env, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q %v: %v", tc.value, tc.env, err)
		case tc.err == "" && cfg.retention != tc.want:
			t.Errorf("%q %v: retention %s; want %s", tc.value, tc.env, cfg.retention, tc.want)
		}
	}
}
