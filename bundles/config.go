package bundles

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/runpolicy/runpolicy/engine"
)

// UnmarshalJSON reads a source from JSON, or from YAML converted to JSON
// (sigs.k8s.io/yaml): interval may be a duration string such as "30s", and
// an unknown key is an error so a typo does not silently drop a setting.
func (c *SourceConfig) UnmarshalJSON(data []byte) error {
	type plain SourceConfig
	var raw struct {
		plain
		Interval json.RawMessage `json:"interval,omitempty"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("bundle source: %w", err)
	}
	*c = SourceConfig(raw.plain)
	if len(raw.Interval) == 0 || string(raw.Interval) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw.Interval, &s); err == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("bundle source %s: interval: %w", c.Name, err)
		}
		c.Interval = d
		return nil
	}
	var ns int64
	if err := json.Unmarshal(raw.Interval, &ns); err != nil {
		return fmt.Errorf("bundle source %s: interval %s: want a duration such as \"30s\"", c.Name, raw.Interval)
	}
	c.Interval = time.Duration(ns)
	return nil
}

// normalize fills defaults (type, interval) and checks what can be checked
// without touching the source.
func (c SourceConfig) normalize() (SourceConfig, error) {
	if c.Name == "" {
		return c, errors.New("bundle source: name is required")
	}
	if c.Name == engine.BuiltinName {
		return c, fmt.Errorf("bundle source %s: the name is reserved for the built-in bundle", c.Name)
	}
	fail := func(format string, args ...any) (SourceConfig, error) {
		return c, fmt.Errorf("bundle source %s: %s", c.Name, fmt.Sprintf(format, args...))
	}
	if c.URL == "" {
		return fail("url is required")
	}
	if c.Type == "" {
		c.Type = guessType(c.URL)
	}
	switch c.Type {
	case TypeDir, TypeTarball, TypeHTTP:
		if c.Ref != "" || c.Subdir != "" {
			return fail("ref and subdir apply to git sources only")
		}
		if c.SSHKeyFile != "" || c.KnownHostsFile != "" {
			return fail("ssh_key_file and known_hosts_file apply to git sources only")
		}
	case TypeGit:
		if _, err := transport.NewEndpoint(c.URL); err != nil {
			return fail("git url %q: %v", redact(c.URL), err)
		}
		if strings.Contains(c.Subdir, "..") {
			return fail("subdir %q must stay inside the repository", c.Subdir)
		}
		c.Subdir = strings.Trim(c.Subdir, "/")
	default:
		return fail("unknown type %q (want dir, tarball, git or http)", c.Type)
	}
	if c.Type == TypeHTTP && !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		return fail("http source url %q must start with http:// or https://", redact(c.URL))
	}
	if c.Interval < 0 {
		return fail("interval %s is negative", c.Interval)
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if len(c.RedirectHosts) > 0 && c.Type != TypeHTTP {
		return fail("redirect_hosts applies to http sources only")
	}
	if c.Token != "" && c.TokenFromApp {
		return fail("token and token_from_app exclude each other")
	}
	if c.TokenFromApp && c.Type != TypeGit && c.Type != TypeHTTP {
		return fail("token_from_app applies to git and http sources only")
	}
	if c.TokenFromApp && c.Repository == "" {
		c.Repository = repoFromURL(c.URL)
		if c.Repository == "" {
			return fail("token_from_app needs repository (owner/name)")
		}
	}
	if c.Repository != "" {
		if owner, name, ok := strings.Cut(c.Repository, "/"); !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return fail("repository %q is not owner/name", c.Repository)
		}
	}
	return c, nil
}

// Kind is the source's type: Type, or the one its URL implies.
func (c SourceConfig) Kind() string {
	if c.Type != "" {
		return c.Type
	}
	return guessType(c.URL)
}

// guessType infers a source's type from its location.
func guessType(loc string) string {
	switch {
	case strings.HasPrefix(loc, "http://"), strings.HasPrefix(loc, "https://"):
		if strings.HasSuffix(strings.TrimSuffix(loc, "/"), ".git") {
			return TypeGit
		}
		return TypeHTTP
	case strings.HasPrefix(loc, "ssh://"), strings.HasPrefix(loc, "git://"), strings.HasPrefix(loc, "file://"):
		return TypeGit
	case strings.HasSuffix(loc, ".tar.gz"), strings.HasSuffix(loc, ".tgz"):
		return TypeTarball
	case isSCP(loc):
		return TypeGit
	}
	return TypeDir
}

// isSCP reports whether loc is scp-style: user@host:path.
func isSCP(loc string) bool {
	at := strings.Index(loc, "@")
	colon := strings.Index(loc, ":")
	slash := strings.Index(loc, "/")
	return at > 0 && colon > at && (slash < 0 || colon < slash)
}

// repoFromURL returns owner/name from a git or GitHub URL, or "".
func repoFromURL(loc string) string {
	var p string
	if isSCP(loc) {
		_, p, _ = strings.Cut(loc, ":")
	} else if u, err := url.Parse(loc); err == nil {
		p = u.Path
	}
	parts := strings.Split(strings.Trim(strings.TrimSuffix(strings.Trim(p, "/"), ".git"), "/"), "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[len(parts)-2] + "/" + parts[len(parts)-1]
}

// redact drops credentials from a URL before it is logged or shown: the
// password of its userinfo, and the values of query parameters that carry
// credentials (?token=, presigned S3, GCS and Azure SAS signatures, …).
func redact(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		if i := strings.IndexAny(loc, "?#"); i >= 0 {
			return loc[:i] + "?REDACTED" // unparsable: keep no part of the query
		}
		return loc
	}
	changed := false
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.User(u.User.Username())
			changed = true
		}
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			u.RawQuery, changed = "REDACTED", true
		} else {
			for k := range q {
				if secretParam(k) {
					q[k] = []string{"REDACTED"}
					changed = true
				}
			}
			if changed {
				u.RawQuery = q.Encode()
			}
		}
	}
	if !changed {
		return loc
	}
	return u.String()
}

// secretParam reports whether a query parameter's name says it carries a
// credential.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	if strings.HasPrefix(n, "x-amz-") || strings.HasPrefix(n, "x-goog-") {
		return n != "x-amz-date" && n != "x-amz-expires" && n != "x-goog-date" && n != "x-goog-expires"
	}
	for _, s := range []string{"token", "sig", "key", "secret", "password", "passwd", "pwd", "auth", "credential", "session", "code"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
