package webhook

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/runpolicy/runpolicy/github"
)

// On-error choices: what a run gets when it cannot be judged.
const (
	OnErrorAllow  = "allow"
	OnErrorCancel = "cancel"
)

// Comment-on choices: which verdicts get a pull request comment.
const (
	// CommentOnDeny comments when a run is stopped, or has a finding that
	// enforces, or could not be judged; not for dry-run findings alone.
	CommentOnDeny = "deny"
	// CommentOnFindings comments on every verdict with a finding.
	CommentOnFindings = "findings"
	CommentOnNever    = "never"
)

// Config is the server's settings, under the keys of runpolicy serve's
// configuration file (the yaml tags; the fields without one are not in the
// file). DefaultConfig is the one home of their defaults: the file starts
// from it, and so does every Options. A zero is taken as it is: a
// cancel_escalation_delay or redeliver_interval of 0 means never, and
// Check refuses a zero where it means nothing.
type Config struct {
	// OnError is what a run that cannot be judged for a reason outside its
	// author's control gets: OnErrorAllow (default) or OnErrorCancel.
	OnError string `yaml:"on_error"`
	// EvalTimeout bounds one evaluation of the policies on a run's
	// document (default 5s, a third of a shorter JobTimeout), well below
	// the job's timeout: a workflow that makes evaluation run longer is
	// denied, and the evaluation slot it held is free again.
	EvalTimeout time.Duration `yaml:"eval_timeout"`
	// CancelEscalationDelay is how long a cancelled run may stay in
	// progress before it is force-cancelled (default 2m; 0 never).
	CancelEscalationDelay time.Duration `yaml:"cancel_escalation_delay"`
	// Workers is how many jobs of the queue this process works on at once
	// (default 10).
	Workers int `yaml:"workers"`
	// JudgeAttempts is how many times a run is tried before on_error
	// decides it, when GitHub keeps failing (default 5); MaxAttempts bounds
	// the tries of every job (default 12), at least JudgeAttempts.
	JudgeAttempts int `yaml:"judge_attempts"`
	MaxAttempts   int `yaml:"max_attempts"`
	// RetryBase and RetryMax shape the queue's exponential backoff with
	// jitter (defaults 1s and 5m).
	RetryBase time.Duration `yaml:"retry_base"`
	RetryMax  time.Duration `yaml:"retry_max"`
	// JobTimeout bounds one try of a job (default 1m); RescueAfter is when
	// a job left running by a dead replica is taken over (default
	// JobTimeout + 30s).
	JobTimeout  time.Duration `yaml:"job_timeout"`
	RescueAfter time.Duration `yaml:"rescue_after"`
	// PollInterval is how often the queue looks for due jobs (default
	// 200ms).
	PollInterval time.Duration `yaml:"poll_interval"`
	// RedeliverInterval is how often failed deliveries are asked for again
	// (default 5m; 0 never); RedeliverLookback is how far back the first
	// sweep looks (default 6h, at most GitHub's 3 days).
	RedeliverInterval time.Duration `yaml:"redeliver_interval"`
	RedeliverLookback time.Duration `yaml:"redeliver_lookback"`
	// ShutdownTimeout bounds a graceful stop (default 25s).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// CommentOn says which verdicts get a pull request comment:
	// CommentOnDeny (default), CommentOnFindings or CommentOnNever.
	CommentOn string `yaml:"comment_on"`
	// ApprovePermission is the least repository role (read, triage, write,
	// maintain, admin) of who may approve a workflow version from a
	// cancelled run's check run (default maintain).
	ApprovePermission string `yaml:"approve_permission"`
	// ApprovalExpiry is how long an approval from the check run holds
	// (default 0: until revoked).
	ApprovalExpiry time.Duration `yaml:"approval_expiry"`

	// MaxBodyBytes caps a delivery (default 25 MB, GitHub's limit).
	MaxBodyBytes int64 `yaml:"-"`
	// LargeBodies bounds the memory of deliveries over 256 KB being read
	// to this many bodies of MaxBodyBytes (default 2), counted in bytes
	// held, one body's worth per remote address: GitHub's are nearly all
	// smaller.
	LargeBodies int `yaml:"-"`
	// FactsCacheEntries bounds the parsed-workflow cache (default 1024).
	FactsCacheEntries int `yaml:"-"`
	// EvalConcurrency bounds how many runs are normalized and evaluated at
	// once (default: one less than the cores, at least one), so that the
	// workers waiting on GitHub may be many without starving the handler
	// that acknowledges deliveries.
	EvalConcurrency int `yaml:"-"`
}

// Defaults that depend on another setting (Follow).
const (
	defaultEvalTimeout = 5 * time.Second
	rescueMargin       = 30 * time.Second
)

// maxLookback is how far back GitHub keeps an App's deliveries.
const maxLookback = 72 * time.Hour

// DefaultConfig returns every default.
func DefaultConfig() Config {
	c := Config{
		OnError:               OnErrorAllow,
		CancelEscalationDelay: 2 * time.Minute,
		Workers:               10,
		JudgeAttempts:         5,
		MaxAttempts:           12,
		RetryBase:             time.Second,
		RetryMax:              5 * time.Minute,
		JobTimeout:            time.Minute,
		PollInterval:          200 * time.Millisecond,
		RedeliverInterval:     5 * time.Minute,
		RedeliverLookback:     6 * time.Hour,
		ShutdownTimeout:       25 * time.Second,
		CommentOn:             CommentOnDeny,
		ApprovePermission:     "maintain",
		MaxBodyBytes:          25 << 20,
		LargeBodies:           2,
		FactsCacheEntries:     1024,
		EvalConcurrency:       max(1, runtime.GOMAXPROCS(0)-1),
	}
	c.Follow(func(string) bool { return false })
	return c
}

// Follow sets the settings whose default follows job_timeout, for those
// the configuration does not give (given reports whether it names a key):
// eval_timeout is 5s, or a third of a shorter job_timeout, and
// rescue_after is job_timeout + 30s.
func (c *Config) Follow(given func(key string) bool) {
	if !given("eval_timeout") {
		c.EvalTimeout = min(defaultEvalTimeout, c.JobTimeout/3)
	}
	if !given("rescue_after") {
		c.RescueAfter = c.JobTimeout + rescueMargin
	}
}

// Check refuses what the server cannot run with, naming the key: the
// configuration is understood whole or not at all.
func (c *Config) Check() error {
	switch c.OnError {
	case OnErrorAllow, OnErrorCancel:
	default:
		return fmt.Errorf("on_error %q: want allow or cancel", c.OnError)
	}
	switch c.CommentOn {
	case CommentOnDeny, CommentOnFindings, CommentOnNever:
	default:
		return fmt.Errorf("comment_on %q: want deny, findings or never", c.CommentOn)
	}
	if !slices.Contains(github.Roles, c.ApprovePermission) {
		return fmt.Errorf("approve_permission %q: want one of %s", c.ApprovePermission, strings.Join(github.Roles, ", "))
	}
	for _, d := range []struct {
		key         string
		val         time.Duration
		zeroIsNever bool
	}{
		// job_timeout first: eval_timeout and rescue_after may follow it.
		{"job_timeout", c.JobTimeout, false}, {"eval_timeout", c.EvalTimeout, false},
		{"cancel_escalation_delay", c.CancelEscalationDelay, true}, {"retry_base", c.RetryBase, false},
		{"retry_max", c.RetryMax, false}, {"rescue_after", c.RescueAfter, false}, {"poll_interval", c.PollInterval, false},
		{"redeliver_interval", c.RedeliverInterval, true}, {"redeliver_lookback", c.RedeliverLookback, false},
		{"approval_expiry", c.ApprovalExpiry, true},
		{"shutdown_timeout", c.ShutdownTimeout, false},
	} {
		switch {
		case d.val < 0:
			return fmt.Errorf("%s %s: must not be negative", d.key, d.val)
		case d.val == 0 && !d.zeroIsNever:
			return fmt.Errorf("%s %s: must be positive", d.key, d.val)
		}
	}
	for _, n := range []struct {
		key      string
		val, max int
	}{{"workers", c.Workers, 1000}, {"judge_attempts", c.JudgeAttempts, 100}, {"max_attempts", c.MaxAttempts, 100},
		{"large bodies", c.LargeBodies, 1000}, {"facts cache entries", c.FactsCacheEntries, 1 << 20},
		{"eval concurrency", c.EvalConcurrency, 1024}} {
		if n.val < 1 || n.val > n.max {
			return fmt.Errorf("%s %d: want 1 to %d", n.key, n.val, n.max)
		}
	}
	switch {
	case c.JudgeAttempts > c.MaxAttempts:
		return fmt.Errorf("judge_attempts %d: must not exceed max_attempts %d", c.JudgeAttempts, c.MaxAttempts)
	case c.RetryMax < c.RetryBase:
		return fmt.Errorf("retry_max %s: must not be shorter than retry_base %s", c.RetryMax, c.RetryBase)
	case c.PollInterval < time.Millisecond:
		return fmt.Errorf("poll_interval %s: at least 1ms", c.PollInterval)
	case 3*c.EvalTimeout > c.JobTimeout:
		// Judging a run evaluates its document up to twice (direct, then
		// resolved references) besides fetching it: both evaluations must
		// fit in one job with room to spare.
		return fmt.Errorf("eval_timeout %s: must be at most a third of job_timeout %s", c.EvalTimeout, c.JobTimeout)
	case c.RescueAfter <= c.JobTimeout:
		return fmt.Errorf("rescue_after %s: must be longer than job_timeout %s", c.RescueAfter, c.JobTimeout)
	case c.RedeliverLookback > maxLookback:
		return fmt.Errorf("redeliver_lookback %s: at most %s, as long as GitHub keeps deliveries", c.RedeliverLookback, maxLookback)
	case c.MaxBodyBytes < 1:
		return fmt.Errorf("max body bytes %d: must be positive", c.MaxBodyBytes)
	}
	return nil
}
