package bundles

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/keys"

	"github.com/runpolicy/runpolicy/engine"
)

// Limits that keep a hostile or mistaken source from exhausting memory.
const (
	// MaxBundleBytes bounds a bundle's total uncompressed size, and the
	// size of a downloaded or read .tar.gz.
	MaxBundleBytes = 64 << 20
	// MaxBundleFiles bounds how many bundle files one source may hold.
	MaxBundleFiles = 10000
)

// keyID is the single key a source verifies with. Setting it in the
// verification config makes OPA use that key whatever "kid" the signer put
// in the token, as OPA's own keyid setting does.
const keyID = "runpolicy"

// snapshot is one read of a source: its version (what the next check
// compares against) and its bundle, with the bundle's tests kept apart so
// they are run before activation but never loaded into the engine.
type snapshot struct {
	version string
	bundle  *bundle.Bundle
	tests   []bundle.ModuleFile
	// where locates data paths in the bundle's data files, for errors.
	where engine.Locator
}

// isBundleFile reports whether a file belongs in a bundle read from a
// directory or a git tree: Rego, data documents, the manifest and the
// signatures. Everything else (READMEs, CI files) is left out of an
// unsigned bundle.
func isBundleFile(name string) bool {
	base := path.Base(name)
	switch {
	case strings.HasSuffix(base, bundle.RegoExt):
		return true
	case base == "data.json" || bundle.IsYAMLDataFile(base):
		return true
	case base == ".manifest" || base == signaturesFile:
		return true
	}
	return false
}

const signaturesFile = ".signatures.json"

// keep reports whether the file at slash path p is read into the bundle.
// A signed bundle keeps every file, as OPA's own directory loader does and
// as `opa sign` hashes them: dropping one would fail verification. An
// unsigned one keeps only bundle files outside hidden folders (.github).
func keep(p string, signed bool) bool {
	if signed {
		return true
	}
	return isBundleFile(p) && !hiddenDir(p)
}

// hiddenDir reports whether a slash path lies in a hidden folder.
func hiddenDir(p string) bool {
	dirs := strings.Split(p, "/")
	for _, d := range dirs[:len(dirs)-1] {
		if strings.HasPrefix(d, ".") {
			return true
		}
	}
	return false
}

// fileSet collects a bundle's files while enforcing the limits.
type fileSet struct {
	files map[string][]byte
	total int64
}

func newFileSet() *fileSet { return &fileSet{files: map[string][]byte{}} }

// add reads one file of size bytes from r.
func (s *fileSet) add(name string, size int64, r io.Reader) error {
	if len(s.files) >= MaxBundleFiles {
		return fmt.Errorf("more than %d bundle files", MaxBundleFiles)
	}
	if s.total+size > MaxBundleBytes {
		return fmt.Errorf("bundle files exceed %d bytes", MaxBundleBytes)
	}
	b, err := io.ReadAll(io.LimitReader(r, size+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) != size {
		return fmt.Errorf("read %s: size changed while reading", name)
	}
	s.total += size
	s.files[name] = b
	return nil
}

// digest identifies the files' content, so an unchanged directory is
// recognised without parsing it.
func (s *fileSet) digest() string {
	names := make([]string, 0, len(s.files))
	for n := range s.files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(s.files[n]))
		h.Write(s.files[n])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// read parses the files as an OPA bundle.
func (s *fileSet) read(vc *bundle.VerificationConfig) (*bundle.Bundle, error) {
	// The files sit under a folder, not at the root: OPA's FS loader
	// trims a root of "." off ".signatures.json", losing the signatures.
	const root = "bundle"
	if len(s.files) == 0 {
		return nil, errors.New("holds no policy: no .rego, data.json or data.yaml file")
	}
	fsys := fstest.MapFS{}
	for n, b := range s.files {
		fsys[root+"/"+n] = &fstest.MapFile{Data: b, Mode: 0o644}
	}
	loader := bundle.NewFSLoaderWithRoot(fsys, root)
	return readBundle(bundle.NewCustomReader(loader), vc)
}

// locator finds data paths in the set's data files (see engine.Locate).
func (s *fileSet) locator() engine.Locator {
	return dataLocator(s.files)
}

// dataLocator locates data paths in the data files among files (slash
// paths to contents): a/b/data.yaml holds data.a.b.
func dataLocator(files map[string][]byte) engine.Locator {
	names := make([]string, 0, len(files))
	for n := range files {
		if base := path.Base(n); base == "data.json" || bundle.IsYAMLDataFile(base) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	dfs := make([]engine.DataFile, 0, len(names))
	for _, n := range names {
		var prefix []string
		if dir := path.Dir(strings.TrimPrefix(n, "/")); dir != "." {
			prefix = strings.Split(dir, "/")
		}
		dfs = append(dfs, engine.DataFile{Name: n, Prefix: prefix, Src: files[n]})
	}
	return engine.Locate(dfs...)
}

// tarballData reads the data files of a .tar.gz bundle (already bounded by
// readTarball) for dataLocator; nil when the archive does not read.
func tarballData(data []byte) map[string][]byte {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err != nil {
			return out
		}
		base := path.Base(h.Name)
		if h.Typeflag != tar.TypeReg || (base != "data.json" && !bundle.IsYAMLDataFile(base)) {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, MaxBundleBytes))
		if err != nil {
			return out
		}
		out[strings.TrimPrefix(path.Clean("/"+h.Name), "/")] = b
	}
}

// readTarball parses a .tar.gz bundle. The archive is decompressed once
// first to bound its uncompressed size: OPA's reader limits each file, not
// the sum.
func readTarball(data []byte, vc *bundle.VerificationConfig) (*bundle.Bundle, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not a .tar.gz bundle: %w", err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, MaxBundleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("not a .tar.gz bundle: %w", err)
	}
	if n > MaxBundleBytes {
		return nil, fmt.Errorf("bundle exceeds %d bytes uncompressed", MaxBundleBytes)
	}
	return readBundle(bundle.NewReader(bytes.NewReader(data)), vc)
}

// CheckTarball reads an uploaded .tar.gz bundle as a source would, without
// compiling or loading it: the error says why it cannot be a bundle at all.
func CheckTarball(data []byte) error {
	_, err := readTarball(data, nil)
	return err
}

func readBundle(r *bundle.Reader, vc *bundle.VerificationConfig) (*bundle.Bundle, error) {
	r = r.WithRegoVersion(ast.RegoV1).
		WithProcessAnnotations(true).
		WithSizeLimitBytes(MaxBundleBytes)
	if vc != nil {
		r = r.WithBundleVerificationConfig(vc)
	} else {
		// No key configured: a signed bundle loads unverified, as an
		// unsigned one does, instead of failing for want of a key.
		r = r.WithSkipBundleVerification(true)
	}
	b, err := r.Read()
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// split moves the bundle's *_test.rego modules out of it: they are run
// before activation, not loaded into the engine.
func split(b *bundle.Bundle, version, revision string) *snapshot {
	s := &snapshot{version: version, bundle: b}
	mods := b.Modules[:0:0]
	for _, m := range b.Modules {
		if strings.HasSuffix(m.Path, "_test.rego") {
			s.tests = append(s.tests, m)
			continue
		}
		mods = append(mods, m)
	}
	b.Modules = mods
	if revision != "" {
		b.Manifest.Revision = revision
	}
	if b.Manifest.Revision == "" {
		b.Manifest.Revision = version
	}
	return s
}

// verification builds OPA's verification config from a public key file
// (PEM public key or certificate). The algorithm follows the key type
// unless alg names one. Nil when no key is configured: signatures are then
// not checked.
func verification(keyFile, alg string) (*bundle.VerificationConfig, error) {
	if keyFile == "" {
		return nil, nil
	}
	pemBytes, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if alg == "" {
		alg, err = keyAlgorithm(pemBytes)
		if err != nil {
			return nil, fmt.Errorf("public key %s: %w", keyFile, err)
		}
	}
	kc, err := keys.NewKeyConfig(keyFile, alg, "")
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", keyFile, err)
	}
	return bundle.NewVerificationConfig(map[string]*bundle.KeyConfig{keyID: kc}, keyID, "", nil), nil
}

// keyAlgorithm picks the JWS algorithm opa sign uses by default for a key
// of this type.
func keyAlgorithm(pemBytes []byte) (string, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return "", errors.New("no PEM block")
	}
	var pub any
	var err error
	switch block.Type {
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	default:
		return "", fmt.Errorf("PEM block %q is not a public key or certificate", block.Type)
	}
	if err != nil {
		return "", err
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RS256", nil
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256:
			return "ES256", nil
		case 384:
			return "ES384", nil
		case 521:
			return "ES512", nil
		}
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", fmt.Errorf("unsupported key type %T", pub)
}
