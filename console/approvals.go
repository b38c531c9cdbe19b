package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/runpolicy/runpolicy/webhook/store"
)

// Page 6: approvals. The workflow versions maintainers approved from a
// check run, newest first, within the reader's scope as the evaluations
// are. An administrator of a repository (an owner of its organization, a
// console_admins member) revokes its approvals through the admin API's
// own revoke, so that each revoke is an event in the decision log naming
// who revoked.

// Revoke revokes an approval for by, recording the revoke in the
// decision log (*webhook.Server's RevokeApproval); revoked is false when
// it was revoked already.
type Revoke func(ctx context.Context, id, by string) (a store.Approval, revoked bool, err error)

// approvalsLimit caps the list; the page says when more were cut.
const approvalsLimit = 200

type approvalRow struct {
	store.Approval
	// State is active, expired or revoked.
	State  string
	RunURL string
	// Revocable: the viewer may revoke it, and it is not revoked yet.
	Revocable bool
}

type approvalsData struct {
	common
	Rows []approvalRow
	More bool
	// Revoke shows the revoke column: the console can revoke and the
	// viewer administers something.
	Revoke bool
}

func (c *Console) approvals(w http.ResponseWriter, r *http.Request, v *viewer) {
	list, err := c.opts.Store.ApprovalsIn(r.Context(), v.access.scope, approvalsLimit+1)
	if err != nil {
		c.log.Error("console: approvals", "err", err)
		c.fail(w, r, http.StatusInternalServerError, "The approvals could not be read.")
		return
	}
	data := approvalsData{common: c.common(r, v, "Approvals"), Revoke: c.opts.Revoke != nil && v.access.admin}
	data.Nav = "approvals"
	if len(list) > approvalsLimit {
		list, data.More = list[:approvalsLimit], true
	}
	now := time.Now()
	for _, a := range list {
		row := approvalRow{Approval: a, State: "active", RunURL: c.web + "/" + a.Repository + "/actions/runs/" + strconv.FormatInt(a.RunID, 10)}
		switch {
		case !a.RevokedAt.IsZero():
			row.State = "revoked"
		case !a.Active(now):
			row.State = "expired"
		}
		row.Revocable = data.Revoke && row.State != "revoked" && v.access.administers(a.Repository)
		data.Rows = append(data.Rows, row)
	}
	c.render(w, http.StatusOK, "approvals", data)
}

// revokeApproval revokes an approval from its row's form and sends the
// browser back to the list, which shows it revoked. Whoever may not
// revoke it gets the answer an approval that does not exist gets.
func (c *Console) revokeApproval(w http.ResponseWriter, r *http.Request, v *viewer) {
	const missing = "There is no such approval for you to revoke."
	if c.opts.Revoke == nil || !v.access.admin {
		c.fail(w, r, http.StatusNotFound, missing)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if !c.keys.checkCSRF(v.sess.ID, r.PostFormValue("csrf")) {
		c.fail(w, r, http.StatusForbidden, "This form is out of date: reload the page and send it again.")
		return
	}
	id := r.PathValue("id")
	var a store.Approval
	err := store.ErrNotFound
	if len(id) <= 255 {
		a, err = c.opts.Store.Approval(r.Context(), id)
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && !v.access.administers(a.Repository)) {
		c.fail(w, r, http.StatusNotFound, missing)
		return
	}
	if err != nil {
		c.log.Error("console: approval", "approval", id, "err", err)
		c.fail(w, r, http.StatusInternalServerError, "The approval could not be read.")
		return
	}
	// The revoke logs itself, naming the console user as who revoked.
	if _, _, err := c.opts.Revoke(r.Context(), id, v.sess.Login); err != nil {
		c.log.Error("console: revoke approval", "approval", id, "err", err)
		c.fail(w, r, http.StatusInternalServerError, "The approval could not be revoked.")
		return
	}
	http.Redirect(w, r, c.base+"approvals", http.StatusSeeOther)
}
