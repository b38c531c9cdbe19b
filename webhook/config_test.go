package webhook

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestDefaultConfig pins the defaults, which README.md documents and the
// configuration file starts from.
func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Check(); err != nil {
		t.Fatalf("the defaults are refused: %v", err)
	}
	for _, tc := range []struct {
		key       string
		got, want any
	}{
		{"on_error", c.OnError, OnErrorAllow},
		{"eval_timeout", c.EvalTimeout, 5 * time.Second},
		{"cancel_escalation_delay", c.CancelEscalationDelay, 2 * time.Minute},
		{"workers", c.Workers, 10},
		{"judge_attempts", c.JudgeAttempts, 5},
		{"max_attempts", c.MaxAttempts, 12},
		{"retry_base", c.RetryBase, time.Second},
		{"retry_max", c.RetryMax, 5 * time.Minute},
		{"job_timeout", c.JobTimeout, time.Minute},
		{"rescue_after", c.RescueAfter, 90 * time.Second},
		{"poll_interval", c.PollInterval, 200 * time.Millisecond},
		{"redeliver_interval", c.RedeliverInterval, 5 * time.Minute},
		{"redeliver_lookback", c.RedeliverLookback, 6 * time.Hour},
		{"shutdown_timeout", c.ShutdownTimeout, 25 * time.Second},
		{"comment_on", c.CommentOn, CommentOnDeny},
		{"approve_permission", c.ApprovePermission, "maintain"},
		{"approval_expiry", c.ApprovalExpiry, time.Duration(0)},
		{"max body bytes", c.MaxBodyBytes, int64(25 << 20)},
		{"large bodies", c.LargeBodies, 2},
		{"facts cache entries", c.FactsCacheEntries, 1024},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.key, tc.got, tc.want)
		}
	}
	if c.EvalConcurrency < 1 {
		t.Errorf("eval concurrency %d, want at least 1", c.EvalConcurrency)
	}
}

// TestConfigZero: a zero is a value. For cancel_escalation_delay and
// redeliver_interval it means never (no force-cancel, no periodic sweep);
// elsewhere it means nothing and is refused, naming the key.
func TestConfigZero(t *testing.T) {
	for _, tc := range []struct {
		key  string
		set  func(*Config)
		want string // "" when accepted
	}{
		{"cancel_escalation_delay", func(c *Config) { c.CancelEscalationDelay = 0 }, ""},
		{"redeliver_interval", func(c *Config) { c.RedeliverInterval = 0 }, ""},
		{"approval_expiry", func(c *Config) { c.ApprovalExpiry = 0 }, ""},
		{"eval_timeout", func(c *Config) { c.EvalTimeout = 0 }, "eval_timeout 0s: must be positive"},
		{"retry_base", func(c *Config) { c.RetryBase = 0 }, "retry_base 0s: must be positive"},
		{"job_timeout", func(c *Config) { c.JobTimeout = 0 }, "job_timeout 0s: must be positive"},
		{"poll_interval", func(c *Config) { c.PollInterval = 0 }, "poll_interval 0s: must be positive"},
		{"redeliver_lookback", func(c *Config) { c.RedeliverLookback = 0 }, "redeliver_lookback 0s: must be positive"},
		{"shutdown_timeout", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout 0s: must be positive"},
		{"workers", func(c *Config) { c.Workers = 0 }, "workers 0: want 1 to 1000"},
		{"judge_attempts", func(c *Config) { c.JudgeAttempts = 0 }, "judge_attempts 0: want 1 to 100"},
		{"max_attempts", func(c *Config) { c.MaxAttempts = 0 }, "max_attempts 0: want 1 to 100"},
		{"on_error", func(c *Config) { c.OnError = "" }, `on_error "": want allow or cancel`},
		{"max body bytes", func(c *Config) { c.MaxBodyBytes = 0 }, "max body bytes 0: must be positive"},
	} {
		c := DefaultConfig()
		tc.set(&c)
		err := c.Check()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s 0: refused (%v), want never", tc.key, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%s 0: %v, want %q", tc.key, err, tc.want)
		}
	}
	if jobs := periodicJobs(0); len(jobs) != 0 {
		t.Errorf("redeliver_interval 0 schedules %d sweeps, want none", len(jobs))
	}
	if jobs := periodicJobs(DefaultConfig().RedeliverInterval); len(jobs) != 1 {
		t.Errorf("the default redeliver_interval schedules %d sweeps, want one", len(jobs))
	}
	// An Options without a Config is not a server with defaults.
	_, err := New(context.Background(), Options{Secret: []byte("s")})
	if err == nil || !strings.Contains(err.Error(), "on_error") {
		t.Errorf("New with a zero Config: %v, want it refused", err)
	}
}

// TestConfigWhole: settings that cannot run together are refused, not
// adjusted.
func TestConfigWhole(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"judge_attempts over max_attempts", func(c *Config) { c.JudgeAttempts, c.MaxAttempts = 12, 10 },
			"judge_attempts 12: must not exceed max_attempts 10"},
		{"retry_max under retry_base", func(c *Config) { c.RetryBase, c.RetryMax = time.Minute, time.Second },
			"retry_max 1s: must not be shorter than retry_base 1m0s"},
		{"eval_timeout near job_timeout", func(c *Config) { c.EvalTimeout = 30 * time.Second },
			"eval_timeout 30s: must be at most a third of job_timeout 1m0s"},
		{"rescue_after within job_timeout", func(c *Config) { c.RescueAfter = 30 * time.Second },
			"rescue_after 30s: must be longer than job_timeout 1m0s"},
		{"lookback past GitHub's", func(c *Config) { c.RedeliverLookback = 100 * time.Hour },
			"redeliver_lookback 100h0m0s: at most 72h0m0s, as long as GitHub keeps deliveries"},
		{"negative", func(c *Config) { c.CancelEscalationDelay = -time.Second }, "cancel_escalation_delay -1s: must not be negative"},
		{"comment_on", func(c *Config) { c.CommentOn = "always" }, `comment_on "always": want deny, findings or never`},
		{"comment_on empty", func(c *Config) { c.CommentOn = "" }, `comment_on "": want deny, findings or never`},
		{"approve_permission", func(c *Config) { c.ApprovePermission = "owner" },
			`approve_permission "owner": want one of read, triage, write, maintain, admin`},
	} {
		c := DefaultConfig()
		tc.set(&c)
		if err := c.Check(); err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestConfigFollow: eval_timeout and rescue_after follow a job_timeout
// given without them, and keep what is given.
func TestConfigFollow(t *testing.T) {
	c := DefaultConfig()
	c.JobTimeout = 3 * time.Second
	c.Follow(func(string) bool { return false })
	if c.EvalTimeout != time.Second || c.RescueAfter != 33*time.Second {
		t.Errorf("job_timeout 3s: eval_timeout %s, rescue_after %s; want 1s, 33s", c.EvalTimeout, c.RescueAfter)
	}
	c = DefaultConfig()
	c.JobTimeout, c.EvalTimeout, c.RescueAfter = 2*time.Minute, 7*time.Second, 5*time.Minute
	c.Follow(func(key string) bool { return key == "eval_timeout" || key == "rescue_after" })
	if c.EvalTimeout != 7*time.Second || c.RescueAfter != 5*time.Minute {
		t.Errorf("given: eval_timeout %s, rescue_after %s; want them kept", c.EvalTimeout, c.RescueAfter)
	}
}
