package fakegithub

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// largeFile is the size above which the contents API answers without the
// content (encoding "none") and the raw media type is needed, as on GitHub.
const largeFile = 1 << 20

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /app/installations/{id}/access_tokens", s.accessToken)
	mux.HandleFunc("GET /repos/{owner}/{repo}/installation", s.repoInstallation)
	mux.HandleFunc("GET /app/hook/deliveries", s.listDeliveries)
	mux.HandleFunc("POST /app/hook/deliveries/{id}/attempts", s.redeliver)
	mux.HandleFunc("GET /repos/{owner}/{repo}/contents/{path...}", s.contents)
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{ref}", s.commit)
	mux.HandleFunc("GET /repos/{owner}/{repo}/branches", s.listRefs("branch"))
	mux.HandleFunc("GET /repos/{owner}/{repo}/tags", s.listRefs("tag"))
	mux.HandleFunc("GET /repos/{owner}/{repo}/compare/{basehead...}", s.compare)
	mux.HandleFunc("GET /repos/{owner}/{repo}/git/tags/{sha}", s.getTag)
	mux.HandleFunc("GET /repos/{owner}/{repo}/actions/runs/{id}", s.getRun)
	mux.HandleFunc("POST /repos/{owner}/{repo}/actions/runs/{id}/cancel", s.cancelRun)
	mux.HandleFunc("POST /repos/{owner}/{repo}/actions/runs/{id}/force-cancel", s.forceCancelRun)
	mux.HandleFunc("POST /repos/{owner}/{repo}/actions/runs/{id}/rerun", s.rerunRun)
	mux.HandleFunc("GET /repos/{owner}/{repo}/collaborators/{username}/permission", s.permission)
	mux.HandleFunc("POST /repos/{owner}/{repo}/check-runs", s.createCheckRun)
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/check-runs/{id}", s.updateCheckRun)
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", s.listCheckRuns)
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/comments", s.createComment)
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}/comments", s.listComments)
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/issues/comments/{id}", s.updateComment)
	mux.HandleFunc("GET /login/oauth/authorize", s.authorize)
	mux.HandleFunc("POST /login/oauth/authorize", s.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", s.userAccessToken)
	mux.HandleFunc("GET /user", s.getUser)
	mux.HandleFunc("GET /user/installations", s.userInstallations)
	mux.HandleFunc("GET /user/installations/{id}/repositories", s.userInstallationRepos)
	mux.HandleFunc("GET /user/memberships/orgs/{org}", s.orgMembership)
	mux.HandleFunc("GET /orgs/{org}/teams/{team}/memberships/{username}", s.teamMembership)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notFound(w) })
	return s.middleware(mux)
}

func repoOf(r *http.Request) string { return r.PathValue("owner") + "/" + r.PathValue("repo") }

// ---- App endpoints (JWT) ----

func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	if !s.requireJWT(w, r) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	known := false
	for _, v := range s.installations {
		known = known || v == id
	}
	tok, expires := randomToken(), time.Now().Add(s.tokenTTL)
	if known {
		s.tokens[tok] = token{installation: id, expires: expires}
	}
	s.mu.Unlock()
	if !known {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"token":                tok,
		"expires_at":           expires.UTC().Format(time.RFC3339),
		"permissions":          map[string]string{"actions": "write", "checks": "write", "contents": "read", "metadata": "read", "pull_requests": "write"},
		"repository_selection": "all",
	})
}

func (s *Server) repoInstallation(w http.ResponseWriter, r *http.Request) {
	if !s.requireJWT(w, r) {
		return
	}
	s.mu.Lock()
	id, ok := s.installations[strings.ToLower(r.PathValue("owner"))]
	s.mu.Unlock()
	if !ok {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "app_id": s.appID,
		"account": map[string]any{"login": r.PathValue("owner")}})
}

// HookDelivery is one entry of the App's webhook delivery log.
type HookDelivery struct {
	ID          int64
	GUID        string
	Event       string
	Action      string
	StatusCode  int // 0 when GitHub could not connect
	Status      string
	DeliveredAt time.Time
	Redelivery  bool
	// Payload is the body GitHub would send again.
	Payload []byte
}

func (d *HookDelivery) json() map[string]any {
	return map[string]any{
		"id": d.ID, "guid": d.GUID, "delivered_at": d.DeliveredAt.UTC().Format(time.RFC3339),
		"redelivery": d.Redelivery, "duration": 0.1, "status": d.Status, "status_code": d.StatusCode,
		"event": d.Event, "action": d.Action, "installation_id": nil, "repository_id": nil,
	}
}

// AddHookDelivery adds an entry to the delivery log (newest are listed first).
func (s *Server) AddHookDelivery(d HookDelivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.ID == 0 {
		d.ID = s.newID()
	}
	if d.DeliveredAt.IsZero() {
		d.DeliveredAt = time.Now()
	}
	if d.Status == "" {
		d.Status = statusText(d.StatusCode)
	}
	s.deliveries = append(s.deliveries, &d)
}

// HookDeliveries returns the delivery log, oldest first.
func (s *Server) HookDeliveries() []HookDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]HookDelivery, 0, len(s.deliveries))
	for _, d := range s.deliveries {
		out = append(out, *d)
	}
	return out
}

func statusText(code int) string {
	if code == 0 {
		return "Connection refused"
	}
	if code >= 200 && code < 300 {
		return "OK"
	}
	return http.StatusText(code)
}

// listDeliveries pages newest first with an opaque cursor, as GitHub does.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	if !s.requireJWT(w, r) {
		return
	}
	perPage, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if perPage <= 0 || perPage > 100 {
		perPage = 30
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	s.mu.Lock()
	all := make([]*HookDelivery, len(s.deliveries))
	copy(all, s.deliveries)
	s.mu.Unlock()
	sort.SliceStable(all, func(i, j int) bool { return all[i].DeliveredAt.After(all[j].DeliveredAt) })
	end := min(start+perPage, len(all))
	page := []map[string]any{}
	for _, d := range all[min(start, len(all)):end] {
		page = append(page, d.json())
	}
	if end < len(all) {
		next := fmt.Sprintf("%s%s?per_page=%d&cursor=%d", s.URL(), r.URL.Path, perPage, end)
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next))
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) redeliver(w http.ResponseWriter, r *http.Request) {
	if !s.requireJWT(w, r) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	var orig *HookDelivery
	for _, d := range s.deliveries {
		if d.ID == id {
			orig = d
		}
	}
	fn := s.onRedeliver
	s.mu.Unlock()
	if orig == nil {
		notFound(w)
		return
	}
	again := *orig
	again.Redelivery = true
	writeJSON(w, http.StatusAccepted, map[string]any{})
	go func() {
		code := 0
		if fn != nil {
			code = fn(again)
		}
		again.ID, again.DeliveredAt, again.StatusCode, again.Status = 0, time.Now(), code, ""
		s.AddHookDelivery(again)
	}()
}

// ---- repository contents ----

func (s *Server) lookupFile(repo, ref, p string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ref == "" {
		ref = s.defaultBranch[repo]
		if ref == "" {
			ref = "main"
		}
	}
	ref = s.peel(repo, ref)
	b, ok := s.files[fileKey{repo, ref, p}]
	if !ok && s.visible(repo, ref) {
		// A commit of the fork network, served under this repository's name.
		b, ok = s.files[fileKey{s.commitRepo[ref], ref, p}]
		if !ok {
			for k, f := range s.files {
				if k.ref == ref && k.path == p && strings.EqualFold(k.repo, s.commitRepo[ref]) {
					b, ok = f, true
				}
			}
		}
	}
	return b, ok
}

func (s *Server) contents(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	repo, p := repoOf(r), r.PathValue("path")
	if u := s.userOf(r); u != nil && u.permission(repo) == "" {
		// A user's token reads only what the user may read.
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/repos/contents#get-repository-content")
		return
	}
	content, ok := s.lookupFile(repo, r.URL.Query().Get("ref"), p)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/repos/contents#get-repository-content")
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "raw") {
		w.Header().Set("Content-Type", "application/vnd.github.raw")
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(content)
		return
	}
	encoding, encoded := "none", ""
	if len(content) <= largeFile {
		encoding, encoded = "base64", wrap(base64.StdEncoding.EncodeToString(content))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"type": "file", "encoding": encoding, "size": len(content), "name": path.Base(p), "path": p,
		"content": encoded, "sha": s.blobSHA(content),
		"url":          fmt.Sprintf("%s/repos/%s/contents/%s", s.URL(), repo, p),
		"download_url": fmt.Sprintf("%s/raw/%s/%s", s.URL(), repo, p),
	})
}

// wrap breaks base64 into 60-character lines, as the contents API does.
func wrap(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60])
		b.WriteByte('\n')
		s = s[60:]
	}
	b.WriteString(s)
	b.WriteByte('\n')
	return b.String()
}

// blobKey names stored content by its memory: the same slice served for
// many runs is hashed once.
type blobKey struct {
	data *byte
	n    int
}

// blobSHA is blobSHA, cached per stored content (a 50 MB file served to
// many runs would otherwise cost a hash each time).
func (s *Server) blobSHA(b []byte) string {
	if len(b) == 0 {
		return blobSHA(b)
	}
	key := blobKey{&b[0], len(b)}
	s.mu.Lock()
	sum, ok := s.blobs[key]
	s.mu.Unlock()
	if ok {
		return sum
	}
	sum = blobSHA(b)
	s.mu.Lock()
	s.blobs[key] = sum
	s.mu.Unlock()
	return sum
}

func blobSHA(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// commit answers GET /repos/{o}/{r}/commits/{ref}; with the sha media type
// the body is the bare commit sha, its ETag the quoted sha, and a request
// whose If-None-Match names it gets 304 Not Modified (which GitHub does not
// count against the rate limit). A commit of another repository of the
// fork network is served like the repository's own, as GitHub does; a
// commit the fake has no record of is taken as the repository's own.
func (s *Server) commit(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	ref := r.PathValue("ref")
	s.mu.Lock()
	ref = s.peel(repoOf(r), ref)
	sha, ok := s.refs[fileKey{repo: repoOf(r), ref: ref}]
	if !ok && len(ref) == 40 {
		_, recorded := s.commitRepo[ref]
		sha, ok = ref, !recorded || s.visible(repoOf(r), ref)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+ref, "https://docs.github.com/rest/commits/commits#get-a-commit")
		return
	}
	etag := `"` + sha + `"`
	if strings.Contains(r.Header.Get("Accept"), "sha") {
		w.Header().Set("ETag", etag)
		if inm := r.Header.Get("If-None-Match"); inm != "" && strings.TrimPrefix(inm, "W/") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.github.sha")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(sha))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sha": sha})
}

// ---- workflow runs ----

// Run is a workflow run the fake knows.
type Run struct {
	Repo         string // owner/name
	ID           int64
	Attempt      int
	Number       int
	Name         string
	Path         string
	Event        string
	HeadSHA      string
	HeadBranch   string
	HeadRepo     string // defaults to Repo; another owner/name for a fork
	Actor        string
	PullRequests []int
	// Status is queued, in_progress or completed; Conclusion is set when completed.
	Status     string
	Conclusion string
	// IgnoreCancel keeps the run in progress after a cancel (a stuck run),
	// so that only force-cancel ends it.
	IgnoreCancel bool
}

// AddRun adds or replaces a run.
func (s *Server) AddRun(run Run) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if run.Attempt == 0 {
		run.Attempt = 1
	}
	if run.Status == "" {
		run.Status = "queued"
	}
	if run.HeadRepo == "" {
		run.HeadRepo = run.Repo
	}
	s.runs[runKey{run.Repo, run.ID}] = &run
}

// Run returns a run's current state.
func (s *Server) Run(repo string, id int64) (Run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[runKey{repo, id}]
	if !ok {
		return Run{}, false
	}
	return *r, true
}

func repoJSON(fullName, defaultBranch string) map[string]any {
	owner, name, _ := strings.Cut(fullName, "/")
	return map[string]any{"full_name": fullName, "name": name, "owner": map[string]any{"login": owner, "type": "Organization"},
		"default_branch": defaultBranch, "private": false, "visibility": "public", "fork": false}
}

// RunJSON is the run as the REST API and the workflow_run webhook show it.
func (s *Server) RunJSON(run Run) map[string]any {
	s.mu.Lock()
	branch := s.defaultBranch[run.Repo]
	s.mu.Unlock()
	if branch == "" {
		branch = "main"
	}
	prs := []map[string]any{}
	for _, n := range run.PullRequests {
		prs = append(prs, map[string]any{"number": n, "id": n * 1000,
			"url":  fmt.Sprintf("%s/repos/%s/pulls/%d", s.URL(), run.Repo, n),
			"head": map[string]any{"ref": run.HeadBranch, "sha": run.HeadSHA},
			"base": map[string]any{"ref": branch, "sha": strings.Repeat("0", 40)}})
	}
	actor := map[string]any{"login": run.Actor, "type": "User"}
	var conclusion any
	if run.Conclusion != "" {
		conclusion = run.Conclusion
	}
	return map[string]any{
		"id": run.ID, "name": run.Name, "path": run.Path, "event": run.Event, "head_sha": run.HeadSHA,
		"head_branch": run.HeadBranch, "run_number": run.Number, "run_attempt": run.Attempt,
		"status": run.Status, "conclusion": conclusion, "pull_requests": prs,
		"actor": actor, "triggering_actor": actor,
		"repository": repoJSON(run.Repo, branch), "head_repository": repoJSON(run.HeadRepo, branch),
		"url":      fmt.Sprintf("%s/repos/%s/actions/runs/%d", s.URL(), run.Repo, run.ID),
		"html_url": fmt.Sprintf("https://github.com/%s/actions/runs/%d", run.Repo, run.ID),
	}
}

func (s *Server) runFor(w http.ResponseWriter, r *http.Request) (*Run, bool) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	run, ok := s.runs[runKey{repoOf(r), id}]
	s.mu.Unlock()
	if !ok {
		notFound(w)
	}
	return run, ok
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	if run, ok := s.runFor(w, r); ok {
		s.mu.Lock()
		cp := *run
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, s.RunJSON(cp))
	}
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) {
	s.stopRun(w, r, false)
}

func (s *Server) forceCancelRun(w http.ResponseWriter, r *http.Request) {
	s.stopRun(w, r, true)
}

// stopRun cancels a run that is not completed (202); force also stops a
// run set to ignore a plain cancel. A completed run is refused (409) and
// left as it ended.
func (s *Server) stopRun(w http.ResponseWriter, r *http.Request, force bool) {
	if !s.requireToken(w, r) {
		return
	}
	run, ok := s.runFor(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	completed := run.Status == "completed"
	if !completed && (force || !run.IgnoreCancel) {
		run.Status, run.Conclusion = "completed", "cancelled"
	}
	s.mu.Unlock()
	switch {
	case completed && force:
		writeError(w, http.StatusConflict, "Cannot force cancel a workflow run that is completed.", "https://docs.github.com/rest/actions/workflow-runs#force-cancel-a-workflow-run")
	case completed:
		writeError(w, http.StatusConflict, "Cannot cancel a workflow run that is completed.", "https://docs.github.com/rest/actions/workflow-runs#cancel-a-workflow-run")
	default:
		writeJSON(w, http.StatusAccepted, map[string]any{})
	}
}

// rerunRun re-runs a completed run as a new attempt, as POST …/rerun does
// (201); a run not completed is refused (403).
func (s *Server) rerunRun(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	run, ok := s.runFor(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	completed := run.Status == "completed"
	if completed {
		run.Attempt++
		run.Status, run.Conclusion = "queued", ""
	}
	cp, hook := *run, s.onRerun
	s.mu.Unlock()
	if !completed {
		writeError(w, http.StatusForbidden, "This workflow run is not completed", "https://docs.github.com/rest/actions/workflow-runs#re-run-a-workflow")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{})
	if hook != nil {
		go hook(cp)
	}
}

// OnRerun calls fn with the new attempt of each run re-run (GitHub then
// sends its workflow_run delivery).
func (s *Server) OnRerun(fn func(Run)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRerun = fn
}

// SetPermission gives a user a role (read, triage, write, maintain, admin)
// on a repository.
func (s *Server) SetPermission(repo, user, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo = strings.ToLower(repo)
	if s.permissions[repo] == nil {
		s.permissions[repo] = map[string]string{}
	}
	s.permissions[repo][strings.ToLower(user)] = role
}

// permission answers GitHub's collaborator permission API: the base
// permission (admin, write, read) and the role; 404 for a user the
// repository does not know.
func (s *Server) permission(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	user := r.PathValue("username")
	s.mu.Lock()
	role, ok := s.permissions[strings.ToLower(repoOf(r))][strings.ToLower(user)]
	s.mu.Unlock()
	if !ok {
		notFound(w)
		return
	}
	base := map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}[role]
	writeJSON(w, http.StatusOK, map[string]any{"permission": base, "role_name": role,
		"user": map[string]any{"login": user, "type": "User", "role_name": role}})
}

// ---- check runs ----

// CheckRun is a check run created through the fake.
type CheckRun struct {
	ID          int64
	Repo        string
	Name        string
	HeadSHA     string
	Status      string
	Conclusion  string
	ExternalID  string
	Title       string
	Summary     string
	Text        string
	Annotations []Annotation
	// Actions are the buttons the check run offers.
	Actions []CheckRunAction
	Updates int
}

// CheckRunAction is a button of a check run.
type CheckRunAction struct {
	Label       string `json:"label"`
	Description string `json:"description"`
	Identifier  string `json:"identifier"`
}

// Annotation is one line annotation of a check run.
type Annotation struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	AnnotationLevel string `json:"annotation_level"`
	Message         string `json:"message"`
	Title           string `json:"title"`
}

type checkRunBody struct {
	Name       string `json:"name"`
	HeadSHA    string `json:"head_sha"`
	Status     string `json:"status"`
	Conclusion string `json:"conclusion"`
	ExternalID string `json:"external_id"`
	// Actions left out keep the check run's; given, they replace them.
	Actions *[]CheckRunAction `json:"actions"`
	Output  *struct {
		Title       string       `json:"title"`
		Summary     string       `json:"summary"`
		Text        string       `json:"text"`
		Annotations []Annotation `json:"annotations"`
	} `json:"output"`
}

// CheckRuns returns the check runs created, in order.
func (s *Server) CheckRuns() []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CheckRun, 0, len(s.checkRuns))
	for _, c := range s.checkRuns {
		out = append(out, *c)
	}
	return out
}

func (c *CheckRun) apply(b checkRunBody) error {
	if b.Name != "" {
		c.Name = b.Name
	}
	if b.Status != "" {
		c.Status = b.Status
	}
	if b.Conclusion != "" {
		c.Conclusion, c.Status = b.Conclusion, "completed"
	}
	if b.ExternalID != "" {
		c.ExternalID = b.ExternalID
	}
	if b.Actions != nil {
		// GitHub's limits: 3 actions; label 20, description 40,
		// identifier 20 characters.
		if len(*b.Actions) > 3 {
			return fmt.Errorf("at most 3 actions")
		}
		for _, a := range *b.Actions {
			if a.Label == "" || len(a.Label) > 20 || a.Description == "" || len(a.Description) > 40 || a.Identifier == "" || len(a.Identifier) > 20 {
				return fmt.Errorf("action %q: label (at most 20 characters), description (40) and identifier (20) are required", a.Label)
			}
		}
		c.Actions = append([]CheckRunAction{}, *b.Actions...)
	}
	if b.Output != nil {
		if len(b.Output.Annotations) > 50 {
			return fmt.Errorf("at most 50 annotations per request")
		}
		c.Title, c.Summary, c.Text = b.Output.Title, b.Output.Summary, b.Output.Text
		c.Annotations = append(c.Annotations, b.Output.Annotations...)
	}
	return nil
}

func (c *CheckRun) json(base string) map[string]any {
	var conclusion any
	if c.Conclusion != "" {
		conclusion = c.Conclusion
	}
	return map[string]any{"id": c.ID, "name": c.Name, "head_sha": c.HeadSHA, "status": c.Status,
		"conclusion": conclusion, "external_id": c.ExternalID,
		"url":      fmt.Sprintf("%s/repos/%s/check-runs/%d", base, c.Repo, c.ID),
		"html_url": fmt.Sprintf("https://github.com/%s/runs/%d", c.Repo, c.ID),
		"output":   map[string]any{"title": c.Title, "summary": c.Summary, "annotations_count": len(c.Annotations)},
		"actions":  append([]CheckRunAction{}, c.Actions...)}
}

func (s *Server) createCheckRun(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	var b checkRunBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Name == "" || b.HeadSHA == "" {
		writeError(w, http.StatusUnprocessableEntity, "Invalid request: name and head_sha are required", "https://docs.github.com/rest/checks/runs#create-a-check-run")
		return
	}
	s.mu.Lock()
	c := &CheckRun{ID: s.newID(), Repo: repoOf(r), HeadSHA: b.HeadSHA, Status: "queued"}
	err := c.apply(b)
	if err == nil {
		s.checkRuns = append(s.checkRuns, c)
	}
	out := c.json(s.srv.URL)
	s.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error(), "https://docs.github.com/rest/checks/runs")
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) updateCheckRun(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var b checkRunBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "Problems parsing JSON", "https://docs.github.com/rest/checks/runs")
		return
	}
	s.mu.Lock()
	var c *CheckRun
	for _, x := range s.checkRuns {
		if x.ID == id && x.Repo == repoOf(r) {
			c = x
		}
	}
	var err error
	var out map[string]any
	if c != nil {
		c.Updates++
		err = c.apply(b)
		out = c.json(s.srv.URL)
	}
	s.mu.Unlock()
	switch {
	case c == nil:
		notFound(w)
	case err != nil:
		writeError(w, http.StatusUnprocessableEntity, err.Error(), "https://docs.github.com/rest/checks/runs")
	default:
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) listCheckRuns(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	name := r.URL.Query().Get("check_name")
	s.mu.Lock()
	list := []map[string]any{}
	for _, c := range s.checkRuns {
		if c.Repo == repoOf(r) && c.HeadSHA == r.PathValue("ref") && (name == "" || c.Name == name) {
			list = append(list, c.json(s.srv.URL))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(list), "check_runs": list})
}

// ---- issue comments ----

// Comment is a pull request (issue) comment created through the fake.
type Comment struct {
	ID      int64
	Repo    string
	Issue   int
	Body    string
	Updates int
}

// Comments returns the comments created, in order.
func (s *Server) Comments() []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Comment, 0, len(s.comments))
	for _, c := range s.comments {
		out = append(out, *c)
	}
	return out
}

func (c *Comment) json(base string) map[string]any {
	return map[string]any{"id": c.ID, "body": c.Body, "user": map[string]any{"login": "runpolicy[bot]", "type": "Bot"},
		"url":      fmt.Sprintf("%s/repos/%s/issues/comments/%d", base, c.Repo, c.ID),
		"html_url": fmt.Sprintf("https://github.com/%s/pull/%d#issuecomment-%d", c.Repo, c.Issue, c.ID)}
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	n, _ := strconv.Atoi(r.PathValue("number"))
	var b struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Body == "" {
		writeError(w, http.StatusUnprocessableEntity, "Invalid request: body is required", "https://docs.github.com/rest/issues/comments#create-an-issue-comment")
		return
	}
	s.mu.Lock()
	c := &Comment{ID: s.newID(), Repo: repoOf(r), Issue: n, Body: b.Body}
	s.comments = append(s.comments, c)
	out := c.json(s.srv.URL)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	n, _ := strconv.Atoi(r.PathValue("number"))
	s.mu.Lock()
	list := []map[string]any{}
	for _, c := range s.comments {
		if c.Repo == repoOf(r) && c.Issue == n {
			list = append(list, c.json(s.srv.URL))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) updateComment(w http.ResponseWriter, r *http.Request) {
	if !s.requireToken(w, r) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var b struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Body == "" {
		writeError(w, http.StatusUnprocessableEntity, "Invalid request: body is required", "https://docs.github.com/rest/issues/comments#update-an-issue-comment")
		return
	}
	s.mu.Lock()
	var out map[string]any
	for _, c := range s.comments {
		if c.ID == id && c.Repo == repoOf(r) {
			c.Body = b.Body
			c.Updates++
			out = c.json(s.srv.URL)
		}
	}
	s.mu.Unlock()
	if out == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
