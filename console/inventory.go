package console

import (
	"net/http"
	"strings"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// Page 3: the inventory. Who used an action or reusable workflow (by
// name, optionally @ref or SHA), or what one repository uses; only within
// the reader's scope, so a repository they cannot read leaves no trace.

// inventoryLimit caps the rows of one answer; the page says when more
// were cut.
const inventoryLimit = 500

// ownerName reports whether a form's repository field is empty or has the
// shape owner/name within GitHub's length; the store matches it exactly.
func ownerName(repo string) bool {
	return repo == "" || (len(repo) <= 255 && strings.Count(repo, "/") == 1)
}

type inventoryData struct {
	common
	// Uses and Repository are the two questions as the forms show them.
	Uses, Repository string
	Error            string
	// Asked says a question was answered (an empty answer is an answer).
	Asked bool
	Rows  []inventoryRow
	More  bool
}

type inventoryRow struct {
	store.InventoryEntry
	RunURL string
}

func (c *Console) inventory(w http.ResponseWriter, r *http.Request, v *viewer) {
	data := inventoryData{common: c.common(r, v, "Inventory")}
	data.Nav = "inventory"
	q := r.URL.Query()
	data.Uses, data.Repository = strings.TrimSpace(q.Get("uses")), strings.TrimSpace(q.Get("repository"))
	iq := store.InventoryQuery{Scope: v.access.scope, Limit: inventoryLimit}
	switch {
	case data.Uses == "" && data.Repository == "":
		c.render(w, http.StatusOK, "inventory", data)
		return
	case data.Uses != "" && data.Repository != "":
		data.Error = "uses and repository exclude each other: ask one question at a time"
	case len(data.Uses) > 512:
		data.Error = "uses: at most 512 characters"
	case !ownerName(data.Repository):
		data.Error = "repository: want owner/name"
	case data.Uses != "":
		var err error
		if iq.Name, iq.Ref, err = store.ParseInventoryName(data.Uses); err != nil {
			data.Error = "uses: " + strings.TrimPrefix(err.Error(), "inventory: ")
		}
	default:
		iq.Repository = data.Repository
	}
	if data.Error != "" {
		c.render(w, http.StatusBadRequest, "inventory", data)
		return
	}
	rows, more, err := c.opts.Store.Inventory(r.Context(), iq)
	if err != nil {
		c.log.Error("console: inventory", "err", err)
		c.fail(w, r, http.StatusInternalServerError, "The inventory could not be read.")
		return
	}
	data.Asked, data.More = true, more
	for _, e := range rows {
		data.Rows = append(data.Rows, inventoryRow{InventoryEntry: e, RunURL: c.runURL(e.Repository, e.LastRunID, e.LastRunAttempt)})
	}
	c.render(w, http.StatusOK, "inventory", data)
}
