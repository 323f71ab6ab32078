package main

import (
	"flag"

	"github.com/iot-emulator/iot-emulator/emulator"
)

// addHardeningFlags binds the limits and the admin token (README
// "Reliability").
func addHardeningFlags(fs *flag.FlagSet, c *emulator.Config) {
	c.MQTTLimits.MaxPacket = emulator.DefaultMQTTMaxPacket
	fs.IntVar(&c.MQTTLimits.MaxPacket, "mqtt-max-packet", c.MQTTLimits.MaxPacket, "largest MQTT packet read, in bytes; a larger one ends the connection")
	fs.Var(offSwitch{&c.MQTTLimits.Off}, "mqtt-limits", "per-IP login, per-client subscription and per-device uplink limits: on or off (off for load tests)")
	fs.IntVar(&c.MaxLooseAccounts, "max-loose-accounts", emulator.DefaultMaxLooseAccounts, "accounts --auth loose creates at most; a new AccessKeyId beyond is refused until a reset")
	fs.StringVar(&c.AdminToken, "admin-token", c.AdminToken, "when set, /_emulator/* (all but health) requires Authorization: Bearer <token>")
}

// offSwitch is an on/off flag over a field that says "off" when true, so
// the zero Config keeps the limits on.
type offSwitch struct{ off *bool }

func (o offSwitch) String() string {
	if o.off != nil && *o.off {
		return "off"
	}
	return "on"
}

func (o offSwitch) Set(s string) error {
	var on bool
	if err := (onOff{&on}).Set(s); err != nil {
		return err
	}
	*o.off = !on
	return nil
}
