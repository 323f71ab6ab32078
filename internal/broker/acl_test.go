package broker_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/iot-emulator/iot-emulator/internal/broker"
)

func TestAllowed(t *testing.T) {
	const pk, dn = "a1Prod", "dev1"
	for _, tc := range []struct {
		name  string
		topic string
		write bool
		want  bool
	}{
		{"its own property post may be published", "/sys/a1Prod/dev1/thing/event/property/post", true, true},
		{"its own user topic may be subscribed", "/a1Prod/dev1/user/get", false, true},
		{"its own shadow may be published", "/shadow/update/a1Prod/dev1", true, true},
		{"its OTA and NTP topics are its own", "/ota/device/upgrade/a1Prod/dev1", false, true},
		{"another device's topic may not be subscribed", "/sys/a1Prod/dev2/thing/service/property/set", false, false},
		{"another device's topic may not be published", "/sys/a1Prod/dev2/thing/event/property/post", true, false},
		{"another product's broadcast may not be subscribed", "/broadcast/a1Other/x", false, false},
		{"its product's broadcast may be subscribed", "/broadcast/a1Prod/x", false, true},
		{"a broadcast may not be published by a device", "/broadcast/a1Prod/x", true, false},
		{"the C SDK's wildcard filter may be subscribed", "/sys/+/+/thing/service/property/set", false, true},
		{"a catch-all filter may be subscribed (deliveries are checked again)", "#", false, true},
		{"a wildcard filter naming another device may not be subscribed", "/sys/a1Prod/dev2/#", false, false},
		{"its own ext RRPC reply may be published", "/ext/rrpc/123/sys/a1Prod/dev1/thing/service/reboot", true, true},
		{"an ext RRPC topic carrying another device's topic may not be published", "/ext/rrpc/1/a1Other/dev9/user/x/a1Prod/dev1/", true, false},
		{"nested ext RRPC is refused", "/ext/rrpc/1/ext/rrpc/2/sys/a1Prod/dev1/x", true, false},
		{"the C SDK's ext RRPC filter may be subscribed", "/ext/rrpc/+/sys/+/+/thing/service/+", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, broker.Allowed(pk, dn, tc.topic, tc.write))
		})
	}
}
