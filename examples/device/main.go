// Command device connects a device to the IoT emulator's MQTT broker the
// way firmware or a device simulator does: it registers a device through
// the official Go SDK (RegisterDevice), logs in with Eclipse Paho using the
// DeviceSecret it was issued, checks through GetDeviceStatus that the
// device is ONLINE, posts a property, and disconnects.
//
//	go run ./cmd/iot-emulator &
//	go run ./examples/device -endpoint 127.0.0.1:8080 -mqtt 127.0.0.1:1883
//
// The addresses also come from IOT_ENDPOINT and IOT_MQTT; the flags win.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iot-emulator/iot-emulator/signature"
)

func main() {
	fs := flag.NewFlagSet("device", flag.ExitOnError)
	endpoint := fs.String("endpoint", envOr("IOT_ENDPOINT", "127.0.0.1:8080"), "emulator RPC host:port (env IOT_ENDPOINT)")
	broker := fs.String("mqtt", envOr("IOT_MQTT", "127.0.0.1:1883"), "emulator MQTT host:port or mqtt:// URL (env IOT_MQTT)")
	fs.Parse(os.Args[1:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, *endpoint, *broker, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "device:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, endpoint, broker string, out io.Writer) error {
	client, err := iot.NewClientWithAccessKey("cn-shanghai", "testAccessKeyId", "testAccessKeySecret")
	if err != nil {
		return err
	}
	// Both forms work: host:port, or a URL.
	client.Domain = strings.TrimPrefix(endpoint, "http://")
	broker = strings.TrimPrefix(strings.TrimPrefix(broker, "mqtt://"), "tcp://")
	reg := iot.CreateRegisterDeviceRequest()
	reg.ProductKey = "a1TestProd1"
	resp, err := client.RegisterDevice(reg)
	if err != nil {
		return err
	} else if !resp.Success {
		return fmt.Errorf("%s: %s", resp.Code, resp.ErrorMessage)
	}
	productKey, deviceName, deviceSecret := resp.Data.ProductKey, resp.Data.DeviceName, resp.Data.DeviceSecret
	fmt.Fprintf(out, "registered %s\n", deviceName)

	// quick-start:begin
	// The three CONNECT fields of Alibaba's device-secret login (clientId|securemode=3,signmethod=…|,
	// DeviceName&ProductKey, HMAC password); any MQTT client can send them.
	id, username, password := signature.DeviceCredentials(productKey, deviceName, deviceSecret, "", signature.HmacSHA256)
	opts := paho.NewClientOptions().AddBroker("tcp://" + broker) // broker is "127.0.0.1:1883"
	opts.SetClientID(id).SetUsername(username).SetPassword(password)
	opts.SetKeepAlive(60 * time.Second) // the broker allows 30-1200 s, as the real one does
	device := paho.NewClient(opts)
	if tok := device.Connect(); tok.Wait() && tok.Error() != nil {
		return tok.Error() // e.g. "not Authorized" for a wrong DeviceSecret
	}
	defer device.Disconnect(250)
	topic := "/sys/" + productKey + "/" + deviceName + "/thing/event/property/post"
	device.Publish(topic, 1, false, `{"id":"1","version":"1.0","params":{"temperature":21.5},"method":"thing.event.property.post"}`).Wait()
	// quick-start:end

	st := iot.CreateGetDeviceStatusRequest()
	st.ProductKey, st.DeviceName = productKey, deviceName
	sr, err := client.GetDeviceStatus(st)
	if err != nil {
		return err
	}
	if sr.Data.Status != "ONLINE" {
		return errors.New("the device is " + sr.Data.Status + ", want ONLINE")
	}
	fmt.Fprintf(out, "device %s is %s\n", deviceName, sr.Data.Status)
	return nil
}
