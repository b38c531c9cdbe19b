package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
	"github.com/runpolicy/runpolicy/policies"
)

func TestDump(t *testing.T) {
	dir := "/tmp/rpb"
	os.MkdirAll(dir, 0o755)
	b, _ := policies.Bundle()
	mods, data, err := engine.Modules([]engine.Bundle{{Name: "builtin", Bundle: b}})
	if err != nil {
		t.Fatal(err)
	}
	c := ast.NewCompiler()
	c.Compile(mods)
	rs, err := rego.New(rego.Query("data.runpolicy.main.prepared"), rego.Compiler(c), rego.Store(inmem.NewFromObject(data))).Eval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	data["runpolicy"].(map[string]any)["prepared"] = rs[0].Expressions[0].Value
	data["runpolicy"].(map[string]any)["packages"] = []string{"allowed_actions", "compromised_actions", "harden_runner", "runner_labels", "secret_exfiltration"}
	j, _ := json.Marshal(data)
	os.WriteFile(filepath.Join(dir, "data.json"), j, 0o644)
	fs.WalkDir(policies.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if strings.HasSuffix(p, ".rego") && !strings.HasSuffix(p, "_test.rego") {
			src, _ := fs.ReadFile(policies.FS(), p)
			os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
			os.WriteFile(filepath.Join(dir, p), src, 0o644)
		}
		return nil
	})
	src, _ := os.ReadFile(typical)
	f, _ := input.Parse("x", src)
	doc := input.Build(f, input.LocalContext("x"))
	j, _ = json.Marshal(doc)
	os.WriteFile("/tmp/rpb-input.json", j, 0o644)
}
