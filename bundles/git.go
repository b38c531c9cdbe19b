package bundles

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/open-policy-agent/opa/v1/bundle"
)

// commitSHA matches a full commit SHA given as ref: it never moves, so it is
// fetched once and never polled.
var commitSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// gitSource reads a bundle from a git repository with go-git, no git binary.
//
// A remote is checked with an ls-remote (remote.List) and fetched only when
// the ref moved: shallow, into memory, and dropped once the bundle is
// read. A local repository (a path or file://) is opened in place. Either
// way the bundle's revision is the commit SHA.
type gitSource struct {
	cfg    SourceConfig
	local  string // repository path for file:// and local paths
	verify *bundle.VerificationConfig
	tokens TokenSource
	ssh    transport.AuthMethod // ssh:// and scp-style remotes
}

func newGitSource(cfg SourceConfig, vc *bundle.VerificationConfig, tokens TokenSource) (*gitSource, error) {
	ep, err := transport.NewEndpoint(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("bundle source %s: git url %q: %w", cfg.Name, redact(cfg.URL), err)
	}
	g := &gitSource{cfg: cfg, verify: vc, tokens: tokens}
	switch ep.Protocol {
	case "file":
		g.local = ep.Path
	case "ssh":
		if g.ssh, err = sshAuth(cfg, ep.User); err != nil {
			return nil, fmt.Errorf("bundle source %s: %w", cfg.Name, err)
		}
	case "http", "https":
		if cfg.TokenFromApp && tokens == nil {
			return nil, fmt.Errorf("bundle source %s: token_from_app needs the server's GitHub App", cfg.Name)
		}
	}
	return g, nil
}

// sshAuth reads the private key and known hosts once, so a bad file fails
// at startup rather than at the first poll.
func sshAuth(cfg SourceConfig, user string) (transport.AuthMethod, error) {
	if user == "" {
		user = "git"
	}
	var hosts []string
	if cfg.KnownHostsFile != "" {
		hosts = append(hosts, cfg.KnownHostsFile)
	}
	if cfg.SSHKeyFile == "" {
		return nil, nil // go-git falls back to the ssh agent and the default known_hosts
	}
	keys, err := gitssh.NewPublicKeysFromFile(user, cfg.SSHKeyFile, "")
	if err != nil {
		return nil, fmt.Errorf("ssh key %s: %w", cfg.SSHKeyFile, err)
	}
	cb, err := gitssh.NewKnownHostsCallback(hosts...)
	if err != nil {
		return nil, fmt.Errorf("known hosts: %w", err)
	}
	keys.HostKeyCallback = cb
	return keys, nil
}

func (g *gitSource) auth(ctx context.Context) (transport.AuthMethod, error) {
	if g.ssh != nil {
		return g.ssh, nil
	}
	token, err := sourceToken(ctx, g.cfg, g.tokens)
	if err != nil || token == "" {
		return nil, err
	}
	// GitHub takes installation and personal tokens as the password of
	// any user; x-access-token is what its own tooling sends.
	return &githttp.BasicAuth{Username: "x-access-token", Password: token}, nil
}

func (g *gitSource) fetch(ctx context.Context, known string) (string, *snapshot, error) {
	var commit *object.Commit
	var err error
	if g.local != "" {
		commit, err = g.localCommit(known)
	} else {
		commit, err = g.remoteCommit(ctx, known)
	}
	if err != nil {
		return "", nil, err
	}
	if commit == nil {
		return known, nil, nil
	}
	sha := commit.Hash.String()
	files, err := commitFiles(commit, g.cfg.Subdir)
	if err != nil {
		return sha, nil, fmt.Errorf("commit %s: %w", sha, err)
	}
	b, err := files.read(g.verify)
	if err != nil {
		return sha, nil, fmt.Errorf("commit %s: %w", sha, err)
	}
	return sha, split(b, sha, sha), nil
}

// localCommit resolves the ref in a repository on disk; nil when it still
// points at known.
func (g *gitSource) localCommit(known string) (*object.Commit, error) {
	repo, err := git.PlainOpen(g.local)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", g.local, err)
	}
	var hash plumbing.Hash
	switch ref := g.cfg.Ref; {
	case ref == "":
		head, err := repo.Head()
		if err != nil {
			return nil, fmt.Errorf("%s: HEAD: %w", g.local, err)
		}
		hash = head.Hash()
	case commitSHA.MatchString(ref):
		hash = plumbing.NewHash(ref)
	default:
		h, err := repo.ResolveRevision(plumbing.Revision(ref))
		if err != nil {
			return nil, fmt.Errorf("%s: ref %q: %w", g.local, ref, err)
		}
		hash = *h
	}
	if hash.String() == known {
		return nil, nil
	}
	c, err := repo.CommitObject(hash)
	if err != nil {
		return nil, fmt.Errorf("%s: commit %s: %w", g.local, hash, err)
	}
	return c, nil
}

// remoteCommit lists the remote's refs, and fetches the commit when the
// ref no longer points at known.
func (g *gitSource) remoteCommit(ctx context.Context, known string) (*object.Commit, error) {
	auth, err := g.auth(ctx)
	if err != nil {
		return nil, err
	}
	url := redact(g.cfg.URL)
	if commitSHA.MatchString(g.cfg.Ref) {
		if g.cfg.Ref == known {
			return nil, nil
		}
		return g.fetchCommit(ctx, auth, "", plumbing.NewHash(g.cfg.Ref))
	}
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{g.cfg.URL}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth, PeelingOption: git.AppendPeeled})
	if err != nil {
		return nil, fmt.Errorf("list refs of %s: %w", url, err)
	}
	name, hash, err := resolveRef(refs, g.cfg.Ref)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	if hash.String() == known {
		return nil, nil
	}
	return g.fetchCommit(ctx, auth, name, hash)
}

// resolveRef finds ref (empty: the remote's HEAD) among the advertised
// refs: a full ref name, then a branch, then a tag. It returns the ref's
// name and the commit it points at (annotated tags peeled).
func resolveRef(refs []*plumbing.Reference, ref string) (plumbing.ReferenceName, plumbing.Hash, error) {
	byName := map[plumbing.ReferenceName]*plumbing.Reference{}
	for _, r := range refs {
		byName[r.Name()] = r
	}
	var candidates []plumbing.ReferenceName
	if ref == "" {
		head, ok := byName[plumbing.HEAD]
		if !ok {
			return "", plumbing.ZeroHash, errors.New("remote advertises no HEAD; set ref")
		}
		if head.Type() == plumbing.SymbolicReference {
			candidates = []plumbing.ReferenceName{head.Target()}
		} else {
			for _, r := range refs { // HEAD without its symref: the branch it points at
				if r.Name().IsBranch() && r.Hash() == head.Hash() {
					candidates = append(candidates, r.Name())
				}
			}
		}
	} else {
		if strings.HasPrefix(ref, "refs/") {
			candidates = append(candidates, plumbing.ReferenceName(ref))
		}
		candidates = append(candidates, plumbing.NewBranchReferenceName(ref), plumbing.NewTagReferenceName(ref))
	}
	for _, name := range candidates {
		r, ok := byName[name]
		if !ok || r.Type() != plumbing.HashReference {
			continue
		}
		if peeled, ok := byName[plumbing.ReferenceName(string(name)+"^{}")]; ok {
			return name, peeled.Hash(), nil
		}
		return name, r.Hash(), nil
	}
	if ref == "" {
		ref = "HEAD"
	}
	return "", plumbing.ZeroHash, fmt.Errorf("ref %q not found", ref)
}

// fetchCommit fetches one commit into memory: the ref name shallow, or an
// exact SHA when name is empty. Servers that cannot serve a shallow or
// exact-SHA fetch get a full fetch instead.
func (g *gitSource) fetchCommit(ctx context.Context, auth transport.AuthMethod, name plumbing.ReferenceName, want plumbing.Hash) (*object.Commit, error) {
	const local = plumbing.ReferenceName("refs/runpolicy/fetched")
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", name, local))
	if name == "" {
		spec = config.RefSpec(fmt.Sprintf("%s:%s", want, local))
	}
	repo, err := g.fetchInto(ctx, auth, []config.RefSpec{spec}, 1)
	if err != nil && fallbackToFull(err) {
		repo, err = g.fetchInto(ctx, auth, []config.RefSpec{spec}, 0)
		if errors.Is(err, git.ErrExactSHA1NotSupported) {
			repo, err = g.fetchInto(ctx, auth, []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"}, 0)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("fetch %s from %s: %w", refOrHash(name, want), redact(g.cfg.URL), err)
	}
	hash := want
	if name != "" {
		// The ref may have moved since it was listed: read what was fetched.
		r, err := repo.Reference(local, true)
		if err != nil {
			return nil, fmt.Errorf("fetch %s from %s: %w", name, redact(g.cfg.URL), err)
		}
		hash = r.Hash()
		if tag, err := repo.TagObject(hash); err == nil {
			c, err := tag.Commit()
			if err != nil {
				return nil, fmt.Errorf("tag %s: %w", name, err)
			}
			return c, nil
		}
	}
	c, err := repo.CommitObject(hash)
	if err != nil {
		return nil, fmt.Errorf("commit %s from %s: %w", hash, redact(g.cfg.URL), err)
	}
	return c, nil
}

func (g *gitSource) fetchInto(ctx context.Context, auth transport.AuthMethod, specs []config.RefSpec, depth int) (*git.Repository, error) {
	repo, err := git.Init(memory.NewStorage(), nil)
	if err != nil {
		return nil, err
	}
	remote, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{g.cfg.URL}})
	if err != nil {
		return nil, err
	}
	err = remote.FetchContext(ctx, &git.FetchOptions{RefSpecs: specs, Depth: depth, Auth: auth, Tags: git.NoTags})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, err
	}
	return repo, nil
}

// fallbackToFull reports whether a failed shallow or exact-SHA fetch is
// worth one full fetch: servers that cannot serve those (go-git's own,
// some mirrors) fail in ways that differ from server to server, so any
// failure counts except the ones a full fetch would share.
func fallbackToFull(err error) bool {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrRepositoryNotFound):
		return false
	}
	return true
}

func refOrHash(name plumbing.ReferenceName, h plumbing.Hash) string {
	if name != "" {
		return string(name)
	}
	return h.String()
}

// commitFiles reads the bundle files under subdir of a commit's tree.
// Symlinks and submodules are skipped: a bundle is what the tree holds.
func commitFiles(c *object.Commit, subdir string) (*fileSet, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, err
	}
	if subdir != "" {
		if tree, err = tree.Tree(subdir); err != nil {
			return nil, fmt.Errorf("subdir %q: %w", subdir, err)
		}
	}
	_, err = tree.File(signaturesFile)
	signed := err == nil
	files := newFileSet()
	err = tree.Files().ForEach(func(f *object.File) error {
		if f.Mode != filemode.Regular && f.Mode != filemode.Executable {
			return nil
		}
		if !keep(f.Name, signed) {
			return nil
		}
		r, err := f.Reader()
		if err != nil {
			return fmt.Errorf("read %s: %w", f.Name, err)
		}
		defer r.Close()
		return files.add(f.Name, f.Size, r)
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}
