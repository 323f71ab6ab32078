// Command iot-emulator serves a local emulation of Alibaba Cloud IoT
// Platform's RPC OpenAPI (Iot 2018-01-20).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts a graceful stop; restoring the default
	// handlers then lets a second Ctrl-C end a stop that hangs.
	go func() {
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if err != errUsage { // the healthcheck's flag package has said it
			fmt.Fprintln(os.Stderr, "iot-emulator:", err)
		}
		os.Exit(1)
	}
}
