package signature

import (
	"errors"
	"fmt"
	"strings"
)

// AlgorithmACS3 is the only V3 algorithm word the IoT clients send; the
// gateway's other ACS3 variants (SM3, RSA) are not emulated.
const AlgorithmACS3 = "ACS3-HMAC-SHA256"

// ErrIncomplete is wrapped by every ParseAuthorization failure so the HTTP
// layer can map all malformed headers to one gateway error code with a
// single errors.Is, while the wrapping message still says what was wrong.
var ErrIncomplete = errors.New("signature: incomplete or malformed Authorization header")

// Authorization is a parsed V3 Authorization header, split out so the
// server can look up the AccessKeyId before doing any hashing.
type Authorization struct {
	// Algorithm is always AlgorithmACS3 after a successful parse.
	Algorithm string
	// AccessKeyID is the Credential= value.
	AccessKeyID string
	// SignedHeaders are lower-cased, in the order given, because the
	// client hashed them in that order.
	SignedHeaders []string
	// Signature is lower-case hex, 64 characters.
	Signature string
}

// ParseAuthorization parses "ACS3-HMAC-SHA256 Credential=<id>,
// SignedHeaders=<a;b;c>,Signature=<hex>". It is strict—unknown or repeated
// keys, empty values and a signature that is not 64 hex digits are all
// rejected with an error wrapping ErrIncomplete—because every official SDK
// sends exactly this shape, and an emulator that tolerated sloppy headers
// would hide client bugs the real gateway would report.
func ParseAuthorization(header string) (Authorization, error) {
	var a Authorization
	header = strings.TrimSpace(header)
	algorithm, rest, ok := strings.Cut(header, " ")
	if !ok {
		return a, fmt.Errorf("%w: expected %q followed by key=value pairs", ErrIncomplete, AlgorithmACS3)
	}
	if algorithm != AlgorithmACS3 {
		return a, fmt.Errorf("%w: algorithm %q is not %s", ErrIncomplete, algorithm, AlgorithmACS3)
	}
	a.Algorithm = algorithm

	seen := make(map[string]bool, 3)
	for _, part := range strings.Split(rest, ",") {
		part = strings.TrimSpace(part)
		key, value, ok := strings.Cut(part, "=")
		if !ok {
			return Authorization{}, fmt.Errorf("%w: %q is not key=value", ErrIncomplete, part)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if seen[key] {
			return Authorization{}, fmt.Errorf("%w: duplicate %s", ErrIncomplete, key)
		}
		seen[key] = true
		if value == "" {
			return Authorization{}, fmt.Errorf("%w: empty %s", ErrIncomplete, key)
		}
		switch key {
		case "Credential":
			a.AccessKeyID = value
		case "SignedHeaders":
			headers, err := parseSignedHeaders(value)
			if err != nil {
				return Authorization{}, err
			}
			a.SignedHeaders = headers
		case "Signature":
			if !isHex64(value) {
				return Authorization{}, fmt.Errorf("%w: Signature is not 64 hex digits", ErrIncomplete)
			}
			a.Signature = strings.ToLower(value)
		default:
			return Authorization{}, fmt.Errorf("%w: unknown key %q", ErrIncomplete, key)
		}
	}
	for _, key := range []string{"Credential", "SignedHeaders", "Signature"} {
		if !seen[key] {
			return Authorization{}, fmt.Errorf("%w: missing %s", ErrIncomplete, key)
		}
	}
	return a, nil
}

// parseSignedHeaders rejects empty and repeated names: either would make the
// canonical headers ambiguous, so no honest client sends them.
func parseSignedHeaders(value string) ([]string, error) {
	parts := strings.Split(value, ";")
	headers := make([]string, 0, len(parts))
	seen := make(map[string]bool, len(parts))
	for _, h := range parts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			return nil, fmt.Errorf("%w: empty name in SignedHeaders", ErrIncomplete)
		}
		if seen[h] {
			return nil, fmt.Errorf("%w: %q repeated in SignedHeaders", ErrIncomplete, h)
		}
		seen[h] = true
		headers = append(headers, h)
	}
	return headers, nil
}

// isHex64 checks the length and alphabet up front so a truncated signature is
// reported as malformed rather than as a mismatch, which helps whoever is
// debugging a client.
func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
