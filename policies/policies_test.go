package policies

import (
	"context"
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestRego runs every built-in *_test.rego through OPA's tester, type-checked
// against the input schema as `opa test` and `opa check --strict` see them,
// so `go test ./...` fails when a policy test fails.
func TestRego(t *testing.T) {
	ctx := context.Background()
	res, err := loader.NewFileLoader().WithFS(FS()).WithRegoVersion(ast.RegoV1).WithProcessAnnotation(true).
		Filtered([]string{"."}, func(abspath string, info fs.FileInfo, _ int) bool {
			if info.IsDir() {
				return info.Name() == "testdata"
			}
			return !strings.HasSuffix(abspath, ".rego") && !isBundleFile(abspath)
		})
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := Schemas()
	if err != nil {
		t.Fatal(err)
	}
	store, err := res.Store()
	if err != nil {
		t.Fatal(err)
	}
	txn := storage.NewTransactionOrDie(ctx, store, storage.WriteParams)
	defer store.Abort(ctx, txn)
	compiler := ast.NewCompiler().WithSchemas(schemas).WithUseTypeCheckAnnotations(true).WithStrict(true)
	ch, err := tester.NewRunner().SetCompiler(compiler).SetStore(store).SetModules(res.ParsedModules()).RunTests(ctx, txn)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for r := range ch {
		n++
		if r.Error != nil {
			t.Errorf("%s.%s: error: %v", r.Package, r.Name, r.Error)
		} else if r.Fail {
			t.Errorf("%s.%s: FAIL", r.Package, r.Name)
		}
	}
	if n < 50 {
		t.Errorf("ran %d Rego tests, want every policy's tests (at least 50)", n)
	}
}

// TestBundle checks what the binary embeds: every policy, no test, the
// data at the paths the policies read, and a content-derived revision.
func TestBundle(t *testing.T) {
	b, err := Bundle()
	if err != nil {
		t.Fatal(err)
	}
	pkgs := map[string]bool{}
	for _, m := range b.Modules {
		if strings.HasSuffix(m.Path, "_test.rego") {
			t.Errorf("test module %s in the bundle", m.Path)
		}
		if m.Parsed != nil {
			pkgs[m.Parsed.Package.Path.String()] = true
		}
	}
	for _, p := range []string{"compromised_actions", "impostor_commits", "secret_exfiltration", "allowed_actions", "runner_labels", "harden_runner", "workflow_syntax", "vulnerable_actions"} {
		if !pkgs["data.runpolicy.policies."+p] {
			t.Errorf("policy %s missing from the bundle (have %v)", p, pkgs)
		}
	}
	runpolicy, _ := b.Data["runpolicy"].(map[string]any)
	for _, key := range []string{"settings", "compromised", "vulnerable"} {
		if _, ok := runpolicy[key].(map[string]any); !ok {
			t.Errorf("data.runpolicy.%s missing from the bundle", key)
		}
	}
	again, err := Bundle()
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Revision == "" || b.Manifest.Revision != again.Manifest.Revision || !strings.HasPrefix(b.Manifest.Revision, "builtin-") {
		t.Errorf("revision %q / %q: want a stable builtin-<digest>", b.Manifest.Revision, again.Manifest.Revision)
	}
}

// Every entry of the built-in compromised list says where it comes from,
// and every commit it lists is named by one of its sources: a commit listed
// on no one's word would block runs nobody can explain.
func TestCompromisedListSources(t *testing.T) {
	raw, err := files.ReadFile("data.json")
	if err != nil {
		t.Fatal(err)
	}
	var data struct {
		Runpolicy struct {
			Compromised struct {
				Actions map[string]struct {
					Commits map[string]bool `json:"commits"`
					Sources []struct {
						URL     string   `json:"url"`
						Commits []string `json:"commits"`
					} `json:"sources"`
				} `json:"actions"`
				Commits map[string]string `json:"commits"`
			} `json:"compromised"`
		} `json:"runpolicy"`
	}
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	list := data.Runpolicy.Compromised
	if len(list.Actions) == 0 {
		t.Fatal("no compromised list in data.json")
	}
	for name, e := range list.Actions {
		if len(e.Sources) == 0 {
			t.Errorf("%s: no sources", name)
		}
		named := map[string]bool{}
		for _, s := range e.Sources {
			if !strings.HasPrefix(s.URL, "https://") {
				t.Errorf("%s: source %q is not an https:// address", name, s.URL)
			}
			for _, c := range s.Commits {
				if !e.Commits[c] {
					t.Errorf("%s: source %s names commit %s, which the entry does not list", name, s.URL, c)
				}
				named[c] = true
			}
		}
		for c := range e.Commits {
			if !named[c] {
				t.Errorf("%s: commit %s is named by no source", name, c)
			}
			if list.Commits[c] != name {
				t.Errorf("%s: commit %s is indexed under %q", name, c, list.Commits[c])
			}
		}
	}
	for c, name := range list.Commits {
		if !list.Actions[name].Commits[c] {
			t.Errorf("commits[%s] = %s, whose entry does not list it", c, name)
		}
	}
	// e6c2c5e3 is an ordinary commit of setup-trivy's main branch that the
	// fixed trivy-action v0.35.0 pins (test/testdata/corpus/SOURCES.md).
	if name, ok := list.Commits["e6c2c5e321ed9123bda567646e2f96565e34abe1"]; ok {
		t.Errorf("setup-trivy's e6c2c5e3, pinned by trivy-action v0.35.0, is listed under %s", name)
	}
}
