package iot

import (
	"regexp"
	"unicode"
)

var deviceNameRE = regexp.MustCompile(`^[A-Za-z0-9_.:@-]{4,32}$`)

// ValidDeviceName applies the documented rule: 4–32 of A–Z a–z 0–9 - _ @ . :
func ValidDeviceName(s string) bool { return deviceNameRE.MatchString(s) }

// iotIDRE is what an IotId may look like: the generated ones are 26
// letters and digits, fixture ones follow the fixture's id rule.
var iotIDRE = regexp.MustCompile(`^[A-Za-z0-9_.:@-]{1,64}$`)

// ValidIotID reports whether s can be an IotId at all.
func ValidIotID(s string) bool { return iotIDRE.MatchString(s) }

// wideLen counts a Chinese or Japanese character as 2, as the console does,
// and reports false if any character is outside CJK, kana, ASCII letters,
// digits and underscore.
func wideLen(s string) (int, bool) {
	n := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			n += 2
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'):
			n++
		default:
			return n, false
		}
	}
	return n, true
}

// ValidNickname applies the nickname rule: 4–64 "characters" (CJK counts as
// 2) of CJK, kana, letters, digits and underscore.
func ValidNickname(s string) bool {
	n, ok := wideLen(s)
	return ok && n >= 4 && n <= 64
}

// ValidProductName applies the product name rule: 4–30 "characters" (CJK
// counts as 2) of CJK, letters, digits and underscore.
func ValidProductName(s string) bool {
	n, ok := wideLen(s)
	return ok && n >= 4 && n <= 30
}
