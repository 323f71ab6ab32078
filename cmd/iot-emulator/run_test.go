package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/iot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	domain "github.com/iot-emulator/iot-emulator/internal/iot"
	"github.com/iot-emulator/iot-emulator/internal/store"
)

// syncBuffer is a bytes.Buffer that run's goroutine writes while the test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// envOf is a getenv over a fixed map, so tests never see the real
// environment.
func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// hangGuard bounds waits that only end if the code under test works; it
// turns a hang into a failure and is not a speed assertion.
const hangGuard = time.Minute

// instance is run() serving in a goroutine of the test.
type instance struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
	stdout *syncBuffer
	stderr *syncBuffer
}

// start runs the emulator in-process and returns once it prints its
// address; the test ends it with stop, or Cleanup does.
func start(t *testing.T, args []string, env map[string]string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{cancel: cancel, done: make(chan error, 1), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	go func() { in.done <- run(ctx, withFreeMQTT(args), envOf(env), in.stdout, in.stderr) }()
	t.Cleanup(func() { in.stop(t) })
	deadline := time.Now().Add(hangGuard)
	for {
		if line, _, ok := strings.Cut(in.stdout.String(), "\n"); ok {
			_, addr, found := strings.Cut(line, "listening on http://")
			require.True(t, found, "first line %q does not say where it listens", line)
			in.addr = addr
			return in
		}
		select {
		case err := <-in.done:
			in.done <- err
			t.Fatalf("run returned before listening: %v\nstderr: %s", err, in.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("run never said where it listens")
		}
	}
}

// stop cancels run's context (what SIGTERM does in main) and returns what
// run returned.
func (in *instance) stop(t *testing.T) error {
	t.Helper()
	in.cancel()
	select {
	case err := <-in.done:
		in.done <- err // stop is idempotent: Cleanup calls it again
		return err
	case <-time.After(hangGuard):
		t.Fatal("run did not return after its context was cancelled")
		return nil
	}
}

// runOnce runs a command that is expected to return on its own.
func runOnce(t *testing.T, args []string, env map[string]string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(context.Background(), withFreeMQTT(args), envOf(env), &out, &errOut) }()
	select {
	case err = <-done:
	case <-time.After(hangGuard):
		t.Fatalf("run %v did not return", args)
	}
	return out.String(), errOut.String(), err
}

// withFreeMQTT puts the broker on a free port, so that tests running side
// by side never fight over 1883; a test's own --mqtt-addr comes later and wins.
func withFreeMQTT(args []string) []string {
	if len(args) > 0 && (args[0] == "healthcheck" || args[0] == "--version" || args[0] == "--help") {
		return args
	}
	return append([]string{"--mqtt-addr", "127.0.0.1:0"}, args...)
}

func sdkClient(t *testing.T, addr string) *iot.Client {
	t.Helper()
	c, err := iot.NewClientWithAccessKey("cn-shanghai", "testAccessKeyId", "testAccessKeySecret")
	require.NoError(t, err)
	c.Domain = addr
	return c
}

func TestVersionAndHelp(t *testing.T) {
	t.Run("--version prints the version and exits", func(t *testing.T) {
		out, _, err := runOnce(t, []string{"--version"}, nil)
		require.NoError(t, err)
		assert.Equal(t, "iot-emulator devel\n", out)
	})
	t.Run("--help lists the QPS limits in force, environment included", func(t *testing.T) {
		help, _, err := runOnce(t, []string{"--qps", "RegisterDevice=7", "--help"}, map[string]string{"IOT_EMULATOR_QPS": "BatchRegisterDevice=1,RegisterDevice=3"})
		require.NoError(t, err)
		assert.Regexp(t, `\n  BatchRegisterDevice +1\n`, help)
		assert.Regexp(t, `\n  RegisterDevice +7\n`, help, "the flag wins over the environment")
		assert.Regexp(t, `\n  QueryDeviceInfo +500\n`, help)
	})
	t.Run("--help lists every flag with its environment variable and exits 0", func(t *testing.T) {
		help, _, err := runOnce(t, []string{"--help"}, nil)
		require.NoError(t, err)
		n := 0
		newFlagSet(&options{}, io.Discard).VisitAll(func(f *flag.Flag) {
			n++
			if f.Name == "version" {
				assert.Contains(t, help, "--version\n", "--version takes no environment variable")
				return
			}
			assert.Contains(t, help, "--"+f.Name+" (env "+envName(f.Name)+", default ", "flag %s", f.Name)
		})
		assert.Greater(t, n, 15)
		assert.Contains(t, help, "iot-emulator healthcheck")
	})
	t.Run("an unknown flag is a usage error", func(t *testing.T) {
		out, stderr, err := runOnce(t, []string{"--no-such-flag"}, nil)
		assert.ErrorIs(t, err, errUsage)
		assert.Equal(t, "unknown flag --no-such-flag (see --help)", err.Error(), "one line, two dashes, a way on")
		assert.Empty(t, out+stderr, "not the whole usage")
	})
	t.Run("a stray argument is refused by name", func(t *testing.T) {
		_, _, err := runOnce(t, []string{"serve"}, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `"serve"`)
	})
}

func TestFlagsAndEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, o *options)
	}{
		{
			name: "a flag left out is taken from its environment variable",
			env:  map[string]string{"IOT_EMULATOR_LOG_LEVEL": "debug", "IOT_EMULATOR_CREATE_DELAY": "2s", "IOT_EMULATOR_SUCCESS_LISTS": "true"},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, "debug", o.logLevel)
				assert.Equal(t, 2*time.Second, o.cfg.CreateDelay)
				assert.True(t, o.cfg.SuccessLists)
			},
		},
		{
			name: "a flag on the command line wins over its environment variable",
			args: []string{"--log-level", "warn", "--addr", "127.0.0.1:9999", "--throttle-status=429"},
			env:  map[string]string{"IOT_EMULATOR_LOG_LEVEL": "debug", "IOT_EMULATOR_ADDR": "0.0.0.0:8080", "IOT_EMULATOR_THROTTLE_STATUS": "400"},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, "warn", o.logLevel)
				assert.Equal(t, "127.0.0.1:9999", o.addr)
				assert.Equal(t, 429, o.cfg.ThrottleStatus)
			},
		},
		{
			name: "a hyphenated flag maps to an underscored variable",
			env:  map[string]string{"IOT_EMULATOR_BATCH_PROGRESSION": "polls:3", "IOT_EMULATOR_QPS_SCALE": "0.5"},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, "polls:3", o.cfg.Progression.String())
				assert.Equal(t, 0.5, o.cfg.QPSScale)
			},
		},
		{
			name: "the repeatable --qps takes a comma-separated list from the environment",
			env:  map[string]string{"IOT_EMULATOR_QPS": "BatchRegisterDevice=5, QueryPageByApplyId=0"},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, map[string]float64{"BatchRegisterDevice": 5, "QueryPageByApplyId": 0}, o.cfg.QPS)
			},
		},
		{
			name:  "an empty variable counts as unset",
			env:   map[string]string{"IOT_EMULATOR_ADDR": ""},
			check: func(t *testing.T, o *options) { assert.Equal(t, "127.0.0.1:8080", o.addr) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseOptions(tc.args, envOf(tc.env), io.Discard)
			require.NoError(t, err)
			tc.check(t, o)
		})
	}
	t.Run("a bad value in the environment names the variable", func(t *testing.T) {
		_, err := parseOptions(nil, envOf(map[string]string{"IOT_EMULATOR_CHECK_DELAY": "soon"}), io.Discard)
		require.Error(t, err)
		assert.Equal(t, `IOT_EMULATOR_CHECK_DELAY=soon: want a duration such as 500ms`, err.Error())
	})
	t.Run("the server listens where the environment says when no flag is given", func(t *testing.T) {
		in := start(t, nil, map[string]string{"IOT_EMULATOR_ADDR": "127.0.0.1:0"})
		assert.True(t, strings.HasPrefix(in.addr, "127.0.0.1:"), in.addr)
		require.NoError(t, in.stop(t))
	})
	t.Run("the server listens where the flag says although the environment says otherwise", func(t *testing.T) {
		// An address that cannot be listened on: used, it would fail start-up.
		in := start(t, []string{"--addr", "127.0.0.1:0"}, map[string]string{"IOT_EMULATOR_ADDR": "203.0.113.1:1"})
		assert.True(t, strings.HasPrefix(in.addr, "127.0.0.1:"), in.addr)
		require.NoError(t, in.stop(t))
	})
}

func TestLogLevel(t *testing.T) {
	t.Run("--log-level warn silences the per-request lines", func(t *testing.T) {
		in := start(t, []string{"--addr", "127.0.0.1:0", "--log-level", "warn"}, nil)
		require.NoError(t, healthcheck(context.Background(), []string{"--url", "http://" + in.addr}, envOf(nil), io.Discard, io.Discard))
		_, err := sdkClient(t, in.addr).QueryPageByApplyId(pageRequest(1))
		require.NoError(t, err)
		require.NoError(t, in.stop(t))
		assert.NotContains(t, in.stderr.String(), "msg=request")
	})
	t.Run("--log-level debug with --log-format json writes JSON lines", func(t *testing.T) {
		in := start(t, []string{"--addr", "127.0.0.1:0", "--log-level", "debug", "--log-format", "json"}, nil)
		_, err := sdkClient(t, in.addr).QueryPageByApplyId(pageRequest(1))
		require.NoError(t, err)
		require.NoError(t, in.stop(t))
		assert.Contains(t, in.stderr.String(), `"msg":"request"`)
	})
}

func pageRequest(applyID int64) *iot.QueryPageByApplyIdRequest {
	q := iot.CreateQueryPageByApplyIdRequest()
	q.ApplyId = requests.NewInteger64(applyID)
	q.PageSize = requests.NewInteger(50)
	return q
}

func TestStartupFailures(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()

	dir := t.TempDir()
	newer := filepath.Join(dir, "newer.db")
	db, err := sql.Open("sqlite", newer)
	require.NoError(t, err)
	_, err = db.Exec("PRAGMA user_version = 99")
	require.NoError(t, err)
	require.NoError(t, db.Close())
	notADir := filepath.Join(dir, "plain-file")
	require.NoError(t, os.WriteFile(notADir, []byte("x"), 0o644))

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"a port already in use is reported with a way out", []string{"--addr", taken.Addr().String()}, []string{taken.Addr().String(), "already in use", "--addr", "IOT_EMULATOR_ADDR"}},
		{"an address that is not one is reported", []string{"--addr", "nonsense"}, []string{"listen on nonsense"}},
		{"a database in a directory that does not exist is reported as not writable", []string{"--db", filepath.Join(dir, "missing", "iot.db")}, []string{"--db", "missing/iot.db", "not writable"}},
		{"a database path under a plain file is reported as not writable", []string{"--db", filepath.Join(notADir, "iot.db")}, []string{"plain-file/iot.db", "not writable"}},
		{"a database path that is a directory is reported as not writable", []string{"--db", dir}, []string{"not writable", "is a directory"}},
		{"a database from a newer schema is refused", []string{"--db", newer}, []string{"newer.db", "schema version 99 is newer", "use a newer iot-emulator"}},
		{"an unknown log level is refused", []string{"--log-level", "loud"}, []string{"--log-level"}},
		{"an unknown progression is refused", []string{"--batch-progression", "soon"}, []string{"--batch-progression"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if !strings.HasPrefix(strings.Join(args, " "), "--addr") {
				args = append([]string{"--addr", "127.0.0.1:0"}, args...)
			}
			out, _, err := runOnce(t, args, nil)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, out, "listening", "it must fail before it says it serves")
		})
	}
	t.Run("a read-only database file is reported as not writable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes read-only files; the cases above cover the message")
		}
		ro := filepath.Join(t.TempDir(), "ro.db")
		require.NoError(t, os.WriteFile(ro, nil, 0o444))
		_, _, err := runOnce(t, []string{"--addr", "127.0.0.1:0", "--db", ro}, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not writable")
	})
	t.Run("the newer database is left as it was", func(t *testing.T) {
		db, err := sql.Open("sqlite", newer)
		require.NoError(t, err)
		defer db.Close()
		var v int
		require.NoError(t, db.QueryRow("PRAGMA user_version").Scan(&v))
		assert.Equal(t, 99, v)
	})
}

func TestHealthcheck(t *testing.T) {
	in := start(t, []string{"--addr", "127.0.0.1:0"}, nil)
	_, port, err := net.SplitHostPort(in.addr)
	require.NoError(t, err)

	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := dead.Addr().String()
	dead.Close()

	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		healthy bool
	}{
		{"a live server named by --url is healthy", []string{"--url", "http://" + in.addr}, nil, true},
		{"a live server named by --url host:port is healthy", []string{"--url", in.addr}, nil, true},
		{"a live server named by its full health URL is healthy", []string{"--url", "http://" + in.addr + "/_emulator/health"}, nil, true},
		{"the container's 0.0.0.0 listen address is checked on the loopback", nil, map[string]string{"IOT_EMULATOR_ADDR": "0.0.0.0:" + port}, true},
		{"a dead port is an error", []string{"--url", "http://" + deadAddr}, nil, false},
		{"a dead port from the environment is an error", nil, map[string]string{"IOT_EMULATOR_ADDR": deadAddr}, false},
		{"a server answering something else than the health check is an error", []string{"--url", "http://" + in.addr + "/_emulator/nope"}, nil, false},
		{"a stray argument is an error, not a check of the default address", []string{"--url", "http://" + in.addr, "extra"}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runOnce(t, append([]string{"healthcheck"}, tc.args...), tc.env)
			if tc.healthy {
				require.NoError(t, err)
				assert.Contains(t, out, `"status":"ok"`)
				assert.Contains(t, out, `"mqtt":"tcp://127.0.0.1:`)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "healthcheck")
			}
		})
	}
	require.NoError(t, in.stop(t))
}

func TestGracefulShutdown(t *testing.T) {
	t.Run("a batch in CREATE when the process stops completes after a restart on the same --db", func(t *testing.T) {
		dbPath := filepath.Join(t.TempDir(), "iot.db")
		args := []string{"--addr", "127.0.0.1:0", "--db", dbPath, "--check-delay", "0s", "--create-delay", "300ms", "--throttle", "off"}
		first := start(t, args, nil)
		client := sdkClient(t, first.addr)
		names := []string{"restart01", "restart02", "restart03"}

		check := iot.CreateBatchCheckDeviceNamesRequest()
		check.ProductKey = "a1TestProd1"
		check.DeviceName = &names
		cr, err := client.BatchCheckDeviceNames(check)
		require.NoError(t, err)
		require.True(t, cr.Success, "%s: %s", cr.Code, cr.ErrorMessage)
		applyID := cr.Data.ApplyId
		require.Equal(t, "CHECK_SUCCESS", waitSettled(t, client, applyID))

		reg := iot.CreateBatchRegisterDeviceWithApplyIdRequest()
		reg.ProductKey = "a1TestProd1"
		reg.ApplyId = requests.NewInteger64(applyID)
		rr, err := client.BatchRegisterDeviceWithApplyId(reg)
		require.NoError(t, err)
		require.True(t, rr.Success, "%s: %s", rr.Code, rr.ErrorMessage)
		require.NoError(t, first.stop(t), "a stop is a clean exit")

		st, err := store.Open(context.Background(), dbPath, nil)
		require.NoError(t, err)
		b, err := st.Batch(context.Background(), applyID)
		require.NoError(t, err)
		require.NoError(t, st.Close())
		if b.Status != domain.StatusCreate {
			// Only a machine stalled for the whole create delay gets here;
			// the restart below still has to show the batch intact.
			t.Logf("the batch had already reached %s when the process stopped", b.Status)
		}

		second := start(t, args, nil)
		client = sdkClient(t, second.addr)
		assert.Equal(t, "CREATE_SUCCESS", waitSettled(t, client, applyID))
		pr, err := client.QueryPageByApplyId(pageRequest(applyID))
		require.NoError(t, err)
		require.True(t, pr.Success, "%s: %s", pr.Code, pr.ErrorMessage)
		var got []string
		for _, d := range pr.ApplyDeviceList.ApplyDeviceInfo {
			got = append(got, d.DeviceName)
		}
		assert.Equal(t, names, got)
		require.NoError(t, second.stop(t))
	})

	t.Run("a request in flight when the stop begins is answered before run returns", func(t *testing.T) {
		in := start(t, []string{"--addr", "127.0.0.1:0", "--auth", "loose", "--throttle", "off"}, nil)
		conn, err := net.Dial("tcp", in.addr)
		require.NoError(t, err)
		defer conn.Close()
		form := url.Values{
			"Action": {"BatchCheckDeviceNames"}, "Version": {"2018-01-20"}, "Format": {"JSON"},
			"AccessKeyId": {"drainTestKey"}, "SignatureNonce": {"drain-1"},
			"Timestamp":  {time.Now().UTC().Format("2006-01-02T15:04:05Z")},
			"ProductKey": {"a1TestProd1"}, "DeviceName.1": {"drain01"},
		}.Encode()
		// Expect: 100-continue makes the server say when the handler starts
		// reading the body: from then on the request is in flight.
		_, err = fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", in.addr, len(form))
		require.NoError(t, err)
		br := bufio.NewReader(conn)
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "HTTP/1.1 100 Continue\r\n", line)
		_, err = br.ReadString('\n')
		require.NoError(t, err)

		in.cancel()
		waitRefused(t, in.addr)
		select {
		case err := <-in.done:
			in.done <- err
			t.Fatalf("run returned (%v) while a request was in flight", err)
		default:
		}

		_, err = io.WriteString(conn, form)
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		assert.Contains(t, string(body), `"Success":true`)
		assert.Contains(t, string(body), `"ApplyId":`)
		require.NoError(t, in.stop(t))
		assert.Contains(t, in.stderr.String(), "shutting down")
	})
}

// waitSettled polls the batch's status until it leaves CHECK or CREATE.
func waitSettled(t *testing.T, client *iot.Client, applyID int64) string {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		req := iot.CreateQueryBatchRegisterDeviceStatusRequest()
		req.ProductKey = "a1TestProd1"
		req.ApplyId = requests.NewInteger64(applyID)
		resp, err := client.QueryBatchRegisterDeviceStatus(req)
		require.NoError(t, err)
		require.True(t, resp.Success, "%s: %s", resp.Code, resp.ErrorMessage)
		if s := resp.Data.Status; s != domain.StatusCheck && s != domain.StatusCreate {
			return s
		}
		require.False(t, time.Now().After(deadline), "batch %d never settled", applyID)
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRefused returns once addr no longer accepts connections: the
// server has closed its listener, the first step of a graceful stop.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			var op *net.OpError
			require.True(t, errors.As(err, &op), "dial: %v", err)
			return
		}
		c.Close()
		require.False(t, time.Now().After(deadline), "%s still accepts connections", addr)
		time.Sleep(5 * time.Millisecond)
	}
}
