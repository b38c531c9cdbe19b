// Package advisory builds runpolicy's action lists from OSV records, the
// format of the GitHub Advisory Database, so that a policy repository can
// commit them as bundle data.
//
// Only malicious code (CWE-506 to CWE-512, or an OSV MAL- record) makes an
// action compromised; every other advisory is an ordinary vulnerability and
// goes to a list of its own, which the vulnerable_actions policy reports on.
// The importer writes both as additions (data.runpolicy.compromised_additions
// and data.runpolicy.vulnerable_additions), which the policies read beside
// the built-in lists: an import can add to a built-in entry, never shrink it.
//
// Advisories say which versions of an action are affected. They often name
// the malicious commit only in their prose, so a hand-written overlay (same
// per-action shape, YAML or JSON) adds what the records cannot carry and is
// merged over the compromised part of the import.
package advisory

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/runpolicy/runpolicy/internal/oneline"
)

// Ecosystem is the OSV ecosystem of GitHub Actions packages.
const Ecosystem = "GitHub Actions"

// Entry is one action of the compromised list, as the Rego policies read it
// at data.runpolicy.compromised.actions["<owner>/<repo>[/<path>]"] (built
// in) and data.runpolicy.compromised_additions.actions[…] (imported), and one
// advisory of the vulnerable list.
type Entry struct {
	// Advisories lists advisory ids and their aliases (GHSA-…, CVE-…).
	Advisories []string `json:"advisories"`
	Summary    string   `json:"summary"`
	// AllVersions is true when every version, tag and commit is affected.
	AllVersions bool `json:"all_versions"`
	// Commits are known malicious commit SHAs (40 hex, lower case).
	Commits map[string]bool `json:"commits"`
	// Versions are affected versions as the advisory writes them; the
	// policy also matches them with or without a leading "v".
	Versions map[string]bool `json:"versions"`
	Ranges   []Range         `json:"ranges"`
	// Sources say where each fact comes from: the advisory, and for a
	// commit the report that names it.
	Sources []Source `json:"sources"`
}

// Source is a public document behind an entry: its address and the
// commits of the entry it names.
type Source struct {
	URL     string   `json:"url"`
	Commits []string `json:"commits,omitempty"`
}

// Range is an OSV range of affected versions: from Introduced ("0": the
// beginning) up to Fixed (excluded) or LastAffected (included), or open.
type Range struct {
	Introduced   string `json:"introduced"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
}

// Document is the bundle data file the importer writes. Its lists are
// additions: the policies read them beside the built-in lists at
// data.runpolicy.compromised and data.runpolicy.vulnerable, so an imported
// entry for an action already listed adds to the built-in entry and can
// never narrow it.
type Document struct {
	Runpolicy struct {
		CompromisedAdditions Compromised `json:"compromised_additions"`
		VulnerableAdditions  Vulnerable  `json:"vulnerable_additions"`
	} `json:"runpolicy"`
}

// Compromised is a compromised list.
type Compromised struct {
	Actions map[string]Entry `json:"actions"`
	// Commits maps each malicious commit to its action, so that a commit
	// is caught under any name (an imposter commit in a fork).
	Commits map[string]string `json:"commits"`
}

// Vulnerable is a vulnerable list: by action, then by advisory id, so that
// each advisory keeps its own ranges and its own fix.
type Vulnerable struct {
	Actions map[string]map[string]Entry `json:"actions"`
}

// List collects imported advisories and overlays. The result does not
// depend on the order records are imported in.
type List struct {
	records  map[string]*record // by advisory id
	overlays []map[string]overlayEntry
}

// record is what one advisory says about GitHub Actions packages.
type record struct {
	id        string
	aliases   []string
	summary   string
	malicious bool // malicious code, not an ordinary vulnerability
	actions   map[string]*affected
}

// affected is what one advisory says about one action.
type affected struct {
	versions map[string]bool
	ranges   []Range
	all      bool // the advisory lists neither versions nor usable ranges
}

// New returns an empty List.
func New() *List { return &List{records: map[string]*record{}} }

// Imported says what Import took from one record.
type Imported struct {
	ID        string
	Actions   []string // lower-case names of the GitHub Actions packages taken
	Malicious bool     // the advisory is about malicious code: the actions are compromised
	Withdrawn bool     // the advisory was withdrawn; nothing was taken
	Warnings  []string // parts that were read but could not be used
}

// osvRecord is the part of an OSV record the importer reads.
type osvRecord struct {
	ID        string   `json:"id"`
	Withdrawn string   `json:"withdrawn"`
	Summary   string   `json:"summary"`
	Aliases   []string `json:"aliases"`
	// DatabaseSpecific is read apart: its shape differs between databases.
	DatabaseSpecific json.RawMessage `json:"database_specific"`
	Affected         []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
		} `json:"package"`
		Versions []string `json:"versions"`
		Ranges   []struct {
			Type   string `json:"type"`
			Events []struct {
				Introduced   string `json:"introduced"`
				Fixed        string `json:"fixed"`
				LastAffected string `json:"last_affected"`
				Limit        string `json:"limit"`
			} `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

// Import reads one OSV record (src, from the file called name) and adds its
// GitHub Actions packages. A malformed record is rejected whole, with an
// error naming the file and the cause; nothing of it is added. A record
// without GitHub Actions packages is not an error and adds nothing. Importing
// a record with the same id again replaces it.
func (l *List) Import(name string, src []byte) (Imported, error) {
	var r osvRecord
	if err := json.Unmarshal(src, &r); err != nil {
		return Imported{}, fmt.Errorf("%s: not an OSV record: %s", name, jsonError(err))
	}
	if strings.TrimSpace(r.ID) == "" {
		return Imported{}, fmt.Errorf("%s: not an OSV record: no id", name)
	}
	res := Imported{ID: r.ID}
	if r.Withdrawn != "" {
		res.Withdrawn = true
		delete(l.records, r.ID)
		return res, nil
	}
	malicious, warning := isMalicious(r.ID, r.DatabaseSpecific)
	if warning != "" {
		res.Warnings = append(res.Warnings, r.ID+": "+warning)
	}
	res.Malicious = malicious
	rec := &record{id: r.ID, summary: oneline.Fold(r.Summary), malicious: malicious, actions: map[string]*affected{}}
	for _, a := range r.Aliases {
		if a = strings.TrimSpace(a); a != "" && a != r.ID && !slices.Contains(rec.aliases, a) {
			rec.aliases = append(rec.aliases, a)
		}
	}
	for i, a := range r.Affected {
		if !strings.EqualFold(a.Package.Ecosystem, Ecosystem) {
			continue
		}
		key, err := actionName(a.Package.Name)
		if err != nil {
			return Imported{}, fmt.Errorf("%s: %s: affected[%d]: %w", name, r.ID, i, err)
		}
		aff := rec.actions[key]
		if aff == nil {
			aff = &affected{versions: map[string]bool{}}
			rec.actions[key] = aff
		}
		for _, v := range a.Versions {
			if v = strings.TrimSpace(v); v != "" {
				aff.versions[v] = true
			}
		}
		usable := 0
		for j, rg := range a.Ranges {
			if strings.EqualFold(rg.Type, "GIT") {
				// Commit ranges need the repository's history to test; the
				// policy cannot, so the package counts as wholly affected
				// unless versions say otherwise.
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %s: GIT range ignored (add its commits to the overlay)", r.ID, key))
				continue
			}
			var open *Range
			for k, ev := range rg.Events {
				at := fmt.Sprintf("affected[%d].ranges[%d].events[%d]", i, j, k)
				switch {
				case ev.Introduced != "":
					if open != nil {
						aff.ranges = appendRange(aff.ranges, *open)
					}
					open = &Range{Introduced: ev.Introduced}
				case ev.Fixed != "" || ev.LastAffected != "":
					if open == nil {
						return Imported{}, fmt.Errorf("%s: %s: %s: range end with no introduced event before it", name, r.ID, at)
					}
					open.Fixed, open.LastAffected = ev.Fixed, ev.LastAffected
					aff.ranges = appendRange(aff.ranges, *open)
					open, usable = nil, usable+1
				case ev.Limit != "":
					// limit bounds a GIT range's search; nothing to record.
				default:
					return Imported{}, fmt.Errorf("%s: %s: %s: empty range event", name, r.ID, at)
				}
			}
			if open != nil {
				aff.ranges = appendRange(aff.ranges, *open)
				usable++
			}
			if len(rg.Events) == 0 {
				return Imported{}, fmt.Errorf("%s: %s: affected[%d].ranges[%d]: no events", name, r.ID, i, j)
			}
		}
		if usable == 0 && len(a.Versions) == 0 {
			aff.all = true
		}
	}
	for key := range rec.actions {
		res.Actions = append(res.Actions, key)
	}
	sort.Strings(res.Actions)
	if len(rec.actions) > 0 {
		l.records[r.ID] = rec
	}
	return res, nil
}

// Entries returns the compromised list: every action of an advisory about
// malicious code, with the overlays merged over it in the order they were
// added. Several advisories naming one action make one entry holding the
// union of their advisories, versions, ranges and sources.
func (l *List) Entries() map[string]Entry {
	out := map[string]Entry{}
	for _, rec := range l.sorted() {
		if !rec.malicious {
			continue
		}
		for key, aff := range rec.actions {
			e, ok := out[key]
			if !ok {
				e = newEntry()
			}
			e.Advisories = appendNew(e.Advisories, append([]string{rec.id}, rec.aliases...)...)
			if rec.summary != "" && !strings.Contains(e.Summary, rec.summary) {
				if e.Summary != "" {
					e.Summary += "; "
				}
				e.Summary += rec.summary
			}
			e.AllVersions = e.AllVersions || aff.all
			for v := range aff.versions {
				e.Versions[v] = true
			}
			for _, r := range aff.ranges {
				e.Ranges = appendRange(e.Ranges, r)
			}
			e.Sources = appendSources(e.Sources, Source{URL: advisoryURL(rec.id)})
			out[key] = e
		}
	}
	for _, o := range l.overlays {
		for key, oe := range o {
			e, ok := out[key]
			if !ok {
				e = newEntry()
			}
			out[key] = oe.mergeInto(e)
		}
	}
	return out
}

// Vulnerable returns the vulnerable list: every action of an advisory about
// an ordinary vulnerability, by action and advisory id.
func (l *List) Vulnerable() map[string]map[string]Entry {
	out := map[string]map[string]Entry{}
	for _, rec := range l.sorted() {
		if rec.malicious {
			continue
		}
		for key, aff := range rec.actions {
			e := newEntry()
			e.Advisories = appendNew(e.Advisories, append([]string{rec.id}, rec.aliases...)...)
			e.Summary = rec.summary
			e.AllVersions = aff.all
			for v := range aff.versions {
				e.Versions[v] = true
			}
			e.Ranges = append(e.Ranges, aff.ranges...)
			e.Sources = []Source{{URL: advisoryURL(rec.id)}}
			if out[key] == nil {
				out[key] = map[string]Entry{}
			}
			out[key][rec.id] = e
		}
	}
	return out
}

// sorted returns the records by id, so that the lists do not depend on the
// order of the files.
func (l *List) sorted() []*record {
	ids := make([]string, 0, len(l.records))
	for id := range l.records {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	recs := make([]*record, len(ids))
	for i, id := range ids {
		recs[i] = l.records[id]
	}
	return recs
}

func newEntry() Entry {
	return Entry{Advisories: []string{}, Commits: map[string]bool{}, Versions: map[string]bool{}, Ranges: []Range{}, Sources: []Source{}}
}

// malwareCWEs are the CWE ids of malicious code: CWE-506 (embedded
// malicious code) and its children, trojan horse to logic bomb.
var malwareCWEs = map[string]bool{
	"CWE-506": true, "CWE-507": true, "CWE-508": true, "CWE-509": true,
	"CWE-510": true, "CWE-511": true, "CWE-512": true,
}

// isMalicious says whether an advisory is about malicious code: an OSV
// malicious-packages record (MAL-…), a GitHub malware advisory, or a CWE of
// malicious code. A database_specific it cannot read makes a warning, and
// the record counts as an ordinary vulnerability.
func isMalicious(id string, dbSpecific json.RawMessage) (bool, string) {
	if strings.HasPrefix(strings.ToUpper(id), "MAL-") {
		return true, ""
	}
	if len(dbSpecific) == 0 || string(dbSpecific) == "null" {
		return false, ""
	}
	var ds struct {
		CWEIDs []string `json:"cwe_ids"`
		Type   string   `json:"type"`
	}
	if err := json.Unmarshal(dbSpecific, &ds); err != nil {
		return false, "database_specific not read (" + jsonError(err) + "): imported as a vulnerability, not as malicious code"
	}
	if strings.EqualFold(strings.TrimSpace(ds.Type), "malware") {
		return true, ""
	}
	for _, cwe := range ds.CWEIDs {
		if malwareCWEs[strings.ToUpper(strings.TrimSpace(cwe))] {
			return true, ""
		}
	}
	return false, ""
}

// advisoryURL is the public page of an advisory id.
func advisoryURL(id string) string {
	if strings.HasPrefix(id, "GHSA-") {
		return "https://github.com/advisories/" + id
	}
	return "https://osv.dev/vulnerability/" + id
}

// appendSources adds sources, merging the commits of one address.
func appendSources(ss []Source, add ...Source) []Source {
	for _, a := range add {
		i := slices.IndexFunc(ss, func(s Source) bool { return s.URL == a.URL })
		if i < 0 {
			ss = append(ss, Source{URL: a.URL, Commits: appendNew(nil, a.Commits...)})
			continue
		}
		ss[i].Commits = appendNew(ss[i].Commits, a.Commits...)
	}
	return ss
}

// Document returns the bundle data: the compromised list with its commit
// index, and the vulnerable list, both as additions.
func (l *List) Document() Document {
	var d Document
	c := &d.Runpolicy.CompromisedAdditions
	c.Actions = l.Entries()
	c.Commits = map[string]string{}
	names := make([]string, 0, len(c.Actions))
	for name := range c.Actions {
		names = append(names, name)
	}
	sort.Strings(names) // a commit listed under two actions points to the first
	for _, name := range names {
		for sha, bad := range c.Actions[name].Commits {
			if _, seen := c.Commits[sha]; bad && !seen {
				c.Commits[sha] = name
			}
		}
	}
	d.Runpolicy.VulnerableAdditions.Actions = l.Vulnerable()
	return d
}

// JSON encodes the bundle data, indented, keys sorted, ending in a newline.
func (l *List) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(l.Document(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode compromised list: %w", err)
	}
	return append(b, '\n'), nil
}

// namePattern is a GitHub Actions package: owner/repo with an optional
// path, in the characters GitHub allows in those names.
var namePattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?/[a-z0-9._-]+(?:/[a-z0-9._/-]+)?$`)

// actionName returns the lower-case key of a GitHub Actions package name.
func actionName(s string) (string, error) {
	key := strings.Trim(strings.ToLower(strings.TrimSpace(s)), "/")
	if !namePattern.MatchString(key) || strings.Contains(key, "//") || strings.Contains(key, "/../") || strings.HasSuffix(key, "/..") {
		return "", fmt.Errorf("package name %q is not owner/repo[/path]", s)
	}
	return key, nil
}

func appendRange(rs []Range, r Range) []Range {
	if slices.Contains(rs, r) {
		return rs
	}
	return append(rs, r)
}

func appendNew(ss []string, add ...string) []string {
	for _, s := range add {
		if s != "" && !slices.Contains(ss, s) {
			ss = append(ss, s)
		}
	}
	return ss
}

// jsonError says in one short line what is wrong with a JSON document;
// encoding/json's type errors spell out whole Go struct types.
func jsonError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		want := "a " + typeErr.Type.Kind().String()
		switch typeErr.Type.Kind() {
		case reflect.Slice, reflect.Array:
			want = "an array"
		case reflect.Struct, reflect.Map:
			want = "an object"
		}
		field := typeErr.Field
		if field == "" {
			field = "the document"
		}
		return fmt.Sprintf("%s is %s, want %s", field, typeErr.Value, want)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("invalid JSON at byte %d: %s", syntaxErr.Offset, err)
	}
	return oneline.Fold(err.Error())
}
