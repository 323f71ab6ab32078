// Package signature implements the two request-signing schemes the Alibaba
// Cloud POP RPC gateway accepts: V1 (HMAC-SHA1, used by the classic Go SDK,
// pop-core and Tea with signatureAlgorithm "v2") and V3 (ACS3-HMAC-SHA256,
// the Tea default).
//
// Everything here is a pure function over already-decoded values so the
// emulator's HTTP layer, the acceptance checker and the tests can share one
// implementation without dragging in net/http. The server never trusts the
// wire text: clients disagree on how they percent-encode (Go sends '+' for a
// space, Tea leaves "*()!" raw), so callers must form-decode first and these
// functions re-encode canonically (docs/fidelity.md, protocol §5, §6).
package signature

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"sort"
	"strings"
	"unsafe"
)

const upperHex = "0123456789ABCDEF"

// unreserved reports whether c survives POP encoding untouched. The set is
// RFC 3986's, which is what every SDK converges on after its own fix-ups
// (Go's QueryEscape plus "+"→"%20", "*"→"%2A"; JS encodeURIComponent plus
// "!'()*" escapes).
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// Encode applies the POP percent-encoding: RFC 3986 unreserved characters are
// kept and every other UTF-8 byte becomes %XX with upper-case hex. Both
// signature schemes depend on this exact form, so a space must be %20 (never
// '+') and '~' must stay raw.
func Encode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&0x0F])
	}
	return b.String()
}

// CanonicalQuery renders params in the canonical form both schemes sign:
// names sorted byte-wise, Encode(name)=Encode(value) joined with '&'. Empty
// values are kept as "Name=" because the Go SDK signs SignatureType= with an
// empty value, and dropping it would break every Go SDK request. A repeated
// name emits each value, values sorted, so the result does not depend on the
// order the client happened to send them in.
func CanonicalQuery(params map[string][]string) string {
	var b strings.Builder
	first := true
	for _, name := range sortedNames(params, "") {
		values := sortedValues(params[name])
		encName := Encode(name)
		for _, v := range values {
			if !first {
				b.WriteByte('&')
			}
			first = false
			b.WriteString(encName)
			b.WriteByte('=')
			b.WriteString(Encode(v))
		}
	}
	return b.String()
}

// sortedNames are the parameter names but skip, sorted byte-wise.
func sortedNames(params map[string][]string, skip string) []string {
	names := make([]string, 0, len(params))
	for name := range params {
		if skip != "" && name == skip {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// sortedValues are a repeated parameter's values, sorted, without
// reordering the caller's slice.
func sortedValues(values []string) []string {
	if len(values) > 1 {
		values = append([]string(nil), values...)
		sort.Strings(values)
	}
	return values
}

// V1StringToSign builds METHOD&%2F&Encode(CanonicalQuery(params without
// "Signature")). params must be the form-decoded union of query and body
// parameters: the Go SDK splits them across both, pop-core POST puts
// everything (Signature included) in the body, and all of it is signed.
// The method is used exactly as received because the client signed it that
// way.
func V1StringToSign(method string, params map[string][]string) string {
	// One pass into one buffer of the exact size: the canonical query
	// encoded twice, its '&' and '=' once (Encode(Encode(x)) turns every
	// escaped byte into %25XX).
	names := sortedNames(params, "Signature")
	size := len(method) + len("&%2F&")
	for _, name := range names {
		for _, v := range params[name] {
			size += encoded2Len(name) + len("%3D") + encoded2Len(v) + len("%26")
		}
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(method)
	b.WriteString("&%2F&")
	first := true
	for _, name := range names {
		for _, v := range sortedValues(params[name]) {
			if !first {
				b.WriteString("%26")
			}
			first = false
			writeEncoded2(&b, name)
			b.WriteString("%3D")
			writeEncoded2(&b, v)
		}
	}
	return b.String()
}

// encoded2Len is len(Encode(Encode(s))).
func encoded2Len(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n += 4
		}
	}
	return n
}

// writeEncoded2 writes Encode(Encode(s)).
func writeEncoded2(b *strings.Builder, s string) {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			continue
		}
		b.WriteString(s[start:i])
		b.WriteString("%25")
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&0x0F])
		start = i + 1
	}
	b.WriteString(s[start:])
}

// V1Sign computes base64(HMAC-SHA1(secret+"&", stringToSign)). The trailing
// '&' is part of the key in the V1 scheme (it separates the never-used
// token secret), so omitting it yields signatures no SDK will match.
func V1Sign(secret, stringToSign string) string {
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// V1Verify reports whether got, the received and form-decoded Signature,
// matches stringToSign under secret. The comparison is constant-time so the
// emulator does not become a signature oracle. A hand-written client that
// leaves a raw '+' of the base64 signature in a query string has it decoded
// to a space, so a second attempt with spaces turned back into '+' is made
// (docs/fidelity.md, protocol §5.2 step 7); no valid base64 contains a space, so this
// cannot accept anything a strict check would reject for another reason.
func V1Verify(secret, stringToSign, got string) bool {
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	// hmac does not keep what it is given, so the string is hashed in
	// place rather than copied (it holds the whole canonical query).
	mac.Write(unsafe.Slice(unsafe.StringData(stringToSign), len(stringToSign)))
	var sum [sha1.Size]byte
	var want [28]byte // base64 of 20 bytes
	base64.StdEncoding.Encode(want[:], mac.Sum(sum[:0]))
	if subtle.ConstantTimeCompare(want[:], []byte(got)) == 1 {
		return true
	}
	if strings.IndexByte(got, ' ') >= 0 {
		return subtle.ConstantTimeCompare(want[:], []byte(strings.ReplaceAll(got, " ", "+"))) == 1
	}
	return false
}

// Request carries what V3 signing needs from an HTTP request, kept free of
// net/http so the acceptance checker can replay captured requests and so
// tests need no server.
type Request struct {
	// Method is signed as received.
	Method string
	// Path is the decoded URL path; "/" for RPC. It is POP-encoded per
	// segment when canonicalised, with the '/' separators kept.
	Path string
	// Query holds the decoded query parameters only. Unlike V1, a V3 form
	// body is covered by PayloadHash, not by the canonical query.
	Query map[string][]string
	// Headers must use lower-case keys and include "host": Go moves the
	// Host header into r.Host, so the caller has to copy it back.
	Headers map[string][]string
	// PayloadHash is the lower-case hex SHA-256 of the body bytes as
	// received (see PayloadHash).
	PayloadHash string
}

// V3CanonicalRequest builds the ACS3 canonical request:
//
//	Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n PayloadHash
//
// The header list comes from the client's own SignedHeaders rather than a
// fixed set, because the SDKs sign whatever x-acs-* headers they happen to
// send (x-acs-credentials-provider is not in the docs but is signed). It is
// used in the order given since that is the order the client hashed; the
// SDKs always send it sorted. A signed header missing from the request
// contributes "name:" so that the signature then fails instead of the
// server silently signing a different set than the client did.
func V3CanonicalRequest(r Request, signedHeaders []string) string {
	names := make([]string, len(signedHeaders))
	for i, h := range signedHeaders {
		names[i] = strings.ToLower(strings.TrimSpace(h))
	}

	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.Path))
	b.WriteByte('\n')
	b.WriteString(CanonicalQuery(r.Query))
	b.WriteByte('\n')
	for _, name := range names {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r.Headers[name]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(names, ";"))
	b.WriteByte('\n')
	b.WriteString(r.PayloadHash)
	return b.String()
}

// canonicalURI encodes each path segment but keeps the separators, matching
// the SDKs, which build the URI from an unencoded pathname.
func canonicalURI(path string) string {
	if path == "" {
		return "/"
	}
	segments := strings.Split(path, "/")
	for i, s := range segments {
		segments[i] = Encode(s)
	}
	return strings.Join(segments, "/")
}

// canonicalHeaderValue trims and sorts multiple values before joining them
// with ',' as the Go Tea SDK's getCanonicalHeaders does, so proxies that
// split or reorder a header do not change the signature.
func canonicalHeaderValue(values []string) string {
	switch len(values) {
	case 0:
		return ""
	case 1:
		return strings.TrimSpace(values[0])
	}
	trimmed := make([]string, len(values))
	for i, v := range values {
		trimmed[i] = strings.TrimSpace(v)
	}
	sort.Strings(trimmed)
	return strings.Join(trimmed, ",")
}

// V3StringToSign returns "ACS3-HMAC-SHA256\n" + hex(sha256(canonicalRequest)).
// The hash, rather than the canonical request itself, is what is signed,
// which is why the spec's vectors quote only this hash.
func V3StringToSign(canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return AlgorithmACS3 + "\n" + hex.EncodeToString(sum[:])
}

// V3Sign computes hex(HMAC-SHA256(secret, stringToSign)). Unlike V1 the key
// is the bare secret, with no trailing '&'.
func V3Sign(secret, stringToSign string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(stringToSign))
	return hex.EncodeToString(mac.Sum(nil))
}

// V3Verify reports whether got matches the V3 signature of stringToSign. It
// compares in constant time so response timing cannot be used to forge a
// signature byte by byte, and it ignores hex case because hex is
// case-insensitive and ParseAuthorization already folds case.
func V3Verify(secret, stringToSign, got string) bool {
	want := []byte(V3Sign(secret, stringToSign))
	return hmac.Equal(want, []byte(strings.ToLower(got)))
}

// PayloadHash returns the lower-case hex SHA-256 of body. V3 signs this hash
// of the raw bytes instead of the decoded form parameters, so the caller
// must hash the body exactly as received, before any parsing.
func PayloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}
