package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/webhook/github"
	"github.com/runpolicy/runpolicy/webhook/resolve"
)

// resolveFlags are the flags that make eval and input look inside composite
// actions and reusable workflows, and up tags, through the GitHub API.
type resolveFlags struct {
	enabled     bool
	token       string
	apiURL      string
	commitCalls int
}

func (r *resolveFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&r.enabled, "resolve", false, "follow composite actions, reusable workflows and tags through the GitHub API")
	fs.StringVar(&r.token, "github-token", os.Getenv("GITHUB_TOKEN"), "GitHub `TOKEN` for --resolve (default $GITHUB_TOKEN; public repositories work without one, rate-limited)")
	apiURL := os.Getenv("GITHUB_API_URL")
	if apiURL == "" {
		apiURL = github.DefaultAPIURL
	}
	fs.StringVar(&r.apiURL, "github-api-url", apiURL, "GitHub REST API `URL` (GitHub Enterprise Server: https://HOST/api/v3)")
	fs.IntVar(&r.commitCalls, "resolve-max-commit-calls", resolve.DefaultMaxCommitCalls, "API `CALLS` one impostor-commit check may make before it reports the commit unverified")
}

// resolver returns nil when --resolve is off.
func (r *resolveFlags) resolver() (*resolve.Resolver, error) {
	if !r.enabled {
		return nil, nil
	}
	client, err := github.NewTokenClient(r.apiURL, r.token)
	if err != nil {
		return nil, err
	}
	return resolve.New(localFetcher{remote: client}, resolve.WithMaxCommitCalls(r.commitCalls)), nil
}

// localFetcher serves the run's own repository from the working tree when
// there is no real run (no --event): the resolver asks for local/local at
// HEAD, and `./` actions live beside the workflow. Everything else goes to GitHub.
type localFetcher struct {
	remote resolve.RefFetcher
}

// localRoot is the ctx key of the checkout root of the workflow being judged.
type localRoot struct{}

func (f localFetcher) Content(ctx context.Context, owner, repo, path, ref string) ([]byte, error) {
	root, ok := ctx.Value(localRoot{}).(string)
	if !ok || owner != "local" || repo != "local" {
		return f.remote.Content(ctx, owner, repo, path, ref)
	}
	b, err := readFile(filepath.Join(root, filepath.FromSlash(path)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s in the working tree: %w", path, resolve.ErrNotFound)
	}
	return b, err
}

func (f localFetcher) CommitSHA(ctx context.Context, owner, repo, ref string) (string, error) {
	if _, ok := ctx.Value(localRoot{}).(string); ok && owner == "local" && repo == "local" {
		return "", fmt.Errorf("local/local@%s: %w", ref, resolve.ErrNotFound)
	}
	return f.remote.CommitSHA(ctx, owner, repo, ref)
}

func (f localFetcher) local(ctx context.Context, owner, repo string) bool {
	_, ok := ctx.Value(localRoot{}).(string)
	return ok && owner == "local" && repo == "local"
}

func (f localFetcher) Branches(ctx context.Context, owner, repo string, page int) ([]resolve.Ref, int, error) {
	if f.local(ctx, owner, repo) {
		return nil, 0, fmt.Errorf("local/local branches: %w", resolve.ErrNotFound)
	}
	return f.remote.Branches(ctx, owner, repo, page)
}

func (f localFetcher) Tags(ctx context.Context, owner, repo string, page int) ([]resolve.Ref, int, error) {
	if f.local(ctx, owner, repo) {
		return nil, 0, fmt.Errorf("local/local tags: %w", resolve.ErrNotFound)
	}
	return f.remote.Tags(ctx, owner, repo, page)
}

func (f localFetcher) Compare(ctx context.Context, owner, repo, base, head string) (string, error) {
	if f.local(ctx, owner, repo) {
		return "", fmt.Errorf("local/local compare: %w", resolve.ErrNotFound)
	}
	return f.remote.Compare(ctx, owner, repo, base, head)
}

// resolveDocument follows the document's references. Local references of a
// command-line run are read from the checkout that holds the workflow.
func resolveDocument(ctx context.Context, r *resolve.Resolver, doc *input.Document, workflowPath string) (*input.Document, error) {
	if doc.Repository.FullName == "local/local" {
		ctx = context.WithValue(ctx, localRoot{}, checkoutRoot(workflowPath))
	}
	out, err := r.Resolve(ctx, doc)
	if err != nil {
		return nil, fmt.Errorf("%s: resolve: %s", workflowPath, oneLine(err))
	}
	return out, nil
}

// checkoutRoot is the folder that holds the workflow's .github folder, or
// the current directory for a workflow that lives elsewhere.
func checkoutRoot(workflowPath string) string {
	abs, err := filepath.Abs(workflowPath)
	if err != nil {
		return "."
	}
	for dir := filepath.Dir(abs); dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if filepath.Base(dir) == ".github" {
			return filepath.Dir(dir)
		}
	}
	return "."
}
