package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/iot-emulator/iot-emulator/emutest"
)

func TestDeviceExample(t *testing.T) {
	t.Run("the example registers a device, logs it in with Paho and sees it ONLINE", func(t *testing.T) {
		srv := emutest.New(t)
		var out bytes.Buffer
		if err := run(context.Background(), srv.Domain(), srv.MQTTAddr(), &out); err != nil {
			t.Fatalf("run: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "is ONLINE") {
			t.Errorf("no ONLINE line:\n%s", out.String())
		}
	})
	t.Run("the addresses may be URLs as well as host:port", func(t *testing.T) {
		srv := emutest.New(t)
		if err := run(context.Background(), srv.URL(), "mqtt://"+srv.MQTTAddr(), &bytes.Buffer{}); err != nil {
			t.Fatalf("run: %v", err)
		}
	})
}
