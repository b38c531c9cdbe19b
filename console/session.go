package console

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Cookie names. The session cookie is signed (HMAC-SHA256) and carries the
// user's GitHub token sealed (AES-GCM): the browser holds it, cannot read
// it, and cannot change anything in the cookie without the server noticing.
const (
	sessionCookie = "runpolicy_session"
	oauthCookie   = "runpolicy_oauth"
)

// keys are derived from the configured session key, one per use.
type keys struct {
	sign, seal, csrf []byte
}

func deriveKeys(secret []byte) keys {
	derive := func(purpose string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("runpolicy console " + purpose))
		return m.Sum(nil)
	}
	return keys{sign: derive("sign"), seal: derive("seal"), csrf: derive("csrf")}
}

// session is a signed-in user.
type session struct {
	// ID names the session: the CSRF token and the access cache hang on it.
	ID     string `json:"sid"`
	UserID int64  `json:"uid"`
	Login  string `json:"login"`
	// Token is the user's access token, sealed with the session id as
	// associated data.
	Token   string `json:"tok"`
	Expires int64  `json:"exp"`
}

// oauthFlow is a sign-in in progress, between the redirect to GitHub and
// the callback.
type oauthFlow struct {
	State    string `json:"state"`
	Verifier string `json:"verifier"`
	Next     string `json:"next"`
	Expires  int64  `json:"exp"`
}

// encode signs v for a cookie value: base64(JSON) "." base64(HMAC). The
// cookie's name is part of what is signed, so that one cookie cannot stand
// in for another.
func (k keys) encode(name string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + base64.RawURLEncoding.EncodeToString(k.mac(name, body)), nil
}

func (k keys) mac(name, body string) []byte {
	m := hmac.New(sha256.New, k.sign)
	m.Write([]byte(name + "\x00" + body))
	return m.Sum(nil)
}

var errBadCookie = errors.New("bad cookie")

// decode checks a cookie value's signature and decodes it into v.
func (k keys) decode(name, value string, v any) error {
	body, sig, ok := strings.Cut(value, ".")
	if !ok || len(value) > 4096 {
		return errBadCookie
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, k.mac(name, body)) {
		return errBadCookie
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || json.Unmarshal(b, v) != nil {
		return errBadCookie
	}
	return nil
}

// sealToken encrypts a token for the session named sid.
func (k keys) sealToken(sid, token string) (string, error) {
	aead, err := k.aead()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(token), []byte(sid))), nil
}

// openToken decrypts a sealed token of the session named sid.
func (k keys) openToken(sid, sealed string) (string, error) {
	aead, err := k.aead()
	if err != nil {
		return "", err
	}
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < aead.NonceSize() {
		return "", errBadCookie
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(sid))
	if err != nil {
		return "", errBadCookie
	}
	return string(plain), nil
}

func (k keys) aead() (cipher.AEAD, error) {
	block, err := aes.NewCipher(k.seal)
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	return cipher.NewGCM(block)
}

// csrfToken is the token every form of a session carries.
func (k keys) csrfToken(sid string) string {
	m := hmac.New(sha256.New, k.csrf)
	m.Write([]byte(sid))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether a form's token is its session's.
func (k keys) checkCSRF(sid, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(k.csrfToken(sid))) == 1
}

// randomString is n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// setCookie writes a cookie that scripts cannot read, goes over HTTPS only
// (browsers count loopback addresses as secure), and is not sent with
// cross-site subrequests or form posts.
func setCookie(w http.ResponseWriter, name, value, path string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
	if maxAge > 0 {
		c.MaxAge = int(maxAge.Seconds())
	} else {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}
