package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/runpolicy/runpolicy/bundles"
	"github.com/runpolicy/runpolicy/internal/bounded"
	"github.com/runpolicy/runpolicy/replay"
	"github.com/runpolicy/runpolicy/webhook/store"
)

// Page 5: replay. A candidate policy source (a configured source at
// another ref, or an uploaded bundle) is run over the stored input documents of a time window,
// and the page shows what it would change. Administrators only, and each
// sees only the replays whose scope is inside their own: a console_admins
// member replays everything, an organization owner the organizations
// they own.

// Replays is what the console uses of the replay runner (*replay.Runner).
type Replays interface {
	Start(ctx context.Context, req replay.Request, requestedBy string) (string, error)
	Status(ctx context.Context, id string) (*replay.Status, error)
	List(ctx context.Context, limit int) ([]replay.Status, error)
}

// replayForm is the start form as it shows it. A candidate is a
// configured source at another ref (Policy) or an uploaded bundle, beside
// the configured sources or in place of one (Replace).
type replayForm struct {
	Policy, Replace, Since, Until, Repository string
}

type replaysData struct {
	common
	Form    replayForm
	Sources []string
	// Upload offers the bundle upload: to console_admins members only.
	Upload bool
	Error  string
	List   []replay.Status
}

type replayData struct {
	common
	replay.Status
	Percent int
}

// replayScope is the scope a viewer's replays cover: everything for a
// console_admins member, the organizations they own for an owner (not the
// single repositories they read elsewhere, which keeps the record small).
func replayScope(a *access) store.Scope {
	if a.scope.All {
		return store.Scope{All: true}
	}
	return store.Scope{Owners: slices.Clone(a.scope.Owners)}
}

// covers reports whether a reader's scope sees all a replay's scope does.
func covers(reader, sc store.Scope) bool {
	if reader.All {
		return true
	}
	if sc.All {
		return false
	}
	for _, o := range sc.Owners {
		if !slices.ContainsFunc(reader.Owners, func(r string) bool { return strings.EqualFold(r, o) }) {
			return false
		}
	}
	for _, r := range sc.Repositories {
		if !reader.Allows(r) {
			return false
		}
	}
	return true
}

// replayAllowed answers 404 to whoever may not replay: not a trace of
// the pages, as for a path that does not exist.
func (c *Console) replayAllowed(w http.ResponseWriter, r *http.Request, v *viewer) bool {
	if c.opts.Replays == nil || !v.access.admin {
		c.fail(w, r, http.StatusNotFound, "There is no such page.")
		return false
	}
	return true
}

func (c *Console) replaysPage(w http.ResponseWriter, r *http.Request, v *viewer, status int, form replayForm, msg string) {
	data := replaysData{common: c.common(r, v, "Replay"), Form: form, Error: msg, Upload: v.access.scope.All}
	data.Nav = "replay"
	for _, s := range c.opts.Bundles() {
		data.Sources = append(data.Sources, s.Name)
	}
	list, err := c.opts.Replays.List(r.Context(), 100)
	if err != nil {
		c.log.Error("console: replays", "err", err)
		c.fail(w, r, http.StatusInternalServerError, "The replays could not be read.")
		return
	}
	for _, st := range list {
		if covers(v.access.scope, st.Request.Scope) {
			data.List = append(data.List, st)
		}
	}
	c.render(w, status, "replays", data)
}

func (c *Console) replays(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !c.replayAllowed(w, r, v) {
		return
	}
	c.replaysPage(w, r, v, http.StatusOK, replayForm{Since: "7d"}, "")
}

// startReplay starts a replay from the form and sends the browser to its
// page.
func (c *Console) startReplay(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !c.replayAllowed(w, r, v) {
		return
	}
	// The form may carry a bundle: room for the largest, and the fields.
	r.Body = http.MaxBytesReader(w, r.Body, bundles.MaxBundleBytes+64<<10)
	upload, err := readReplayForm(r)
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll() //nolint:errcheck // temporary files of the upload, whatever became of the parse
	}
	if err != nil {
		c.log.Info("console: replay form unreadable", "login", v.sess.Login, "err", err)
		c.fail(w, r, http.StatusBadRequest, fmt.Sprintf("The form could not be read (a bundle may be at most %d MiB).", bundles.MaxBundleBytes>>20))
		return
	}
	if !c.keys.checkCSRF(v.sess.ID, r.PostFormValue("csrf")) {
		c.fail(w, r, http.StatusForbidden, "This form is out of date: reload the page and send it again.")
		return
	}
	form := replayForm{Policy: strings.TrimSpace(r.PostFormValue("policy")), Replace: strings.TrimSpace(r.PostFormValue("replace")),
		Since: strings.TrimSpace(r.PostFormValue("since")), Until: strings.TrimSpace(r.PostFormValue("until")),
		Repository: strings.TrimSpace(r.PostFormValue("repository"))}
	bad := func(msg string) { c.replaysPage(w, r, v, http.StatusBadRequest, form, msg) }
	req := replay.Request{Policy: form.Policy, Bundle: upload, Scope: replayScope(v.access)}
	now := time.Now()
	// First the candidate: a source at another ref, or an upload.
	switch {
	case form.Policy != "" && len(upload) > 0:
		bad("candidate: give a source at another ref or upload a bundle, not both")
		return
	case len(upload) > 0 && !v.access.scope.All:
		// An uploaded bundle is any Rego, evaluated on the server beside
		// every configured source's data: console_admins members only.
		bad("bundle: only members of the console_admins team may upload a bundle; replay a configured source at another ref")
		return
	case len(upload) > 0:
		if form.Replace != "" && !slices.ContainsFunc(c.opts.Bundles(), func(s bundles.SourceStatus) bool { return s.Name == form.Replace }) {
			bad("replace: not a configured bundle source")
			return
		}
		req.Replace = form.Replace
	case form.Policy == "" || len(form.Policy) > 512:
		bad("candidate: want a configured source at another ref, NAME@REF, or an uploaded bundle (.tar.gz)")
		return
	case form.Replace != "":
		bad("replace: applies to an uploaded bundle only")
		return
	}
	// Then the window and the repository, whatever the candidate.
	switch {
	case form.Since == "":
		bad("since: required (7d, 36h, 2026-03-01)")
		return
	case !ownerName(form.Repository):
		bad("repository: want owner/name")
		return
	case form.Repository != "" && !req.Scope.Allows(form.Repository):
		bad("repository: not one of the repositories you may replay (owner/name)")
		return
	}
	req.Repository = form.Repository
	if req.Since, err = replay.ParseTime(form.Since, now); err != nil {
		bad("since: " + err.Error())
		return
	}
	if form.Until != "" {
		if req.Until, err = replay.ParseTime(form.Until, now); err != nil {
			bad("until: " + err.Error())
			return
		}
	}
	id, err := c.opts.Replays.Start(r.Context(), req, v.sess.Login)
	switch {
	case errors.Is(err, replay.ErrBusy):
		c.replaysPage(w, r, v, http.StatusConflict, form, "A replay is already running on this server: wait for it to finish.")
		return
	case errors.Is(err, replay.ErrRefused):
		bad(err.Error())
		return
	case err != nil:
		c.log.Error("console: start replay", "err", err)
		c.fail(w, r, http.StatusInternalServerError, "The replay could not be started.")
		return
	}
	c.log.Info("console: replay started", "replay", id, "login", v.sess.Login, "candidate", req.Candidate())
	http.Redirect(w, r, c.base+"replays/"+id, http.StatusSeeOther)
}

// replay shows a replay's progress (the page reloads itself while it
// runs) and then its result.
func (c *Console) replay(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !c.replayAllowed(w, r, v) {
		return
	}
	id := r.PathValue("id")
	var st *replay.Status
	var err error
	if len(id) <= 64 {
		st, err = c.opts.Replays.Status(r.Context(), id)
	} else {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && !covers(v.access.scope, st.Request.Scope)) {
		c.fail(w, r, http.StatusNotFound, "There is no such replay.")
		return
	}
	if err != nil {
		c.log.Error("console: replay", "replay", id, "err", err)
		c.fail(w, r, http.StatusInternalServerError, "The replay could not be read.")
		return
	}
	data := replayData{common: c.common(r, v, "Replay"), Status: *st}
	data.Nav = "replay"
	if st.Total > 0 {
		data.Percent = min(100, st.Done*100/st.Total)
	}
	if st.State == store.ReplayRunning {
		data.Refresh = 2
	}
	c.render(w, http.StatusOK, "replay", data)
}

// readReplayForm parses the start form, a plain one or one with a bundle
// (multipart), and returns the uploaded bundle, nil when none was chosen.
// The caller removes r.MultipartForm's files when it is set, even after an
// error: a parse can fail after it spooled the upload to disk.
func readReplayForm(r *http.Request) ([]byte, error) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return nil, r.ParseForm()
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		return nil, err
	}
	f, _, err := r.FormFile("bundle")
	if errors.Is(err, http.ErrMissingFile) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := bounded.ReadAll(f, bundles.MaxBundleBytes)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return b, nil
}
