package console

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// flowTTL bounds a sign-in between the redirect to GitHub and the callback.
const flowTTL = 10 * time.Minute

// login shows the sign-in page: one link to GitHub.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := c.session(r); ok {
		http.Redirect(w, r, c.next(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	data := struct {
		common
		Next    string
		Expired bool
	}{c.common(r, nil, "Sign in"), c.next(r.URL.Query().Get("next")), r.URL.Query().Get("expired") != ""}
	c.render(w, http.StatusOK, "login", data)
}

// next is a console page to go to after signing in: a path under the
// console, never another site (//evil.example, /\evil.example).
func (c *Console) next(raw string) string {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Scheme != "" || u.Host != "" || u.User != nil ||
		!strings.HasPrefix(u.Path, c.base) || strings.Contains(raw, "\\") || strings.HasPrefix(raw, "//") ||
		strings.HasPrefix(u.Path, c.base+"login") || strings.HasPrefix(u.Path, c.base+"auth/") {
		return c.base
	}
	return u.RequestURI()
}

// startLogin sends the browser to GitHub's authorize page with a fresh
// state and PKCE verifier, both kept in a short-lived signed cookie.
func (c *Console) startLogin(w http.ResponseWriter, r *http.Request) {
	f := oauthFlow{State: randomString(24), Verifier: randomString(32), Next: c.next(r.URL.Query().Get("next")),
		Expires: time.Now().Add(flowTTL).Unix()}
	v, err := c.keys.encode(oauthCookie, f)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "The sign-in could not start.")
		return
	}
	setCookie(w, oauthCookie, v, c.base, flowTTL)
	http.Redirect(w, r, c.authorizeURL(f.State, f.Verifier), http.StatusFound)
}

// callback finishes the sign-in GitHub sends the browser back from: the
// state must be the one this browser was given, the code is exchanged for
// the user's token, and the session cookie is set.
func (c *Console) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f oauthFlow
	ck, err := r.Cookie(oauthCookie)
	if err != nil || c.keys.decode(oauthCookie, ck.Value, &f) != nil || time.Now().Unix() >= f.Expires ||
		subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		c.fail(w, r, http.StatusBadRequest, "This sign-in was not started here, or took too long. Sign in again.")
		return
	}
	setCookie(w, oauthCookie, "", c.base, 0) // a flow is used once
	if e := q.Get("error"); e != "" {
		c.log.Info("console: sign-in refused by GitHub", "error", e)
		c.fail(w, r, http.StatusForbidden, "GitHub did not sign you in ("+errorWords(e)+").")
		return
	}
	tok, err := c.exchange(r.Context(), q.Get("code"), f.Verifier)
	if err != nil {
		c.log.Warn("console: sign-in failed", "err", err)
		c.fail(w, r, http.StatusBadGateway, "GitHub did not complete the sign-in. Sign in again.")
		return
	}
	u, _, err := c.user(tok.AccessToken).Users.Get(r.Context(), "")
	if err == nil && u.GetLogin() == "" {
		err = errors.New("no login in the answer")
	}
	if err != nil {
		_, err = ghError(err, "get the signed-in user")
		c.log.Warn("console: sign-in failed", "err", err)
		c.fail(w, r, http.StatusBadGateway, "GitHub did not say who you are. Sign in again.")
		return
	}
	ttl := c.opts.SessionTTL
	if tok.ExpiresIn > 0 {
		ttl = min(ttl, time.Duration(tok.ExpiresIn)*time.Second)
	}
	sess := session{ID: randomString(18), UserID: u.GetID(), Login: u.GetLogin(), Expires: time.Now().Add(ttl).Unix()}
	if sess.Token, err = c.keys.sealToken(sess.ID, tok.AccessToken); err != nil {
		c.fail(w, r, http.StatusInternalServerError, "The sign-in could not be saved.")
		return
	}
	v, err := c.keys.encode(sessionCookie, sess)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "The sign-in could not be saved.")
		return
	}
	setCookie(w, sessionCookie, v, c.base, ttl)
	c.log.Info("console: signed in", "login", sess.Login, "user_id", sess.UserID)
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

// errorWords names an OAuth error code GitHub sent back for people; an
// unknown code is not echoed (it came in the URL).
func errorWords(code string) string {
	switch code {
	case "access_denied":
		return "the authorization was cancelled"
	case "redirect_uri_mismatch":
		return "the App's callback URL does not match this console"
	case "application_suspended":
		return "the App is suspended"
	}
	return "an error"
}

// logout ends the session; the form carries the session's CSRF token.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	sess, _, ok := c.session(r)
	if ok && !c.keys.checkCSRF(sess.ID, r.PostFormValue("csrf")) {
		c.fail(w, r, http.StatusForbidden, "The form was not sent from this console.")
		return
	}
	c.signOut(w, sess)
	http.Redirect(w, r, c.base+"login", http.StatusSeeOther)
}
