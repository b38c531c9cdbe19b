package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The console's keys are understood whole or refused: client_id turns the
// console on and needs its secret and session key; the others mean
// nothing without it.
func TestConsoleConfig(t *testing.T) {
	on := validConfig + "client_id: Iv1.abc\nclient_secret_file: /s\nsession_key_file: /k\n"
	cfg, err := loadConfig(writeConfig(t, on), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ConsolePath != "/" || cfg.ConsoleAdmins != "" {
		t.Errorf("defaults: console_path %q, console_admins %q", cfg.ConsolePath, cfg.ConsoleAdmins)
	}
	cfg, err = loadConfig(writeConfig(t, on+"console_path: /console/\nconsole_admins: acme/security\n"), nil)
	if err != nil || cfg.ConsolePath != "/console/" || cfg.ConsoleAdmins != "acme/security" {
		t.Errorf("console_path and console_admins: %+v, %v", cfg, err)
	}
	if cfg, err := loadConfig(writeConfig(t, validConfig), nil); err != nil || cfg.ClientID != "" || cfg.ConsolePath != "" {
		t.Errorf("without client_id the console is off: %+v, %v", cfg, err)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"client id without secret", validConfig + "client_id: Iv1.abc\nsession_key_file: /k\n", "client_secret_file is required with client_id"},
		{"client id without session key", validConfig + "client_id: Iv1.abc\nclient_secret_file: /s\n", "session_key_file is required with client_id"},
		{"secret without client id", validConfig + "client_secret_file: /s\n", "client_secret_file: the console needs client_id"},
		{"session key without client id", validConfig + "session_key_file: /k\n", "session_key_file: the console needs client_id"},
		{"path without client id", validConfig + "console_path: /c/\n", "console_path: the console needs client_id"},
		{"admins without client id", validConfig + "console_admins: acme/sec\n", "console_admins: the console needs client_id"},
		{"path without a trailing slash", on + "console_path: /console\n", `console_path "/console": want / or /a/path/ ending in /`},
		{"relative path", on + "console_path: console/\n", `console_path "console/"`},
		{"dot segment", on + "console_path: /a/../admin/\n", `console_path "/a/../admin/"`},
		{"the server's own path", on + "console_path: /admin/\n", `console_path "/admin/": /admin is the server's own`},
		{"below the server's own path", on + "console_path: /metrics/console/\n", "/metrics is the server's own"},
		{"admins without a team", on + "console_admins: acme\n", `console_admins "acme": want org/team-slug`},
		{"admins with two slashes", on + "console_admins: acme/a/b\n", `console_admins "acme/a/b"`},
	} {
		_, err := loadConfig(writeConfig(t, tc.body), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", tc.name, err, tc.want)
		}
	}
}

func TestConsoleSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := &serveConfig{ClientSecretFile: write("secret", "  s3cret\n"), SessionKeyFile: write("key", strings.Repeat("k", 32))}
	secret, key, err := cfg.consoleSecrets()
	if err != nil || secret != "s3cret" || len(key) != 32 {
		t.Errorf("consoleSecrets = %q, %d bytes, %v", secret, len(key), err)
	}
	for _, tc := range []struct {
		cfg  serveConfig
		want string
	}{
		{serveConfig{ClientSecretFile: filepath.Join(dir, "missing"), SessionKeyFile: cfg.SessionKeyFile}, "client_secret_file: open"},
		{serveConfig{ClientSecretFile: write("empty", "\n"), SessionKeyFile: cfg.SessionKeyFile}, "client_secret_file " + filepath.Join(dir, "empty") + ": empty"},
		{serveConfig{ClientSecretFile: cfg.ClientSecretFile, SessionKeyFile: write("short", "short")}, "5 bytes, want at least 32"},
	} {
		if _, _, err := tc.cfg.consoleSecrets(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("consoleSecrets(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
