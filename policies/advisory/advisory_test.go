package advisory

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var corpusAdvisories = []string{"GHSA-69fq-xp46-6x23.json", "GHSA-mrrh-fwg8-r2c3.json", "GHSA-qmg3-hpqr-gqvc.json"}

func corpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := ReadFile(filepath.Join("..", "..", "test", "testdata", "corpus", "advisories", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The three corpus advisories and the example overlay make the list in
// testdata/import.golden (run with -update to rewrite it after a change
// that is meant).
func TestGolden(t *testing.T) {
	l := New()
	for _, name := range corpusAdvisories {
		if _, err := l.Import(name, corpus(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	overlay, err := ReadFile(filepath.Join("testdata", "overlay.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Overlay("overlay.yaml", overlay); err != nil {
		t.Fatal(err)
	}
	got, err := l.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "import.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("import differs from %s (run go test -update after checking):\n%s", golden, got)
	}
}

// What each advisory becomes, checked field by field so that a wrong golden
// file cannot hide a wrong rule.
func TestImportCorpus(t *testing.T) {
	l := New()
	got := map[string]Imported{}
	for _, name := range corpusAdvisories {
		res, err := l.Import(name, corpus(t, name))
		if err != nil {
			t.Fatal(err)
		}
		got[res.ID] = res
	}
	if a := got["GHSA-69fq-xp46-6x23"].Actions; !reflect.DeepEqual(a, []string{"aquasecurity/setup-trivy", "aquasecurity/trivy-action"}) {
		t.Errorf("trivy advisory took %v; the Go package must be skipped", a)
	}
	entries := l.Entries()
	if len(entries) != 4 {
		t.Errorf("got %d actions, want 4: %v", len(entries), entries)
	}
	tests := []struct {
		action string
		want   Entry
	}{
		{"tj-actions/changed-files", Entry{
			Advisories: []string{"GHSA-mrrh-fwg8-r2c3", "CVE-2025-30066"},
			Summary:    "tj-actions changed-files through 45.0.7 allows remote attackers to discover secrets by reading actions logs.",
			Commits:    map[string]bool{}, Versions: map[string]bool{},
			Ranges: []Range{{Introduced: "0", LastAffected: "45.0.7"}},
		}},
		{"reviewdog/action-setup", Entry{
			Advisories: []string{"GHSA-qmg3-hpqr-gqvc", "CVE-2025-30154"},
			Summary:    "Multiple Reviewdog actions were compromised during a specific time period",
			Commits:    map[string]bool{}, Versions: map[string]bool{"1": true},
			Ranges: []Range{},
		}},
		{"aquasecurity/trivy-action", Entry{
			Advisories: []string{"GHSA-69fq-xp46-6x23", "CVE-2026-33634"},
			Summary:    "Trivy ecosystem supply chain was briefly compromised",
			Commits:    map[string]bool{}, Versions: map[string]bool{},
			Ranges: []Range{{Introduced: "0", Fixed: "0.35.0"}},
		}},
	}
	for _, tt := range tests {
		if e := entries[tt.action]; !reflect.DeepEqual(e, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.action, e, tt.want)
		}
	}
}

func TestImportRules(t *testing.T) {
	tests := []struct {
		name    string
		record  string
		action  string
		want    Entry
		warning string
	}{
		{
			name:   "no versions and no ranges: every version",
			record: `{"id":"GHSA-1","affected":[{"package":{"ecosystem":"GitHub Actions","name":"Evil/Action"}}]}`,
			action: "evil/action",
			want:   Entry{Advisories: []string{"GHSA-1"}, AllVersions: true, Commits: map[string]bool{}, Versions: map[string]bool{}, Ranges: []Range{}},
		},
		{
			name: "several ranges, an open one, versions and a path",
			record: `{"id":"GHSA-2","aliases":["CVE-1","GHSA-2"],"summary":"  two\n lines ","affected":[{"package":{"ecosystem":"GitHub Actions","name":"acme/mono/sub/action"},
				"versions":["1.0.0","v2"],
				"ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"fixed":"1.2.0"},{"introduced":"2.0.0"},{"last_affected":"2.1.0"},{"introduced":"3.0.0"}]}]}]}`,
			action: "acme/mono/sub/action",
			want: Entry{Advisories: []string{"GHSA-2", "CVE-1"}, Summary: "two lines", Commits: map[string]bool{}, Versions: map[string]bool{"1.0.0": true, "v2": true},
				Ranges: []Range{{Introduced: "1.0.0", Fixed: "1.2.0"}, {Introduced: "2.0.0", LastAffected: "2.1.0"}, {Introduced: "3.0.0"}}},
		},
		{
			name:    "GIT range only: every version, with a warning",
			record:  `{"id":"GHSA-3","affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"},"ranges":[{"type":"GIT","events":[{"introduced":"0"},{"fixed":"3f401fe1d58fe77e10d665ab713057375e39b887"}]}]}]}`,
			action:  "a/b",
			want:    Entry{Advisories: []string{"GHSA-3"}, AllVersions: true, Commits: map[string]bool{}, Versions: map[string]bool{}, Ranges: []Range{}},
			warning: "GIT range ignored",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New()
			res, err := l.Import("x.json", []byte(tt.record))
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Entries()[tt.action]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
			if w := strings.Join(res.Warnings, "\n"); !strings.Contains(w, tt.warning) || (tt.warning == "" && w != "") {
				t.Errorf("warnings %q, want %q", w, tt.warning)
			}
		})
	}
}

func TestImportSkips(t *testing.T) {
	l := New()
	for _, rec := range []string{
		`{"id":"GHSA-go","affected":[{"package":{"ecosystem":"Go","name":"github.com/a/b"},"versions":["1"]}]}`,
		`{"id":"GHSA-gone","withdrawn":"2025-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"}}]}`,
		`{"id":"GHSA-none"}`,
	} {
		if _, err := l.Import("x.json", []byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	if e := l.Entries(); len(e) != 0 {
		t.Errorf("entries = %v, want none", e)
	}
	// A withdrawn record removes what an earlier import of it added.
	l.Import("a.json", []byte(`{"id":"GHSA-w","affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"}}]}`))
	res, _ := l.Import("b.json", []byte(`{"id":"GHSA-w","withdrawn":"2025-01-01T00:00:00Z"}`))
	if !res.Withdrawn || len(l.Entries()) != 0 {
		t.Errorf("withdrawn record kept: %v", l.Entries())
	}
}

func TestImportMalformed(t *testing.T) {
	tests := []struct{ name, record, want string }{
		{"not JSON", `{"id":`, "bad.json: not an OSV record: invalid JSON at byte 6: unexpected end of JSON input"},
		{"bad syntax", `{"id" 1}`, "bad.json: not an OSV record: invalid JSON at byte 7: invalid character"},
		{"not an object", `[1,2]`, "bad.json: not an OSV record: the document is array, want an object"},
		{"no id", `{"summary":"x"}`, "bad.json: not an OSV record: no id"},
		{"wrong type", `{"id":"G","affected":{"package":1}}`, "bad.json: not an OSV record: affected is object, want an array"},
		{"wrong nested type", `{"id":"G","affected":[{"package":{"name":1}}]}`, "not an OSV record: affected.package.name is number, want a string"},
		{"bad name", `{"id":"G","affected":[{"package":{"ecosystem":"GitHub Actions","name":"not a name"}}]}`, `bad.json: G: affected[0]: package name "not a name"`},
		{"owner only", `{"id":"G","affected":[{"package":{"ecosystem":"GitHub Actions","name":"owner"}}]}`, "is not owner/repo[/path]"},
		{"dot dot", `{"id":"G","affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b/../c"}}]}`, "is not owner/repo[/path]"},
		{"end first", `{"id":"G","affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"},"ranges":[{"type":"ECOSYSTEM","events":[{"fixed":"1"}]}]}]}`, "affected[0].ranges[0].events[0]: range end with no introduced"},
		{"empty event", `{"id":"G","affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"},"ranges":[{"type":"ECOSYSTEM","events":[{}]}]}]}`, "empty range event"},
		{"no events", `{"id":"G","affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"},"ranges":[{"type":"ECOSYSTEM","events":[]}]}]}`, "no events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New()
			_, err := l.Import("bad.json", []byte(tt.record))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if len(l.Entries()) != 0 {
				t.Errorf("a malformed record added %v", l.Entries())
			}
		})
	}
}

// The list does not depend on the order of the files.
func TestImportOrder(t *testing.T) {
	shared := []string{
		`{"id":"GHSA-b","aliases":["CVE-2"],"summary":"second","affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"},"versions":["2"]}]}`,
		`{"id":"GHSA-a","aliases":["CVE-1"],"summary":"first","affected":[{"package":{"ecosystem":"GitHub Actions","name":"A/B"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1"}]}]}]}`,
	}
	var out []string
	for _, order := range [][]int{{0, 1}, {1, 0}} {
		l := New()
		for _, i := range order {
			if _, err := l.Import("x.json", []byte(shared[i])); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := l.JSON()
		out = append(out, string(b))
	}
	if out[0] != out[1] {
		t.Errorf("order changes the list:\n%s\n%s", out[0], out[1])
	}
	if !strings.Contains(out[0], `"GHSA-a",
            "CVE-1",
            "GHSA-b",
            "CVE-2"`) || !strings.Contains(out[0], `"summary": "first; second"`) {
		t.Errorf("merged entry:\n%s", out[0])
	}
}

func TestOverlay(t *testing.T) {
	base := `{"id":"GHSA-1","aliases":["CVE-1"],"summary":"imported","affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"},"versions":["1","2"]}]}`
	tests := []struct {
		name, overlay string
		action        string
		want          Entry
	}{
		{
			name:    "adds commits and advisories, keeps the rest",
			overlay: "actions:\n  A/B:\n    advisories: [CVE-1, GHSA-x]\n    commits: [0E58ED8671D6B60D0890C21B07F8835ACE038E67]\n",
			action:  "a/b",
			want: Entry{Advisories: []string{"GHSA-1", "CVE-1", "GHSA-x"}, Summary: "imported",
				Commits: map[string]bool{"0e58ed8671d6b60d0890c21b07f8835ace038e67": true}, Versions: map[string]bool{"1": true, "2": true}, Ranges: []Range{}},
		},
		{
			name:    "false removes, summary and all_versions replace, ranges add",
			overlay: `{"actions":{"a/b":{"summary":"by hand","all_versions":true,"versions":{"2":false},"ranges":[{"introduced":"0","fixed":"3"}]}}}`,
			action:  "a/b",
			want: Entry{Advisories: []string{"GHSA-1", "CVE-1"}, Summary: "by hand", AllVersions: true,
				Commits: map[string]bool{}, Versions: map[string]bool{"1": true}, Ranges: []Range{{Introduced: "0", Fixed: "3"}}},
		},
		{
			name:    "a new action, in the bundle data form",
			overlay: "runpolicy:\n  compromised:\n    actions:\n      evil/x: {all_versions: true}\n    commits: {}\n",
			action:  "evil/x",
			want:    Entry{Advisories: []string{}, AllVersions: true, Commits: map[string]bool{}, Versions: map[string]bool{}, Ranges: []Range{}},
		},
		{
			name:    "empty overlay",
			overlay: "# nothing yet\n",
			action:  "a/b",
			want: Entry{Advisories: []string{"GHSA-1", "CVE-1"}, Summary: "imported",
				Commits: map[string]bool{}, Versions: map[string]bool{"1": true, "2": true}, Ranges: []Range{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New()
			if err := l.Overlay("o.yaml", []byte(tt.overlay)); err != nil { // before the import: order does not matter
				t.Fatal(err)
			}
			if _, err := l.Import("x.json", []byte(base)); err != nil {
				t.Fatal(err)
			}
			if got := l.Entries()[tt.action]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestOverlayErrors(t *testing.T) {
	tests := []struct{ name, overlay, want string }{
		{"not YAML", "actions: [\n", "o.yaml: not YAML or JSON"},
		{"unknown key", "actions:\n  a/b:\n    comits: []\n", `o.yaml: json: unknown field "comits"`},
		{"unknown top key", "action:\n  a/b: {}\n", `unknown field "action"`},
		{"short sha", "actions:\n  a/b:\n    commits: [0e58ed8]\n", `o.yaml: a/b: commit "0e58ed8" is not a full 40-hex SHA`},
		{"bad name", "actions:\n  a b/c: {}\n", `o.yaml: package name "a b/c"`},
		{"twice", "actions:\n  a/b: {}\n  A/B: {}\n", "o.yaml: a/b is listed twice"},
		{"range without introduced", "actions:\n  a/b:\n    ranges: [{fixed: '1'}]\n", "o.yaml: a/b: ranges[0] has no introduced"},
		{"commits not a set", "actions:\n  a/b:\n    commits: 3\n", "want a map of string to true/false"},
		{"both forms", "actions: {}\nrunpolicy: {compromised: {actions: {}}}\n", "both actions and runpolicy.compromised.actions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New().Overlay("o.yaml", []byte(tt.overlay))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestFilesAndSize(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"b/2.json", "a/1.JSON", "a/notes.md", "top.json"} {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		os.WriteFile(full, []byte("{}"), 0o644)
	}
	extra := filepath.Join(dir, "a", "notes.md")
	got, err := Files([]string{dir, extra})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a/1.JSON"), filepath.Join(dir, "b/2.json"), filepath.Join(dir, "top.json"), extra}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Files = %v, want %v", got, want)
	}
	if _, err := Files([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing path gave no error")
	}
	big := filepath.Join(dir, "big.json")
	os.WriteFile(big, make([]byte, MaxFileSize+1), 0o644)
	if _, err := ReadFile(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("ReadFile of an oversized file: %v", err)
	}
}

// Import never panics and never keeps part of a record it rejects.
func FuzzImport(f *testing.F) {
	for _, name := range corpusAdvisories {
		b, err := ReadFile(filepath.Join("..", "..", "test", "testdata", "corpus", "advisories", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"id":"G","affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"},"ranges":[{"events":[{"fixed":"1"}]}]}]}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		l := New()
		if _, err := l.Import("f.json", src); err != nil && len(l.Entries()) != 0 {
			t.Fatalf("rejected record left entries: %v", err)
		}
		if _, err := l.JSON(); err != nil {
			t.Fatal(err)
		}
		_ = New().Overlay("f.yaml", src)
	})
}
