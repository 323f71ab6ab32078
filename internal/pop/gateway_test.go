package pop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/pop"
	"github.com/iot-emulator/iot-emulator/signature"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var errBrokenDB = errors.New("disk on fire")

// toyProduct is a product that is not IoT: the gateway serves any table.
func toyProduct(t *testing.T) (*httptest.Server, *syncBuffer, func() []pop.Record) {
	t.Helper()
	logs := &syncBuffer{}
	var mu sync.Mutex
	var records []pop.Record
	failed := pop.BusinessError("toy.ToyFailed", "The toy failed.")
	g := pop.New(pop.Config{
		Product: "Toy", Version: "2020-01-01", DefaultHost: "toy.example",
		VerifySignatures: true,
		Credentials: func(_ context.Context, ak string) (pop.Credential, error) {
			if ak == "panicKey" {
				panic("credentials exploded")
			}
			if ak != "toyKey" {
				return pop.Credential{}, pop.ErrAccessKeyNotFound
			}
			return pop.Credential{Secret: "toySecret", Principal: "the toy account"}, nil
		},
		Actions: []*pop.Action{
			{Name: "Echo", Required: []string{"Word"}, Handle: func(c *pop.Call) (pop.Object, error) {
				return pop.Object{{Name: "Word", Value: c.Params["Word"]}, {Name: "Who", Value: c.Principal.(string)}}, nil
			}},
			{Name: "Boom", Handle: func(c *pop.Call) (pop.Object, error) { panic("boom") }},
			{Name: "Broken", Internal: failed, Handle: func(c *pop.Call) (pop.Object, error) { return nil, errBrokenDB }},
		},
		Observe: func(r pop.Record) {
			mu.Lock()
			records = append(records, r)
			mu.Unlock()
		},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv, logs, func() []pop.Record {
		mu.Lock()
		defer mu.Unlock()
		return append([]pop.Record(nil), records...)
	}
}

func call(t *testing.T, srv *httptest.Server, ak string, params map[string]string) (int, string) {
	t.Helper()
	all := map[string]string{"Version": "2020-01-01"}
	for k, v := range params {
		all[k] = v
	}
	resp, err := http.Get(srv.URL + "/?" + signature.SignV1("GET", ak, "toySecret", all).Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestGatewayServesAnyProduct(t *testing.T) {
	srv, logs, records := toyProduct(t)
	t.Run("an admitted call gets its handler's answer with the caller's principal", func(t *testing.T) {
		status, body := call(t, srv, "toyKey", map[string]string{"Action": "Echo", "Word": "hi", "Format": "JSON"})
		assert.Equal(t, http.StatusOK, status)
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(body), &v))
		assert.Equal(t, true, v["Success"])
		assert.Equal(t, "hi", v["Word"])
		assert.Equal(t, "the toy account", v["Who"])
	})
	t.Run("a required parameter left out is Missing{Param}", func(t *testing.T) {
		status, body := call(t, srv, "toyKey", map[string]string{"Action": "Echo", "Format": "JSON"})
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Contains(t, body, `"Code":"MissingWord"`)
		assert.Contains(t, body, `product=Toy`)
	})
	t.Run("an unknown AccessKeyId is refused by the gateway", func(t *testing.T) {
		status, body := call(t, srv, "nobody", map[string]string{"Action": "Echo", "Word": "hi", "Format": "JSON"})
		assert.Equal(t, http.StatusNotFound, status)
		assert.Contains(t, body, `"Code":"InvalidAccessKeyId.NotFound"`)
	})
	t.Run("a panic is answered InternalError in the requested format, journalled and logged with its stack", func(t *testing.T) {
		for _, format := range []string{"XML", "JSON"} {
			status, body := call(t, srv, "toyKey", map[string]string{"Action": "Boom", "Format": format})
			assert.Equal(t, http.StatusInternalServerError, status)
			if format == "XML" {
				assert.True(t, strings.HasPrefix(body, "<?xml"), body)
				assert.Contains(t, body, "<Code>InternalError</Code>")
			} else {
				assert.Contains(t, body, `"Code":"InternalError"`)
			}
		}
		rs := records()
		require.NotEmpty(t, rs)
		last := rs[len(rs)-1]
		assert.Equal(t, "Boom", last.Action)
		assert.Equal(t, "InternalError", last.Code)
		assert.Contains(t, logs.String(), "panic=boom")
		assert.Contains(t, logs.String(), "runtime/debug.Stack")
	})
	t.Run("a panic before the handler, in the product's credentials, is answered InternalError too", func(t *testing.T) {
		status, body := call(t, srv, "panicKey", map[string]string{"Action": "Echo", "Word": "hi", "Format": "JSON"})
		assert.Equal(t, http.StatusInternalServerError, status)
		assert.Contains(t, body, `"Code":"InternalError"`)
		assert.Contains(t, logs.String(), "credentials exploded")
	})
	t.Run("an unexpected handler error is logged once with the request id and answered with the action's Internal error", func(t *testing.T) {
		status, body := call(t, srv, "toyKey", map[string]string{"Action": "Broken", "Format": "JSON"})
		assert.Equal(t, http.StatusOK, status, "a business error")
		assert.Contains(t, body, `"Code":"toy.ToyFailed"`)
		assert.NotContains(t, body, "disk on fire", "the cause stays in the log")
		var v struct{ RequestId string }
		require.NoError(t, json.Unmarshal([]byte(body), &v))
		assert.Equal(t, 1, strings.Count(logs.String(), "disk on fire"))
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "disk on fire") {
				assert.Contains(t, line, "requestId="+v.RequestId)
				assert.Contains(t, line, "action=Broken")
			}
		}
	})
}

func TestErrorsCompareByCode(t *testing.T) {
	base := pop.BusinessError("toy.Compared", "Original.")
	t.Run("a copy with another message is the same error", func(t *testing.T) {
		assert.ErrorIs(t, base.WithMessage("changed"), base)
	})
	t.Run("another code is another error", func(t *testing.T) {
		assert.NotErrorIs(t, pop.Missing("X"), pop.ErrMissingParam)
	})
	t.Run("a wrapped wire error is still found", func(t *testing.T) {
		var e *pop.Error
		require.ErrorAs(t, errors.Join(errors.New("ctx"), base), &e)
		assert.Equal(t, "toy.Compared", e.Code)
	})
}

func TestDebugRefusals(t *testing.T) {
	srv, logs, _ := toyProduct(t)
	t.Run("a wrong signature is logged at debug with the string to sign the server computed", func(t *testing.T) {
		q := signature.SignV1("GET", "toyKey", "wrongSecret", map[string]string{"Action": "Echo", "Word": "hi", "Version": "2020-01-01", "Format": "JSON"})
		resp, err := http.Get(srv.URL + "/?" + q.Encode())
		require.NoError(t, err)
		resp.Body.Close()
		assert.Contains(t, logs.String(), "refused: SignatureDoesNotMatch")
		assert.Contains(t, logs.String(), "stringToSign=GET&%2F&")
	})
	t.Run("a stale timestamp is logged with the skew", func(t *testing.T) {
		q := signature.SignV1("GET", "toyKey", "toySecret", map[string]string{"Action": "Echo", "Word": "hi", "Version": "2020-01-01", "Timestamp": "2020-01-01T00:00:00Z"})
		resp, err := http.Get(srv.URL + "/?" + q.Encode())
		require.NoError(t, err)
		resp.Body.Close()
		assert.Contains(t, logs.String(), "refused: timestamp outside the window")
		assert.Contains(t, logs.String(), "skew=")
	})
	t.Run("a reused nonce is logged", func(t *testing.T) {
		q := signature.SignV1("GET", "toyKey", "toySecret", map[string]string{"Action": "Echo", "Word": "hi", "Version": "2020-01-01", "SignatureNonce": "same-nonce"})
		for range 2 {
			resp, err := http.Get(srv.URL + "/?" + q.Encode())
			require.NoError(t, err)
			resp.Body.Close()
		}
		assert.Contains(t, logs.String(), "refused: nonce seen before")
	})
}

func TestRedactParams(t *testing.T) {
	t.Run("a long repeat list keeps its first elements in numeric order and counts the rest", func(t *testing.T) {
		p := map[string]string{"Action": "BatchCheckDeviceNames", "Signature": "sig", "AccessKeySecret": "s"}
		for i := 1; i <= 150; i++ {
			p[fmt.Sprintf("DeviceName.%d", i)] = fmt.Sprint(i)
		}
		out, omitted := pop.RedactParams(p)
		assert.Equal(t, "***", out["Signature"])
		assert.Equal(t, "***", out["AccessKeySecret"])
		assert.Len(t, out, pop.MaxRecordParams)
		assert.Equal(t, 150+3-pop.MaxRecordParams, omitted)
		assert.Contains(t, out, "DeviceName.2")
		assert.Contains(t, out, "DeviceName.97")
		assert.NotContains(t, out, "DeviceName.150", "the last ones are the ones left out")
	})
}
