package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
)

func TestLogFormatConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		environ []string
		want    string
		err     string
	}{
		{"default", validConfig, nil, "", ""},
		{"text", validConfig + "log_format: text\n", nil, "text", ""},
		{"json", validConfig + "log_format: json\n", nil, "json", ""},
		{"environment wins", validConfig + "log_format: json\n", []string{"RUNPOLICY_LOG_FORMAT=text"}, "text", ""},
		{"unknown", validConfig + "log_format: logfmt\n", nil, "", `log_format "logfmt": want text or json`},
		{"unknown from the environment", validConfig, []string{"RUNPOLICY_LOG_FORMAT=JSON"}, "", `log_format "JSON": want text or json`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig(writeConfig(t, tc.body), tc.environ)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.LogFormat != tc.want {
				t.Errorf("log_format = %q, want %q", cfg.LogFormat, tc.want)
			}
		})
	}
}

func TestNewLogger(t *testing.T) {
	for _, tc := range []struct {
		format string
		json   bool
	}{
		{"json", true},
		{"text", false},
		{"", true}, // not a terminal: a collector reads it
	} {
		var buf bytes.Buffer
		newLogger(&buf, tc.format, slog.LevelInfo).Info("delivery accepted", "delivery", "d-1")
		line := strings.TrimSpace(buf.String())
		var obj map[string]any
		isJSON := json.Unmarshal([]byte(line), &obj) == nil
		if isJSON != tc.json {
			t.Errorf("format %q wrote %q: JSON = %v, want %v", tc.format, line, isJSON, tc.json)
		}
		if !tc.json && !strings.Contains(line, `msg="delivery accepted" delivery=d-1`) {
			t.Errorf("format %q wrote %q, want slog text", tc.format, line)
		}
	}
	// A regular file is not a terminal.
	f, err := os.Create(t.TempDir() + "/log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a regular file is taken for a terminal")
	}
}
