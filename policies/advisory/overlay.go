package advisory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/runpolicy/runpolicy/internal/oneline"
)

// overlayEntry is one action of an overlay file. Every field is optional;
// a field that is present changes the imported entry:
//
//   - advisories are added to the imported ones;
//   - summary, when not empty, replaces the imported summary;
//   - all_versions, when present, replaces the imported value;
//   - commits and versions: true adds, false removes (a false positive);
//     a plain list adds every item;
//   - ranges are added to the imported ones;
//   - sources ({url, commits}) are added to the imported ones.
//
// An overlay changes the imported compromised list only; the built-in list
// is read beside it by the policy, so an overlay cannot narrow that.
type overlayEntry struct {
	Advisories  []string `json:"advisories"`
	Summary     string   `json:"summary"`
	AllVersions *bool    `json:"all_versions"`
	Commits     boolSet  `json:"commits"`
	Versions    boolSet  `json:"versions"`
	Ranges      []Range  `json:"ranges"`
	Sources     []Source `json:"sources"`
}

// boolSet reads {"x": true, "y": false} or ["x", "y"] (all true).
type boolSet map[string]bool

func (s *boolSet) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*s = boolSet{}
		for _, v := range list {
			(*s)[v] = true
		}
		return nil
	}
	var m map[string]bool
	if err := json.Unmarshal(b, &m); err != nil {
		return errors.New("want a map of string to true/false, or a list of strings")
	}
	*s = m
	return nil
}

// overlayFile is an overlay: the actions map alone, or a whole bundle data
// document (so that a committed list, imported or built-in, can serve as an
// overlay).
type overlayFile struct {
	Actions   map[string]overlayEntry `json:"actions"`
	Runpolicy *struct {
		Compromised          *overlayList    `json:"compromised"`
		CompromisedAdditions *overlayList    `json:"compromised_additions"`
		Vulnerable           json.RawMessage `json:"vulnerable"`           // not an overlay's business; ignored
		VulnerableAdditions  json.RawMessage `json:"vulnerable_additions"` // likewise
	} `json:"runpolicy"`
}

type overlayList struct {
	Actions map[string]overlayEntry `json:"actions"`
	Commits json.RawMessage         `json:"commits"` // derived; ignored
}

var commitPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Overlay reads an overlay file (YAML or JSON) and merges it over the
// import. Unknown keys, bad action names, commits that are not full SHAs
// and ranges without introduced are errors naming the file and the action.
func (l *List) Overlay(name string, src []byte) error {
	js, err := yaml.YAMLToJSON(src)
	if err != nil {
		return fmt.Errorf("%s: not YAML or JSON: %s", name, oneline.Fold(err.Error()))
	}
	var f overlayFile
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %s", name, oneline.Fold(err.Error()))
	}
	actions, forms := f.Actions, 0
	if f.Actions != nil {
		forms++
	}
	if f.Runpolicy != nil {
		for _, l := range []*overlayList{f.Runpolicy.Compromised, f.Runpolicy.CompromisedAdditions} {
			if l != nil {
				actions, forms = l.Actions, forms+1
			}
		}
	}
	if forms > 1 {
		return fmt.Errorf("%s: more than one of actions, runpolicy.compromised.actions and runpolicy.compromised_additions.actions is set", name)
	}
	clean := map[string]overlayEntry{}
	for raw, e := range actions {
		key, err := actionName(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if _, dup := clean[key]; dup {
			return fmt.Errorf("%s: %s is listed twice", name, key)
		}
		commits := boolSet{}
		for sha, v := range e.Commits {
			sha = strings.ToLower(strings.TrimSpace(sha))
			if !commitPattern.MatchString(sha) {
				return fmt.Errorf("%s: %s: commit %q is not a full 40-hex SHA", name, key, sha)
			}
			commits[sha] = v
		}
		e.Commits = commits
		for i, r := range e.Ranges {
			if r.Introduced == "" {
				return fmt.Errorf("%s: %s: ranges[%d] has no introduced", name, key, i)
			}
			if r.Fixed != "" && r.LastAffected != "" {
				return fmt.Errorf("%s: %s: ranges[%d] has both fixed and last_affected", name, key, i)
			}
		}
		for i, src := range e.Sources {
			if !strings.HasPrefix(src.URL, "https://") || strings.ContainsAny(src.URL, " \t\n") {
				return fmt.Errorf("%s: %s: sources[%d]: url %q is not an https:// address", name, key, i, src.URL)
			}
			for j, sha := range src.Commits {
				sha = strings.ToLower(strings.TrimSpace(sha))
				if !commitPattern.MatchString(sha) {
					return fmt.Errorf("%s: %s: sources[%d].commits[%d]: %q is not a full 40-hex SHA", name, key, i, j, sha)
				}
				e.Sources[i].Commits[j] = sha
			}
		}
		e.Summary = oneline.Fold(e.Summary)
		clean[key] = e
	}
	l.overlays = append(l.overlays, clean)
	return nil
}

// mergeInto returns e changed by the overlay entry.
func (o overlayEntry) mergeInto(e Entry) Entry {
	out := Entry{
		Advisories:  appendNew(append([]string{}, e.Advisories...), o.Advisories...),
		Summary:     e.Summary,
		AllVersions: e.AllVersions,
		Commits:     map[string]bool{},
		Versions:    map[string]bool{},
		Ranges:      append([]Range{}, e.Ranges...),
		Sources:     appendSources(nil, e.Sources...),
	}
	if out.Sources == nil {
		out.Sources = []Source{}
	}
	if o.Summary != "" {
		out.Summary = o.Summary
	}
	if o.AllVersions != nil {
		out.AllVersions = *o.AllVersions
	}
	merge := func(dst, base map[string]bool, over boolSet) {
		for k, v := range base {
			dst[k] = v
		}
		for k, v := range over {
			if v {
				dst[k] = true
			} else {
				delete(dst, k)
			}
		}
	}
	merge(out.Commits, e.Commits, o.Commits)
	merge(out.Versions, e.Versions, o.Versions)
	for _, r := range o.Ranges {
		out.Ranges = appendRange(out.Ranges, r)
	}
	out.Sources = appendSources(out.Sources, o.Sources...)
	return out
}
