package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Reasons a signature is refused, as the metric labels them.
const (
	sigMissing   = "missing"   // no X-Hub-Signature-256 (SHA-1 only counts here too)
	sigMalformed = "malformed" // not sha256=<64 hex>
	sigMismatch  = "mismatch"  // well-formed but wrong
)

// parseSignature reads an X-Hub-Signature-256 header: "sha256=" and the
// hex HMAC-SHA256 of the body.
func parseSignature(header string) ([]byte, string) {
	if header == "" {
		return nil, sigMissing
	}
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(hexSum) != sha256.Size*2 {
		return nil, sigMalformed
	}
	sum, err := hex.DecodeString(hexSum)
	if err != nil {
		return nil, sigMalformed
	}
	return sum, ""
}

// validSignature compares in constant time.
func validSignature(secret, body, sum []byte) bool {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), sum)
}

// Sign returns the X-Hub-Signature-256 value GitHub sends for body.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
