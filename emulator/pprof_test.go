package emulator_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/emutest"
)

func TestPprof(t *testing.T) {
	get := func(t *testing.T, srv *emutest.Server, path string) (int, string) {
		t.Helper()
		resp, err := srv.HTTPClient().Get(srv.URL() + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	t.Run("the admin API serves the profile index and a named profile", func(t *testing.T) {
		srv := emutest.New(t)
		code, body := get(t, srv, "/_emulator/debug/pprof/")
		assert.Equal(t, http.StatusOK, code)
		assert.Contains(t, body, "goroutine")
		code, body = get(t, srv, "/_emulator/debug/pprof/goroutine?debug=1")
		assert.Equal(t, http.StatusOK, code)
		assert.Contains(t, body, "goroutine profile:")
	})
	t.Run("with --admin off there are no profiles", func(t *testing.T) {
		srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.Admin = false }))
		code, _ := get(t, srv, "/_emulator/debug/pprof/")
		assert.Equal(t, http.StatusNotFound, code)
	})
}
