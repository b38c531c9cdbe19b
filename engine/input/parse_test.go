package input

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const corpus = "../../test/testdata/corpus"

// corpusFiles returns the workflow files of the shared corpus.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"workflows", "fixtures"} {
		matches, err := filepath.Glob(filepath.Join(corpus, dir, "*.y*ml"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, matches...)
	}
	if len(files) < 40 {
		t.Fatalf("found %d corpus workflows, want at least 40: is %s there?", len(files), corpus)
	}
	return files
}

func parseFile(t testing.TB, path string) *Facts {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(filepath.Base(path), src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

// TestParseCorpus parses every real workflow and checks invariants that
// hold for any workflow.
func TestParseCorpus(t *testing.T) {
	for _, path := range corpusFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f := parseFile(t, path)
			if len(f.Jobs) == 0 {
				t.Error("no jobs")
			}
			if len(f.Triggers) == 0 {
				t.Error("no triggers")
			}
			if len(f.SHA256) != 64 {
				t.Errorf("sha256 = %q", f.SHA256)
			}
			doc, err := json.Marshal(Build(f, LocalContext("x.yml")))
			if err != nil {
				t.Fatal(err)
			}
			// Every slice is non-nil, so nothing but the nullable fields is null.
			var v any
			if err := json.Unmarshal(doc, &v); err != nil {
				t.Fatal(err)
			}
			checkNulls(t, "", "input", v)
			for _, u := range f.Uses {
				if u.Raw == "" || u.Kind == "" || u.Line == 0 || u.Job == "" {
					t.Errorf("incomplete use %+v", u)
				}
				if _, ok := f.Jobs[u.Job]; !ok {
					t.Errorf("use %s names unknown job %q", u.Raw, u.Job)
				}
			}
			lines := []int{}
			for _, u := range f.Uses {
				lines = append(lines, u.Line)
			}
			if !slices.IsSorted(lines) {
				t.Errorf("uses not in document order: lines %v", lines)
			}
			for _, r := range f.Secrets.Refs {
				if r.Name == "" && !r.Bulk {
					t.Errorf("secret ref with neither name nor bulk: %+v", r)
				}
				if r.Line == 0 || r.Context == "" {
					t.Errorf("incomplete secret ref %+v", r)
				}
			}
		})
	}
}

// nullable lists the fields that may be null in a document, by key or by
// parent.key.
var nullable = map[string]bool{
	"group": true, "expression": true, "container": true, "uses": true, "step": true,
	"egress_policy": true, "resolved_sha": true, "default_branch_sha256": true,
	"workflow_job": true, "resolution": true, "parallel_group": true,
	"if": true, "environment": true, "concurrency": true, "timeout_minutes": true, "script": true,
	"shell": true, "working_directory": true, "url": true, "all": true,
	"workflow.permissions": true, "permissions.scopes": true, "permissions.line": true,
}

func checkNulls(t *testing.T, parent, key string, v any) {
	t.Helper()
	switch v := v.(type) {
	case nil:
		if !nullable[key] && !nullable[parent+"."+key] {
			t.Errorf("%s.%s is null", parent, key)
		}
	case map[string]any:
		for k, e := range v {
			checkNulls(t, key, k, e)
		}
	case []any:
		for _, e := range v {
			checkNulls(t, parent, key+"[]", e)
		}
	}
}

// goldens are the workflows whose whole document is pinned in
// testdata/golden, each chosen for a feature it shows.
var goldens = []string{
	corpus + "/workflows/ossf__scorecard__main.yml",                                        // harden-runner first step in every job
	corpus + "/workflows/kubernetes-sigs__secrets-store-csi-driver__scan-vulns.yaml",       // harden-runner first step, egress audit
	corpus + "/workflows/rhysd__actionlint__ci.yaml",                                       // runs-on: ${{ matrix.os }}
	corpus + "/workflows/hashicorp__vault__ci.yml",                                         // secrets: inherit, fromJSON runs-on, container digest
	corpus + "/workflows/ossf__scorecard__goreleaser.yaml",                                 // remote reusable workflow by tag
	corpus + "/fixtures/ossf__scorecard__testdata__workflow-pinned.yaml",                   // docker:// by digest
	corpus + "/fixtures/ossf__scorecard__testdata__workflow-not-pinned.yaml",               // docker:// by tag
	corpus + "/workflows/hashicorp__terraform__checks.yml",                                 // local actions
	corpus + "/workflows/huggingface__transformers__model_jobs.yml",                        // runs-on group expression, container
	corpus + "/workflows/microsoft__onnxruntime__reusable_linux_build.yml",                 // label list with an expression
	corpus + "/workflows/microsoft__onnxruntime__linux_cuda_ci.yml",                        // explicit secrets: to a local reusable workflow
	corpus + "/fixtures/ossf__scorecard__testdata__workflow-anchor.yaml",                   // YAML anchor and alias
	corpus + "/workflows/rust-lang__rust__ci.yml",                                          // runs-on: ${{ matrix.os }} with os only from include
	corpus + "/workflows/databricks__cli__push.yml",                                        // runs-on: ${{ matrix.os }} from a row
	corpus + "/workflows/boostsecurityio__poutine__build_test.yml",                         // runs-on: ${{ matrix.platform }}
	corpus + "/fixtures/ossf__scorecard__testdata__github-workflow-unknown-os.yaml",        // runs-on: ${{ matrix.os_python.os }}
	corpus + "/fixtures/ossf__scorecard__testdata__github-workflow-matrix-expression.yaml", // matrix: ${{ fromJson(…) }}
	corpus + "/workflows/ossf__allstar__allstar.yml",                                       // container image by digest
	"testdata/secrets-tojson.yml",
	"testdata/secrets-index.yml",
	"testdata/secrets-bare-if.yml",
	"testdata/secrets-container.yml",
	"testdata/secrets-reusable.yml",
	"testdata/runs-on-forms.yml",
	"testdata/runs-on-matrix.yml",
	"testdata/images.yml",
	"testdata/harden-runner-later.yml",
	"testdata/parse-errors.yml",
	"testdata/parallel-steps.yml",
	"testdata/unmodeled.yml",
	"testdata/uses-spellings.yml",
	"testdata/injection.yml",
	"testdata/permissions.yml",
	corpus + "/fixtures/electron__electron__pipeline-segment-electron-test.yml",            // a parallel block in production
	corpus + "/fixtures/zizmorcore__zizmor__sample-workflows__parallel-steps-wait-all.yml", // background steps and wait-all
	corpus + "/fixtures/zizmorcore__zizmor__unpinned-uses__issue-433-repro.yml",            // $/ references with and without a ref
	corpus + "/workflows/astral-sh__uv__ci.yml",                                            // 20 reusable workflows called through $/, needs chains
	corpus + "/workflows/astral-sh__ruff__release.yml",                                     // 11 $/ reusable workflows, each with secrets: inherit
	corpus + "/workflows/vitejs__vite__bot.yml",                                            // a $/ composite action as a step, given GITHUB_TOKEN
}

// TestGolden compares the whole document of each golden workflow with
// testdata/golden/<name>.json; go test -update rewrites them.
func TestGolden(t *testing.T) {
	for _, path := range goldens {
		name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		t.Run(name, func(t *testing.T) {
			f := parseFile(t, path)
			got, err := json.MarshalIndent(Build(f, LocalContext(filepath.Base(path))), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("document differs from %s (go test -update rewrites it):\n%s", golden, firstDiff(string(want), string(got)))
			}
		})
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return "(no line differs)"
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{
		"rhysd__actionlint__ci.yaml", // typical: 4 jobs, 3 KB
		"ossf__scorecard__main.yml",  // the largest corpus workflow: 9 jobs, 13 KB
	} {
		src, err := os.ReadFile(filepath.Join(corpus, "workflows", name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, err := Parse(name, src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
