package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/emutest"
)

func TestExample(t *testing.T) {
	t.Run("the batch flow registers every device through the SDK", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithProgression("delay"), emutest.WithConfig(func(c *emulator.Config) {
			c.Throttle = true // the example must stay inside the documented QPS limits
		}))
		var out bytes.Buffer
		if err := run(context.Background(), srv.URL(), srv.ProductKey(), 3, &out); err != nil {
			t.Fatalf("run: %v\n%s", err, out.String())
		}
		if got := strings.Count(out.String(), "\ndevice example-"); got != 3 {
			t.Errorf("listed %d devices, want 3:\n%s", got, out.String())
		}
		if !strings.Contains(out.String(), "registered 3 devices") {
			t.Errorf("no summary line:\n%s", out.String())
		}
	})
	t.Run("running it twice against one emulator works", func(t *testing.T) {
		srv := emutest.New(t)
		for i := range 2 {
			if err := run(context.Background(), srv.Domain(), srv.ProductKey(), 2, &bytes.Buffer{}); err != nil {
				t.Fatalf("run %d: %v", i+1, err)
			}
		}
	})
	t.Run("an unknown product is reported as the business error", func(t *testing.T) {
		srv := emutest.New(t)
		err := run(context.Background(), srv.Domain(), "a1NoSuchPrd", 1, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "iot.") {
			t.Fatalf("err = %v, want an iot.* business error", err)
		}
	})
}
