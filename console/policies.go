package console

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/runpolicy/runpolicy/bundles"
)

// Page 4: the active bundles and the effective settings for a chosen
// repository. Administrators only: console_admins members, and owners of
// an organization the App is on (who choose among their repositories).

type policySetting struct {
	Policy, Mode string
	// Settings is the rest of the policy's settings as indented JSON.
	Settings string
}

type policiesData struct {
	common
	Sources    []bundles.SourceStatus
	Revisions  [][2]string
	Repository string
	Error      string
	Patterns   []string
	Settings   []policySetting
}

func (c *Console) policies(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !v.access.admin {
		// Not a trace of the page for others: the same answer as a path
		// that does not exist.
		c.fail(w, r, http.StatusNotFound, "There is no such page.")
		return
	}
	data := policiesData{common: c.common(r, v, "Policies"), Sources: c.opts.Bundles()}
	data.Nav = "policies"
	for name, rev := range c.opts.Engine.Revisions() {
		data.Revisions = append(data.Revisions, [2]string{name, rev})
	}
	slices.SortFunc(data.Revisions, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	repo := strings.TrimSpace(r.URL.Query().Get("repository"))
	data.Repository = repo
	status := http.StatusOK
	switch {
	case repo == "":
	case len(repo) > 255 || !v.access.scope.Allows(repo):
		// An owner asks about their organizations' repositories only:
		// another's overrides are not theirs to see.
		data.Error, status = "repository: not one of the repositories you can see (owner/name)", http.StatusBadRequest
	default:
		s, err := c.opts.Engine.Settings(r.Context(), repo)
		if err != nil {
			c.log.Warn("console: settings", "repository", repo, "err", err)
			data.Error, status = "repository: the settings could not be computed (owner/name)", http.StatusBadRequest
			break
		}
		data.Patterns = s.Patterns
		for name, set := range s.Policies {
			mode, _ := set["mode"].(string)
			rest := map[string]any{}
			for k, val := range set {
				if k != "mode" {
					rest[k] = val
				}
			}
			b, _ := json.MarshalIndent(rest, "", "  ")
			data.Settings = append(data.Settings, policySetting{Policy: name, Mode: mode, Settings: string(b)})
		}
		slices.SortFunc(data.Settings, func(a, b policySetting) int { return strings.Compare(a.Policy, b.Policy) })
	}
	c.render(w, status, "policies", data)
}
