package admin

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"
)

// TokenCookie is the cookie /_emulator/ui?token= sets, so the dashboard's
// page and its fetches carry the admin token without a header.
const TokenCookie = "iot_emulator_admin_token"

// Token guards the /_emulator group when token is set: every route but
// /_emulator/health needs "Authorization: Bearer <token>" or the cookie.
// GET /_emulator/ui?token=<token> with the right token sets the cookie
// and redirects to /_emulator/ui without the token in the address. An
// empty token lets everything through (the loopback default). Tokens are
// compared in constant time.
func Token(token string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if token == "" {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.TrimSuffix(r.URL.Path, "/") == "/_emulator/health" {
				next.ServeHTTP(w, r)
				return
			}
			if q := r.URL.Query().Get("token"); q != "" && strings.HasPrefix(r.URL.Path, "/_emulator/ui") && equal(q, token) {
				http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: token, Path: "/_emulator", HttpOnly: true,
					SameSite: http.SameSiteStrictMode, Expires: time.Now().Add(24 * time.Hour)})
				http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
				return
			}
			if !Authorized(r, token) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="iot-emulator admin"`)
				JSON(w, http.StatusUnauthorized, map[string]any{"error": "admin token required: send Authorization: Bearer <token> (--admin-token)"})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Authorized reports whether r carries the admin token (always true when
// none is set).
func Authorized(r *http.Request, token string) bool {
	if token == "" {
		return true
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") && equal(strings.TrimSpace(h[7:]), token) {
		return true
	}
	c, err := r.Cookie(TokenCookie)
	return err == nil && equal(c.Value, token)
}

// equal compares in constant time, so a wrong token's timing says nothing
// about how much of it was right.
func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
