package store

import (
	"regexp"
	"unicode"
)

var deviceNameRE = regexp.MustCompile(`^[A-Za-z0-9_.:@-]{4,32}$`)

// ValidDeviceName applies the documented rule: 4–32 of A–Z a–z 0–9 - _ @ . :
func ValidDeviceName(s string) bool { return deviceNameRE.MatchString(s) }

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

// MaxProductDescription is the documented length limit of a product's
// Description, in characters.
const MaxProductDescription = 100

// The values of the enumerated product attributes (apis.md §2.1).
var (
	authTypes      = map[string]bool{"secret": true, "id2": true, "x509": true, "one-party": true}
	netTypes       = map[string]bool{"WIFI": true, "CELLULAR": true, "ETHERNET": true, "LORA": true, "OTHER": true}
	protocolTypes  = map[string]bool{"modbus": true, "opc-ua": true, "customize": true, "ble": true, "zigbee": true}
	commodityCodes = map[string]bool{"iothub": true, "iothub_senior": true}
)

// ValidAuthType reports whether s is a documented AuthType.
func ValidAuthType(s string) bool { return authTypes[s] }

// ValidNetType reports whether s is a documented NetType.
func ValidNetType(s string) bool { return netTypes[s] }

// ValidProtocolType reports whether s is a documented sub-device ProtocolType.
func ValidProtocolType(s string) bool { return protocolTypes[s] }

// ValidCommodityCode reports whether s is a documented AliyunCommodityCode.
func ValidCommodityCode(s string) bool { return commodityCodes[s] }
