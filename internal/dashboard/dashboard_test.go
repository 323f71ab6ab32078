package dashboard_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emutest"
)

// screenshots, when set, is where the test writes the README's pictures:
//
//	go test ./internal/dashboard -run TestDashboard -count=1 -screenshots ../../docs
var screenshots = flag.String("screenshots", "", "write the dashboard's screenshots (PNG) into this directory")

// hang bounds one step, so a broken page fails the test instead of
// hanging it; it is no speed assertion (each step takes milliseconds).
const hang = 30 * time.Second

// console collects what the page writes to the console at level error.
type console struct {
	mu     sync.Mutex
	errors []string
}

func (c *console) add(m chromedp.ConsoleMessage) {
	if m.Type == chromedp.ConsoleError || m.IsException() {
		c.mu.Lock()
		c.errors = append(c.errors, m.String()+" ("+m.URL+")")
		c.mu.Unlock()
	}
}

func (c *console) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errors...)
}

// chromium finds the browser: $CHROME, else Debian's chromium or Chrome.
func chromium() string {
	if p := os.Getenv("CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser starts headless Chromium at 1280×800. Where it cannot start the
// test is skipped, unless IOT_EMULATOR_REQUIRE_BROWSER=1 (CI) fails it.
func browser(t *testing.T) (context.Context, *console) {
	t.Helper()
	unavailable := t.Skipf
	if os.Getenv("IOT_EMULATOR_REQUIRE_BROWSER") == "1" {
		unavailable = t.Fatalf
	}
	path := chromium()
	if path == "" {
		unavailable("no Chromium found (install Debian's chromium package, or set CHROME to a Chrome binary)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800), chromedp.Flag("disable-gpu", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	var c console
	messages := chromedp.Console(ctx)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		unavailable("Chromium (%s) does not start: %v", path, err)
	}
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			c.add(m)
		}
	}()
	return ctx, &c
}

// do runs the steps of one part of the test within the hang bound.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, hang)
	defer cancel()
	require.NoError(t, chromedp.Do(sctx, steps...))
}

// shot saves a screenshot of the viewport as docs/dashboard-NAME.png when
// -screenshots is set.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if *screenshots == "" {
		return
	}
	// Let the last event's redraw land before the picture.
	do(t, ctx, chromedp.Sleep(400*time.Millisecond), chromedp.Evaluate[chromedp.Void](`document.getElementById('toast').hidden = true`))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(*screenshots, "dashboard-"+name+".png"), png, 0o644))
}

func TestDashboard(t *testing.T) {
	srv := emutest.New(t, emutest.WithProgression("manual"))
	ctx, cons := browser(t)
	client := srv.NewIotClient()
	pk := srv.ProductKey()
	ui := srv.URL() + "/_emulator/ui"

	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	var applyID int64
	var name, secret string
	var dev *emutest.Device

	step("the dashboard opens and subscribes to the event stream", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(ui+"#/batches"), chromedp.WaitVisible(chromedp.CSS(`#live.on`)),
			// A reload would lose this mark; the last step checks it is still there.
			chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	})

	step("a batch registered through the Go SDK shows up and reaches CREATE_SUCCESS without a reload", func(t *testing.T) {
		req := iot.CreateBatchRegisterDeviceRequest()
		req.ProductKey = pk
		req.Count = requests.NewInteger(3)
		resp, err := client.BatchRegisterDevice(req)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.ErrorMessage)
		applyID = resp.Data.ApplyId
		row := `tr[data-apply="` + itoa(applyID) + `"]`
		do(t, ctx, chromedp.WaitVisible(chromedp.CSS(row+` .badge.CREATE`)))
		// Settled by the control plane, not by the page: only the stream can tell the page.
		require.Equal(t, "CREATE_SUCCESS", srv.Advance(applyID))
		do(t, ctx, chromedp.WaitVisible(chromedp.CSS(row+` .badge.CREATE_SUCCESS`)))
	})

	step("the page's Advance button moves a batch in CHECK on", func(t *testing.T) {
		req := iot.CreateBatchCheckDeviceNamesRequest()
		req.ProductKey = pk
		req.DeviceName = &[]string{"hall-lamp", "porch-lamp"}
		resp, err := client.BatchCheckDeviceNames(req)
		require.NoError(t, err)
		require.True(t, resp.Success, resp.ErrorMessage)
		row := `tr[data-apply="` + itoa(resp.Data.ApplyId) + `"]`
		do(t, ctx, chromedp.WaitVisible(chromedp.CSS(row+` .badge.CHECK`)),
			chromedp.Click(chromedp.CSS(row+` button.primary`)),
			chromedp.WaitVisible(chromedp.CSS(row+` .badge.CHECK_SUCCESS`)))
	})

	step("a device that logs in over MQTT turns ONLINE on the devices page", func(t *testing.T) {
		page := iot.CreateQueryPageByApplyIdRequest()
		page.ApplyId = requests.NewInteger(int(applyID))
		page.PageSize = requests.NewInteger(10)
		resp, err := client.QueryPageByApplyId(page)
		require.NoError(t, err)
		require.NotEmpty(t, resp.ApplyDeviceList.ApplyDeviceInfo)
		name, secret = resp.ApplyDeviceList.ApplyDeviceInfo[0].DeviceName, resp.ApplyDeviceList.ApplyDeviceInfo[0].DeviceSecret
		row := `tr[data-device="` + pk + `/` + name + `"]`
		do(t, ctx, chromedp.Click(chromedp.CSS(`nav a[data-view=devices]`)), chromedp.WaitVisible(chromedp.CSS(row+` .badge.UNACTIVE`)))
		dev = srv.ConnectDevice(pk, name, secret)
		do(t, ctx, chromedp.WaitVisible(chromedp.CSS(row+` .badge.ONLINE`)))
		shot(t, ctx, "devices")
	})

	step("searching by name with the keyboard narrows the list to the device", func(t *testing.T) {
		do(t, ctx, chromedp.Focus(chromedp.CSS(`#device-search`)), chromedp.KeyEvent(name),
			chromedp.WaitNotPresent(chromedp.CSS(`tr[data-device]:not([data-device="`+pk+`/`+name+`"])`)),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-device="`+pk+`/`+name+`"]`)))
	})

	step("a property the device posts appears on its page", func(t *testing.T) {
		do(t, ctx, chromedp.Click(chromedp.CSS(`tr[data-device="`+pk+`/`+name+`"] td a`)), chromedp.WaitVisible(chromedp.CSS(`#set-property`)))
		dev.Publish("/sys/"+pk+"/"+name+"/thing/event/property/post",
			`{"id":"1","version":"1.0","params":{"temperature":21.5,"humidity":40},"method":"thing.event.property.post"}`)
		do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`tr[data-property=temperature] td.value`)))
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`tr[data-property=temperature] td.value`)))
		require.NoError(t, err)
		assert.Equal(t, "21.5", text)
	})

	step("a property set from the page reaches the device", func(t *testing.T) {
		got := dev.Subscribe("/sys/" + pk + "/" + name + "/thing/service/property/set")
		do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#prop-id`), "LightSwitch"), chromedp.SendKeys(chromedp.CSS(`#prop-value`), "1"),
			chromedp.Click(chromedp.CSS(`#set-property button[type=submit]`)))
		select {
		case m := <-got:
			var body struct {
				Method string         `json:"method"`
				Params map[string]any `json:"params"`
			}
			require.NoError(t, json.Unmarshal([]byte(m.Payload), &body), m.Payload)
			assert.Equal(t, "thing.service.property.set", body.Method)
			assert.Equal(t, map[string]any{"LightSwitch": float64(1)}, body.Params)
		case <-time.After(hang):
			t.Fatal("the device got no property set")
		}
		// The page's message log shows the downlink too.
		do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#message-log tbody tr`)),
			chromedp.Poll[chromedp.Void](`document.querySelector('#message-log').textContent.includes('/thing/service/property/set')`))
		shot(t, ctx, "device")
	})

	// go moves the page to a view the way a link does, without a reload.
	goTo := func(hash string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`location.hash = ` + strconv.Quote(hash))
	}
	poll := func(expr string) chromedp.Action[chromedp.Void] { return chromedp.Poll[chromedp.Void](expr) }

	step("the page publishes to the device", func(t *testing.T) {
		got := dev.Subscribe("/" + pk + "/" + name + "/user/get")
		do(t, ctx, chromedp.Click(chromedp.CSS(`#deliver button[type=submit]`)))
		select {
		case m := <-got:
			assert.JSONEq(t, `{"hello":"device"}`, string(m.Payload))
		case <-time.After(hang):
			t.Fatal("the device got nothing on /user/get")
		}
	})

	var other string
	step("a device made virtual from the page answers a service called from the page", func(t *testing.T) {
		page := iot.CreateQueryPageByApplyIdRequest()
		page.ApplyId = requests.NewInteger(int(applyID))
		resp, err := client.QueryPageByApplyId(page)
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(resp.ApplyDeviceList.ApplyDeviceInfo), 2)
		other = resp.ApplyDeviceList.ApplyDeviceInfo[1].DeviceName
		do(t, ctx, goTo("#/device/"+pk+"/"+other), chromedp.WaitVisible(chromedp.CSS(`h2 .badge.UNACTIVE`)),
			chromedp.Click(chromedp.CSS(`button[data-fk=virtual]`)), chromedp.WaitVisible(chromedp.CSS(`h2 .badge.virtual`)),
			chromedp.WaitVisible(chromedp.CSS(`h2 .badge.ONLINE`)),
			chromedp.SendKeys(chromedp.CSS(`#svc-id`), "reboot"), chromedp.SetValue(chromedp.CSS(`#svc-args`), `{"delay":1}`),
			chromedp.Click(chromedp.CSS(`#call-service button[type=submit]`)),
			poll(`document.querySelector('#call-service .result').textContent.includes('result')`))
	})

	step("disabling a device from the list turns its badge DISABLE, and enabling turns it OFFLINE", func(t *testing.T) {
		row := `tr[data-device="` + pk + `/` + other + `"]`
		do(t, ctx, goTo("#/devices"), chromedp.WaitVisible(chromedp.CSS(row+` .badge.ONLINE`)),
			chromedp.Click(chromedp.CSS(row+` button.danger`)), chromedp.WaitVisible(chromedp.CSS(row+` .badge.DISABLE`)),
			chromedp.Click(chromedp.CSS(row+` button[aria-label^=Enable]`)), chromedp.WaitVisible(chromedp.CSS(row+` .badge.OFFLINE`)))
	})

	step("a fault rule added on the faults page counts its hits live and can be deleted", func(t *testing.T) {
		do(t, ctx, goTo("#/faults"), chromedp.WaitVisible(chromedp.CSS(`#add-fault`)),
			chromedp.SendKeys(chromedp.CSS(`#fault-action`), "QueryProduct"), chromedp.SendKeys(chromedp.CSS(`#fault-code`), "iot.system.SystemException"),
			chromedp.Click(chromedp.CSS(`#add-fault button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`tr[data-fault]`)))
		q := iot.CreateQueryProductRequest()
		q.ProductKey = pk
		resp, err := client.QueryProduct(q)
		require.NoError(t, err)
		require.False(t, resp.Success, "the rule answers the call")
		do(t, ctx, poll(`document.querySelector('tr[data-fault] td.num').textContent === '1'`),
			chromedp.Click(chromedp.CSS(`tr[data-fault] button.danger`)), chromedp.WaitNotPresent(chromedp.CSS(`tr[data-fault]`)))
	})

	step("the journal filters by action and shows one call's parameters and answer", func(t *testing.T) {
		do(t, ctx, goTo("#/journal"), chromedp.WaitVisible(chromedp.CSS(`#journal tbody tr button`)),
			chromedp.SendKeys(chromedp.CSS(`#journal-action`), "QueryProduct"),
			poll(`[...document.querySelectorAll('#journal tbody tr')].every((tr) => tr.children[2].textContent === 'QueryProduct')`),
			chromedp.Click(chromedp.CSS(`#journal tbody tr button`)),
			poll(`document.querySelector('#journal-detail').textContent.includes('iot.system.SystemException')`))
	})

	step("the progression set on the settings page is the one in force", func(t *testing.T) {
		do(t, ctx, goTo("#/settings"), chromedp.WaitVisible(chromedp.CSS(`#progression`)), poll(`document.querySelector('#progression code').textContent === 'manual'`),
			chromedp.SetValue(chromedp.CSS(`#progression-mode`), "immediate"), chromedp.Click(chromedp.CSS(`#progression button[type=submit]`)),
			poll(`document.querySelector('#progression code').textContent === 'immediate'`))
		assert.Equal(t, "immediate", srv.Emulator().Progression().String())
	})

	step("every control of every view is labelled and in the keyboard order", func(t *testing.T) {
		for _, v := range []struct{ hash, ready string }{
			{"#/overview", `#rps`}, {"#/products", `details.product table`}, {"#/devices", `tr[data-device]`},
			{"#/device/" + pk + "/" + name, `#set-property`}, {"#/batches", `tr[data-apply]`}, {"#/batch/" + itoa(applyID), `h2 .badge`},
			{"#/journal", `#journal tbody tr`}, {"#/faults", `#add-fault`}, {"#/settings", `#progression`},
		} {
			do(t, ctx, goTo(v.hash), chromedp.WaitVisible(chromedp.CSS(v.ready)))
			unlabelled, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('input, select, textarea, button, a[href]')]
				.filter((e) => !(e.closest('label') || e.getAttribute('aria-label') || e.textContent.trim()) || e.tabIndex < 0)
				.map((e) => e.outerHTML.slice(0, 80))`))
			require.NoError(t, err)
			assert.Empty(t, unlabelled, v.hash)
		}
	})

	if *screenshots != "" {
		step("every view renders (for the screenshots)", func(t *testing.T) {
			srv.InjectFault(emutest.FaultRule{Action: "QueryDeviceDetail", Code: "iot.system.SystemException", Count: 3})
			q := iot.CreateQueryDeviceDetailRequest()
			q.ProductKey, q.DeviceName = pk, name
			_, _ = client.QueryDeviceDetail(q) // answered by the fault rule
			// A batch waiting in CHECK, to show its Advance and Fail buttons.
			srv.SetProgression("manual")
			req := iot.CreateBatchCheckDeviceNamesRequest()
			req.ProductKey = pk
			req.DeviceName = &[]string{"garden-light", "garage-door", "boiler"}
			_, err := client.BatchCheckDeviceNames(req)
			require.NoError(t, err)
			for _, v := range []struct{ hash, ready string }{
				{"overview", `#rps`}, {"batches", `tr[data-apply] button.primary`}, {"products", `details.product table`}, {"journal", `#journal tbody tr`},
				{"faults", `tr[data-fault]`}, {"settings", `#progression`},
			} {
				do(t, ctx, chromedp.Navigate(ui+"#/"+v.hash), chromedp.WaitVisible(chromedp.CSS(v.ready)))
				if v.hash == "journal" {
					do(t, ctx, chromedp.Click(chromedp.CSS(`#journal tbody tr button`)), chromedp.WaitVisible(chromedp.CSS(`#journal-detail table`)))
				}
				shot(t, ctx, v.hash)
			}
			do(t, ctx, chromedp.EmulateViewport(420, 800), chromedp.Navigate(ui+"#/devices"), chromedp.WaitVisible(chromedp.CSS(`tr[data-device]`)))
			shot(t, ctx, "narrow")
			do(t, ctx, chromedp.EmulateViewport(1280, 800))
		})
		return
	}

	step("the page never reloaded and wrote no errors to the console", func(t *testing.T) {
		still, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded === true`))
		require.NoError(t, err)
		assert.True(t, still)
		assert.Empty(t, cons.list())
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
