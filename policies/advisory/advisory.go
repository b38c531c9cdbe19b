// Package advisory builds runpolicy's compromised-action list from OSV
// records, the format of the GitHub Advisory Database, so that a policy
// repository can commit the list as bundle data.
//
// Advisories say which versions of an action are affected. They often name
// the malicious commit only in their prose, so a hand-written overlay (same
// per-action shape, YAML or JSON) adds what the records cannot carry and is
// merged over the import.
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
)

// Ecosystem is the OSV ecosystem of GitHub Actions packages.
const Ecosystem = "GitHub Actions"

// Entry is one action of the compromised list, as the Rego policies read it
// at data.runpolicy.compromised.actions["<owner>/<repo>[/<path>]"].
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
}

// Range is an OSV range of affected versions: from Introduced ("0": the
// beginning) up to Fixed (excluded) or LastAffected (included), or open.
type Range struct {
	Introduced   string `json:"introduced"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
}

// Document is the bundle data file the importer writes.
type Document struct {
	Runpolicy struct {
		Compromised struct {
			Actions map[string]Entry `json:"actions"`
			// Commits maps each malicious commit to its action, so that a
			// commit is caught under any name (an imposter commit in a fork).
			Commits map[string]string `json:"commits"`
		} `json:"compromised"`
	} `json:"runpolicy"`
}

// List collects imported advisories and overlays. The result does not
// depend on the order records are imported in.
type List struct {
	records  map[string]*record // by advisory id
	overlays []map[string]overlayEntry
}

// record is what one advisory says about GitHub Actions packages.
type record struct {
	id      string
	aliases []string
	summary string
	actions map[string]*affected
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
	Withdrawn bool     // the advisory was withdrawn; nothing was taken
	Warnings  []string // parts that were read but could not be used
}

// osvRecord is the part of an OSV record the importer reads.
type osvRecord struct {
	ID        string   `json:"id"`
	Withdrawn string   `json:"withdrawn"`
	Summary   string   `json:"summary"`
	Aliases   []string `json:"aliases"`
	Affected  []struct {
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
	rec := &record{id: r.ID, summary: oneLine(r.Summary), actions: map[string]*affected{}}
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

// Entries returns the compromised list: every imported action, with the
// overlays merged over it in the order they were added.
func (l *List) Entries() map[string]Entry {
	ids := make([]string, 0, len(l.records))
	for id := range l.records {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := map[string]Entry{}
	for _, id := range ids {
		rec := l.records[id]
		for key, aff := range rec.actions {
			e, ok := out[key]
			if !ok {
				e = Entry{Advisories: []string{}, Commits: map[string]bool{}, Versions: map[string]bool{}, Ranges: []Range{}}
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
			out[key] = e
		}
	}
	for _, o := range l.overlays {
		for key, oe := range o {
			out[key] = oe.mergeInto(out[key])
		}
	}
	return out
}

// Document returns the bundle data: the list and the commit index.
func (l *List) Document() Document {
	var d Document
	d.Runpolicy.Compromised.Actions = l.Entries()
	d.Runpolicy.Compromised.Commits = map[string]string{}
	names := make([]string, 0, len(d.Runpolicy.Compromised.Actions))
	for name := range d.Runpolicy.Compromised.Actions {
		names = append(names, name)
	}
	sort.Strings(names) // a commit listed under two actions points to the first
	for _, name := range names {
		for sha, bad := range d.Runpolicy.Compromised.Actions[name].Commits {
			if _, seen := d.Runpolicy.Compromised.Commits[sha]; bad && !seen {
				d.Runpolicy.Compromised.Commits[sha] = name
			}
		}
	}
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
	return oneLine(err.Error())
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
