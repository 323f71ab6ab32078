package iot

import "strings"

// TopicAllowed reports whether a device may publish (write) to a topic, or
// subscribe to a filter (docs/fidelity.md, devices §7): its own /sys,
// user, shadow, OTA and ext topics, and to subscribe, its product's
// broadcasts. A subscription filter with wildcards is allowed when it can
// match one of those (the C SDKs subscribe to /sys/+/+/…); the broker
// checks every message it delivers again, so such a filter never brings
// another device's traffic. Ext RRPC topics carry the device's own topic
// after the message id, and are judged by it.
func TopicAllowed(productKey, deviceName, topic string, write bool) bool {
	if rest, ok := strings.CutPrefix(topic, "/ext/rrpc/"); ok {
		_, inner, ok := strings.Cut(rest, "/")
		return ok && !strings.HasPrefix(inner, "ext/rrpc/") && TopicAllowed(productKey, deviceName, "/"+inner, write)
	}
	id := productKey + "/" + deviceName
	own := []string{
		"/sys/" + id + "/#",
		"/" + id + "/user/#",
		"/shadow/update/" + id, "/shadow/get/" + id,
		"/ota/device/+/" + id,
		"/ext/ntp/" + id + "/+",
		"/ext/session/" + id + "/#",
		"/ext/register", "/ext/regnwl",
	}
	if !write {
		own = append(own, "/broadcast/"+productKey+"/#")
	}
	levels := strings.Split(topic, "/")
	for _, p := range own {
		if intersects(levels, strings.Split(p, "/")) {
			return true
		}
	}
	return false
}

// intersects reports whether two MQTT filters (split on '/') can match a
// common topic.
func intersects(a, b []string) bool {
	for i := 0; ; i++ {
		switch {
		case i == len(a) || i == len(b):
			return len(a) == len(b)
		case a[i] == "#" || b[i] == "#":
			return true
		case a[i] != b[i] && a[i] != "+" && b[i] != "+":
			return false
		}
	}
}

// FilterMatches reports whether a topic (no wildcards) matches an MQTT
// subscription filter.
func FilterMatches(filter, topic string) bool {
	return intersects(strings.Split(topic, "/"), strings.Split(filter, "/"))
}
