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

var corpusAdvisories = []string{"GHSA-69fq-xp46-6x23.json", "GHSA-mcph-m25j-8j63.json", "GHSA-mrrh-fwg8-r2c3.json", "GHSA-qmg3-hpqr-gqvc.json"}

func corpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := ReadFile(filepath.Join("..", "..", "test", "testdata", "corpus", "advisories", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The corpus advisories and the example overlay make the list in
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
	for id, malicious := range map[string]bool{"GHSA-69fq-xp46-6x23": true, "GHSA-mrrh-fwg8-r2c3": true, "GHSA-qmg3-hpqr-gqvc": true, "GHSA-mcph-m25j-8j63": false} {
		if got[id].Malicious != malicious {
			t.Errorf("%s: malicious = %v, want %v", id, got[id].Malicious, malicious)
		}
	}
	entries := l.Entries()
	if len(entries) != 4 {
		t.Errorf("got %d actions, want 4: %v", len(entries), entries)
	}
	// The command injection names tj-actions/changed-files too, and goes to
	// the vulnerable list: the compromised entry keeps its own range alone.
	wantVuln := map[string]map[string]Entry{"tj-actions/changed-files": {"GHSA-mcph-m25j-8j63": {
		Advisories: []string{"GHSA-mcph-m25j-8j63", "CVE-2023-51664"},
		Summary:    "tj-actions/changed-files has Potential Actions command injection in output filenames (GHSL-2023-271)",
		Commits:    map[string]bool{}, Versions: map[string]bool{},
		Ranges:  []Range{{Introduced: "0", Fixed: "41"}},
		Sources: []Source{{URL: "https://github.com/advisories/GHSA-mcph-m25j-8j63"}},
	}}}
	if v := l.Vulnerable(); !reflect.DeepEqual(v, wantVuln) {
		t.Errorf("vulnerable list:\n got %+v\nwant %+v", v, wantVuln)
	}
	tests := []struct {
		action string
		want   Entry
	}{
		{"tj-actions/changed-files", Entry{
			Advisories: []string{"GHSA-mrrh-fwg8-r2c3", "CVE-2025-30066"},
			Summary:    "tj-actions changed-files through 45.0.7 allows remote attackers to discover secrets by reading actions logs.",
			Commits:    map[string]bool{}, Versions: map[string]bool{},
			Ranges:  []Range{{Introduced: "0", LastAffected: "45.0.7"}},
			Sources: []Source{{URL: "https://github.com/advisories/GHSA-mrrh-fwg8-r2c3"}},
		}},
		{"reviewdog/action-setup", Entry{
			Advisories: []string{"GHSA-qmg3-hpqr-gqvc", "CVE-2025-30154"},
			Summary:    "Multiple Reviewdog actions were compromised during a specific time period",
			Commits:    map[string]bool{}, Versions: map[string]bool{"1": true},
			Ranges:  []Range{},
			Sources: []Source{{URL: "https://github.com/advisories/GHSA-qmg3-hpqr-gqvc"}},
		}},
		{"aquasecurity/trivy-action", Entry{
			Advisories: []string{"GHSA-69fq-xp46-6x23", "CVE-2026-33634"},
			Summary:    "Trivy ecosystem supply chain was briefly compromised",
			Commits:    map[string]bool{}, Versions: map[string]bool{},
			Ranges:  []Range{{Introduced: "0", Fixed: "0.35.0"}},
			Sources: []Source{{URL: "https://github.com/advisories/GHSA-69fq-xp46-6x23"}},
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
			record: `{"id":"GHSA-1","database_specific":{"cwe_ids":["CWE-506"]},"affected":[{"package":{"ecosystem":"GitHub Actions","name":"Evil/Action"}}]}`,
			action: "evil/action",
			want:   Entry{Advisories: []string{"GHSA-1"}, AllVersions: true, Commits: map[string]bool{}, Versions: map[string]bool{}, Ranges: []Range{}, Sources: ghsa("GHSA-1")},
		},
		{
			name: "several ranges, an open one, versions and a path",
			record: `{"id":"GHSA-2","database_specific":{"cwe_ids":["CWE-506"]},"aliases":["CVE-1","GHSA-2"],"summary":"  two\n lines ","affected":[{"package":{"ecosystem":"GitHub Actions","name":"acme/mono/sub/action"},
				"versions":["1.0.0","v2"],
				"ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"fixed":"1.2.0"},{"introduced":"2.0.0"},{"last_affected":"2.1.0"},{"introduced":"3.0.0"}]}]}]}`,
			action: "acme/mono/sub/action",
			want: Entry{Advisories: []string{"GHSA-2", "CVE-1"}, Summary: "two lines", Commits: map[string]bool{}, Versions: map[string]bool{"1.0.0": true, "v2": true},
				Ranges: []Range{{Introduced: "1.0.0", Fixed: "1.2.0"}, {Introduced: "2.0.0", LastAffected: "2.1.0"}, {Introduced: "3.0.0"}}, Sources: ghsa("GHSA-2")},
		},
		{
			name:    "GIT range only: every version, with a warning",
			record:  `{"id":"GHSA-3","database_specific":{"cwe_ids":["CWE-506"]},"affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"},"ranges":[{"type":"GIT","events":[{"introduced":"0"},{"fixed":"3f401fe1d58fe77e10d665ab713057375e39b887"}]}]}]}`,
			action:  "a/b",
			want:    Entry{Advisories: []string{"GHSA-3"}, AllVersions: true, Commits: map[string]bool{}, Versions: map[string]bool{}, Ranges: []Range{}, Sources: ghsa("GHSA-3")},
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
	l.Import("a.json", []byte(`{"id":"GHSA-w","database_specific":{"cwe_ids":["CWE-506"]},"affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"}}]}`))
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
		`{"id":"GHSA-b","database_specific":{"cwe_ids":["CWE-506"]},"aliases":["CVE-2"],"summary":"second","affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"},"versions":["2"]}]}`,
		`{"id":"GHSA-a","database_specific":{"cwe_ids":["CWE-506"]},"aliases":["CVE-1"],"summary":"first","affected":[{"package":{"ecosystem":"GitHub Actions","name":"A/B"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1"}]}]}]}`,
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
	base := `{"id":"GHSA-1","database_specific":{"cwe_ids":["CWE-506"]},"aliases":["CVE-1"],"summary":"imported","affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"},"versions":["1","2"]}]}`
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
				Commits: map[string]bool{"0e58ed8671d6b60d0890c21b07f8835ace038e67": true}, Versions: map[string]bool{"1": true, "2": true}, Ranges: []Range{}, Sources: ghsa("GHSA-1")},
		},
		{
			name:    "false removes, summary and all_versions replace, ranges add",
			overlay: `{"actions":{"a/b":{"summary":"by hand","all_versions":true,"versions":{"2":false},"ranges":[{"introduced":"0","fixed":"3"}]}}}`,
			action:  "a/b",
			want: Entry{Advisories: []string{"GHSA-1", "CVE-1"}, Summary: "by hand", AllVersions: true,
				Commits: map[string]bool{}, Versions: map[string]bool{"1": true}, Ranges: []Range{{Introduced: "0", Fixed: "3"}}, Sources: ghsa("GHSA-1")},
		},
		{
			name:    "a new action, in the bundle data form",
			overlay: "runpolicy:\n  compromised:\n    actions:\n      evil/x: {all_versions: true}\n    commits: {}\n",
			action:  "evil/x",
			want:    Entry{Advisories: []string{}, AllVersions: true, Commits: map[string]bool{}, Versions: map[string]bool{}, Ranges: []Range{}, Sources: []Source{}},
		},
		{
			name:    "empty overlay",
			overlay: "# nothing yet\n",
			action:  "a/b",
			want: Entry{Advisories: []string{"GHSA-1", "CVE-1"}, Summary: "imported",
				Commits: map[string]bool{}, Versions: map[string]bool{"1": true, "2": true}, Ranges: []Range{}, Sources: ghsa("GHSA-1")},
		},
		{
			name:    "the importer's own output, with sources",
			overlay: "runpolicy:\n  compromised_additions:\n    actions:\n      a/b:\n        commits: [0e58ed8671d6b60d0890c21b07f8835ace038e67]\n        sources: [{url: 'https://example.com/report', commits: [0E58ED8671D6B60D0890C21B07F8835ACE038E67]}]\n  vulnerable_additions: {actions: {}}\n",
			action:  "a/b",
			want: Entry{Advisories: []string{"GHSA-1", "CVE-1"}, Summary: "imported",
				Commits: map[string]bool{"0e58ed8671d6b60d0890c21b07f8835ace038e67": true}, Versions: map[string]bool{"1": true, "2": true}, Ranges: []Range{},
				Sources: append(ghsa("GHSA-1"), Source{URL: "https://example.com/report", Commits: []string{"0e58ed8671d6b60d0890c21b07f8835ace038e67"}})},
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

// The built-in list (policies/data.json) serves as an overlay as it is.
func TestBuiltinListAsOverlay(t *testing.T) {
	src, err := ReadFile(filepath.Join("..", "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	l := New()
	if err := l.Overlay("data.json", src); err != nil {
		t.Fatal(err)
	}
	e := l.Entries()["aquasecurity/setup-trivy"]
	if !e.Commits["8afa9b9f9183b4e00c46e2b82d34047e3c177bd0"] || len(e.Sources) == 0 {
		t.Errorf("setup-trivy from the built-in list: %+v", e)
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
		{"both forms", "actions: {}\nrunpolicy: {compromised: {actions: {}}}\n", "more than one of actions, runpolicy.compromised.actions and runpolicy.compromised_additions.actions"},
		{"built-in and additions forms", "runpolicy: {compromised: {actions: {}}, compromised_additions: {actions: {}}}\n", "more than one of"},
		{"source not https", "actions:\n  a/b:\n    sources: [{url: 'http://example.com'}]\n", `o.yaml: a/b: sources[0]: url "http://example.com" is not an https:// address`},
		{"source commit short", "actions:\n  a/b:\n    sources: [{url: 'https://example.com', commits: [0e58ed8]}]\n", `o.yaml: a/b: sources[0].commits[0]: "0e58ed8" is not a full 40-hex SHA`},
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

func ghsa(id string) []Source { return []Source{{URL: "https://github.com/advisories/" + id}} }

// Only malicious code is compromised; every other advisory is an ordinary
// vulnerability, listed apart, whatever action it names.
func TestImportTellsMalwareFromVulnerabilities(t *testing.T) {
	tests := []struct {
		name, record string
		malicious    bool
		warning      string
	}{
		{"CWE-506 embedded malicious code", `"database_specific":{"cwe_ids":["CWE-506"]}`, true, ""},
		{"CWE-512 spyware, among others", `"database_specific":{"cwe_ids":["CWE-79"," cwe-512 "]}`, true, ""},
		{"every malicious-code CWE", `"database_specific":{"cwe_ids":["CWE-507","CWE-508","CWE-509","CWE-510","CWE-511"]}`, true, ""},
		{"GitHub malware advisory", `"database_specific":{"type":"malware"}`, true, ""},
		{"command injection", `"database_specific":{"cwe_ids":["CWE-74","CWE-77"],"severity":"HIGH"}`, false, ""},
		{"CWE-505 is not malicious code", `"database_specific":{"cwe_ids":["CWE-505","CWE-513"]}`, false, ""},
		{"no database_specific", `"summary":"x"`, false, ""},
		{"unreadable database_specific", `"database_specific":{"cwe_ids":"CWE-506"}`, false, "database_specific not read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New()
			rec := `{"id":"GHSA-1",` + tt.record + `,"affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2"}]}]}]}`
			res, err := l.Import("x.json", []byte(rec))
			if err != nil {
				t.Fatal(err)
			}
			if res.Malicious != tt.malicious {
				t.Errorf("malicious = %v, want %v", res.Malicious, tt.malicious)
			}
			_, compromised := l.Entries()["a/b"]
			_, vulnerable := l.Vulnerable()["a/b"]["GHSA-1"]
			if compromised != tt.malicious || vulnerable == tt.malicious {
				t.Errorf("compromised %v, vulnerable %v; want only %v compromised", compromised, vulnerable, tt.malicious)
			}
			if w := strings.Join(res.Warnings, "\n"); !strings.Contains(w, tt.warning) || (tt.warning == "" && w != "") {
				t.Errorf("warnings %q, want %q", w, tt.warning)
			}
		})
	}
	// OSV malicious-packages records are malicious by their id.
	l := New()
	res, err := l.Import("m.json", []byte(`{"id":"MAL-2025-1","affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"}}]}`))
	if err != nil || !res.Malicious || !l.Entries()["a/b"].AllVersions {
		t.Errorf("MAL- record: %+v, %v, %+v", res, err, l.Entries())
	}
}

// Several advisories naming one action: the malicious ones merge into one
// compromised entry (the union of all they say); each vulnerability keeps
// its own entry, and none of them changes the compromised one.
func TestImportMergesAdvisoriesOfOneAction(t *testing.T) {
	l := New()
	for _, rec := range []string{
		`{"id":"GHSA-m1","database_specific":{"cwe_ids":["CWE-506"]},"affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"last_affected":"45.0.7"}]}]}]}`,
		`{"id":"GHSA-m2","database_specific":{"cwe_ids":["CWE-506"]},"affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"},"versions":["47.0.0"],"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"41"}]}]}]}`,
		`{"id":"GHSA-v1","database_specific":{"cwe_ids":["CWE-77"]},"affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"41"}]}]}]}`,
		`{"id":"GHSA-v2","affected":[{"package":{"ecosystem":"GitHub Actions","name":"a/b"},"versions":["46.0.0"]}]}`,
	} {
		if _, err := l.Import("x.json", []byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	want := Entry{Advisories: []string{"GHSA-m1", "GHSA-m2"}, Commits: map[string]bool{}, Versions: map[string]bool{"47.0.0": true},
		Ranges: []Range{{Introduced: "0", LastAffected: "45.0.7"}, {Introduced: "0", Fixed: "41"}}, Sources: append(ghsa("GHSA-m1"), ghsa("GHSA-m2")...)}
	if got := l.Entries()["a/b"]; !reflect.DeepEqual(got, want) {
		t.Errorf("compromised entry:\n got %+v\nwant %+v", got, want)
	}
	v := l.Vulnerable()["a/b"]
	if len(v) != 2 || !reflect.DeepEqual(v["GHSA-v1"].Ranges, []Range{{Introduced: "0", Fixed: "41"}}) || !v["GHSA-v2"].Versions["46.0.0"] {
		t.Errorf("vulnerable entries: %+v", v)
	}
	d := l.Document()
	if len(d.Runpolicy.CompromisedAdditions.Actions) != 1 || len(d.Runpolicy.VulnerableAdditions.Actions) != 1 {
		t.Errorf("document: %+v", d)
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
