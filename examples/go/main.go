// Command example registers a batch of devices on the IoT emulator through
// the official Go SDK, the way a test suite or a provisioning script does
// against the real service: it waits for the emulator's health check, checks
// device names (BatchCheckDeviceNames), waits for CHECK_SUCCESS, registers
// them (BatchRegisterDeviceWithApplyId), waits for CREATE_SUCCESS and pages
// through the new devices (QueryPageByApplyId). It exits 0 once the whole
// flow has succeeded.
//
//	go run ./cmd/iot-emulator &
//	go run ./examples/go -endpoint 127.0.0.1:8080
//
// The endpoint also comes from IOT_ENDPOINT (the docker-compose example sets
// it to emulator:8080); the flag wins.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
)

func main() {
	fs := flag.NewFlagSet("example", flag.ExitOnError)
	endpoint := fs.String("endpoint", envOr("IOT_ENDPOINT", "127.0.0.1:8080"), "emulator host:port or http:// URL (env IOT_ENDPOINT)")
	productKey := fs.String("product-key", envOr("IOT_PRODUCT_KEY", "a1TestProd1"), "product to register the devices under (env IOT_PRODUCT_KEY)")
	count := fs.Int("count", 3, "how many devices to register")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long, waiting for the emulator included")
	fs.Parse(os.Args[1:])

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *endpoint, *productKey, *count, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// run is the whole flow; it returns nil once the devices are registered.
func run(ctx context.Context, endpoint, productKey string, count int, out io.Writer) error {
	// The Go SDK takes host:port and chooses the scheme itself (HTTP by default).
	endpoint = strings.TrimSuffix(strings.TrimPrefix(endpoint, "http://"), "/")
	if err := waitHealthy(ctx, endpoint); err != nil {
		return err
	}
	fmt.Fprintf(out, "emulator at %s is healthy\n", endpoint)
	names, err := deviceNames(count)
	if err != nil {
		return err
	}

	// quick-start:begin
	client, err := iot.NewClientWithAccessKey("cn-shanghai", "testAccessKeyId", "testAccessKeySecret")
	if err != nil {
		return err
	}
	client.Domain = endpoint // "127.0.0.1:8080": the SDK speaks plain HTTP by default
	check := iot.CreateBatchCheckDeviceNamesRequest()
	check.ProductKey = productKey // "a1TestProd1" in the default fixtures
	check.DeviceName = &names     // e.g. []string{"light01", "light02"}
	resp, err := client.BatchCheckDeviceNames(check)
	if err != nil {
		return err // gateway errors: signature, throttling, missing parameters
	} else if !resp.Success {
		return fmt.Errorf("%s: %s", resp.Code, resp.ErrorMessage) // business errors
	}
	applyID := resp.Data.ApplyId // poll QueryBatchRegisterDeviceStatus with it
	// quick-start:end

	fmt.Fprintln(out, "ApplyId:", applyID)
	if err := waitStatus(ctx, client, productKey, applyID, "CHECK_SUCCESS"); err != nil {
		return err
	}
	fmt.Fprintln(out, "names checked:", strings.Join(names, " "))

	reg := iot.CreateBatchRegisterDeviceWithApplyIdRequest()
	reg.ProductKey = productKey
	reg.ApplyId = requests.NewInteger64(applyID)
	rr, err := client.BatchRegisterDeviceWithApplyId(reg)
	if err != nil {
		return err
	} else if !rr.Success {
		return fmt.Errorf("BatchRegisterDeviceWithApplyId: %s: %s", rr.Code, rr.ErrorMessage)
	}
	if err := waitStatus(ctx, client, productKey, applyID, "CREATE_SUCCESS"); err != nil {
		return err
	}

	registered := 0
	for page := 1; ; page++ {
		q := iot.CreateQueryPageByApplyIdRequest()
		q.ApplyId = requests.NewInteger64(applyID)
		q.PageSize = requests.NewInteger(50)
		q.CurrentPage = requests.NewInteger(page)
		pr, err := client.QueryPageByApplyId(q)
		if err != nil {
			return err
		} else if !pr.Success {
			return fmt.Errorf("QueryPageByApplyId: %s: %s", pr.Code, pr.ErrorMessage)
		}
		for _, d := range pr.ApplyDeviceList.ApplyDeviceInfo {
			fmt.Fprintf(out, "device %s IotId=%s DeviceSecret=%s\n", d.DeviceName, d.IotId, d.DeviceSecret)
			registered++
		}
		if page >= pr.PageCount {
			break
		}
	}
	if registered != len(names) {
		return fmt.Errorf("batch %d lists %d devices, want %d", applyID, registered, len(names))
	}
	fmt.Fprintf(out, "registered %d devices in batch %d\n", registered, applyID)
	return nil
}

// waitHealthy polls the emulator's health check, so the example can start
// at the same time as the emulator (docker-compose, CI scripts).
func waitHealthy(ctx context.Context, endpoint string) error {
	url := "http://" + endpoint + "/_emulator/health"
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("emulator at %s not healthy: %w", url, errors.Join(ctx.Err(), last))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// waitStatus polls QueryBatchRegisterDeviceStatus until the batch leaves
// CHECK or CREATE, and fails unless it reached want.
func waitStatus(ctx context.Context, client *iot.Client, productKey string, applyID int64, want string) error {
	for {
		req := iot.CreateQueryBatchRegisterDeviceStatusRequest()
		req.ProductKey = productKey
		req.ApplyId = requests.NewInteger64(applyID)
		resp, err := client.QueryBatchRegisterDeviceStatus(req)
		if err != nil {
			return err
		} else if !resp.Success {
			return fmt.Errorf("QueryBatchRegisterDeviceStatus: %s: %s", resp.Code, resp.ErrorMessage)
		}
		switch resp.Data.Status {
		case want:
			return nil
		case "CHECK", "CREATE":
		default:
			return fmt.Errorf("batch %d ended in %s (invalid names: %v), want %s", applyID, resp.Data.Status, resp.Data.InvalidList.Name, want)
		}
		// Well under the action's 30 QPS limit.
		select {
		case <-ctx.Done():
			return fmt.Errorf("batch %d still %s: %w", applyID, resp.Data.Status, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// deviceNames makes names unique to this run, so the example can run again
// against an emulator that keeps its state (--db).
func deviceNames(n int) ([]string, error) {
	if n < 1 || n > 10000 {
		return nil, fmt.Errorf("-count must be between 1 and 10000, got %d", n)
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("example-%s-%d", hex.EncodeToString(b), i+1)
	}
	return names, nil
}
