package github

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	gh "github.com/google/go-github/v62/github"
)

// MaxFileSize bounds a file read from a repository; workflow and action
// files are far smaller.
const MaxFileSize = 10 << 20

// cacheLimit is the largest file kept in the content cache.
const cacheLimit = 1 << 20

var commitSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// contentKey names a file at a commit as one installation sees it; the
// installation is part of the key so that a private file never reaches
// another installation through the cache.
type contentKey struct {
	installation int64
	repo, path   string
	commit       string
}

// Content returns a file of owner/repo at ref (a commit sha, branch or
// tag); errors.Is(err, ErrNotFound) when it is absent or not visible.
// Files at a commit sha are cached: they cannot change. Files over 1 MB,
// which the contents API sends without their content, are fetched through
// the raw media type.
func (c *Client) Content(ctx context.Context, owner, repo, path, ref string) ([]byte, error) {
	key := contentKey{c.installation, strings.ToLower(owner + "/" + repo), path, ref}
	cacheable := commitSHA.MatchString(ref)
	if cacheable {
		if b, ok := c.app.content.Get(key); ok {
			return b, nil
		}
	}
	b, err := c.fetch(ctx, owner, repo, path, ref)
	if err != nil {
		return nil, err
	}
	if cacheable && len(b) <= cacheLimit {
		c.app.content.Add(key, b)
	}
	return b, nil
}

func (c *Client) fetch(ctx context.Context, owner, repo, path, ref string) ([]byte, error) {
	file, dir, _, err := c.gh.Repositories.GetContents(ctx, owner, repo, path, &gh.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		return nil, wrap(err, "get %s/%s/%s@%s", owner, repo, path, ref)
	}
	if file == nil || dir != nil {
		return nil, fmt.Errorf("get %s/%s/%s@%s: %w (a directory)", owner, repo, path, ref, ErrNotFound)
	}
	if file.GetSize() > MaxFileSize {
		return nil, fmt.Errorf("get %s/%s/%s@%s: %d bytes: %w of %d bytes", owner, repo, path, ref, file.GetSize(), ErrTooLarge, MaxFileSize)
	}
	if file.GetEncoding() == "none" || (file.Content != nil && *file.Content == "" && file.GetSize() > 0) {
		return c.raw(ctx, owner, repo, path, ref)
	}
	s, err := file.GetContent()
	if err != nil {
		return nil, fmt.Errorf("get %s/%s/%s@%s: %w", owner, repo, path, ref, err)
	}
	return []byte(s), nil
}

// raw fetches a file with the raw media type, which serves up to 100 MB.
func (c *Client) raw(ctx context.Context, owner, repo, path, ref string) ([]byte, error) {
	u := fmt.Sprintf("repos/%s/%s/contents/%s?ref=%s", url.PathEscape(owner), url.PathEscape(repo),
		(&url.URL{Path: path}).EscapedPath(), url.QueryEscape(ref))
	req, err := c.gh.NewRequest("GET", u, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s/%s/%s@%s: %w", owner, repo, path, ref, err)
	}
	req.Header.Set("Accept", "application/vnd.github.raw+json")
	var buf limitedBuffer
	buf.limit = MaxFileSize
	if _, err := c.gh.Do(ctx, req, &buf); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("get %s/%s/%s@%s (raw): %w of %d bytes", owner, repo, path, ref, ErrTooLarge, MaxFileSize)
		}
		return nil, wrap(err, "get %s/%s/%s@%s (raw)", owner, repo, path, ref)
	}
	return buf.Bytes(), nil
}

// ErrTooLarge is a file over MaxFileSize: its author's doing, which no
// retry changes.
var ErrTooLarge = errors.New("over the size limit")

type limitedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.limit {
		return 0, ErrTooLarge
	}
	return b.Buffer.Write(p)
}

// CommitSHA returns the commit a ref (branch, tag or sha) points at now.
// It asks GitHub every time, conditionally: the commit it last answered is
// sent as the ETag (If-None-Match), and GitHub's 304 when the ref has not
// moved costs no rate limit. So the resolver can judge each run on what
// its tags point to when it starts, at the price of a round trip.
func (c *Client) CommitSHA(ctx context.Context, owner, repo, ref string) (string, error) {
	key := contentKey{c.installation, strings.ToLower(owner + "/" + repo), "", ref}
	last, _ := c.app.refs.Get(key)
	sha, resp, err := c.gh.Repositories.GetCommitSHA1(ctx, owner, repo, ref, last)
	switch {
	case err != nil && resp != nil && resp.StatusCode == http.StatusNotModified && last != "":
		return last, nil
	case err != nil && resp != nil && resp.StatusCode == http.StatusUnprocessableEntity: // "No commit found for SHA"
		c.app.refs.Remove(key)
		return "", fmt.Errorf("resolve %s/%s@%s: %w", owner, repo, ref, ErrNotFound)
	case err != nil:
		err = wrap(err, "resolve %s/%s@%s", owner, repo, ref)
		if errors.Is(err, ErrNotFound) {
			c.app.refs.Remove(key)
		}
		return "", err
	}
	sha = strings.TrimSpace(sha)
	if commitSHA.MatchString(sha) {
		c.app.refs.Add(key, sha)
	}
	return sha, nil
}
