package emulator_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/emutest"
)

func TestAdminToken(t *testing.T) {
	srv := emutest.New(t, emutest.WithConfig(func(c *emulator.Config) { c.AdminToken = "s3cret" }))
	get := func(path string, set func(*http.Request)) *http.Response {
		req, err := http.NewRequest(http.MethodGet, srv.URL()+path, nil)
		require.NoError(t, err)
		if set != nil {
			set(req)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	for _, tc := range []struct {
		name   string
		path   string
		set    func(*http.Request)
		status int
	}{
		{"the health check needs no token", "/_emulator/health", nil, 200},
		{"the state without a token is 401", "/_emulator/state", nil, 401},
		{"the state with a wrong token is 401", "/_emulator/state", bearer("guess"), 401},
		{"the state with the token is answered", "/_emulator/state", bearer("s3cret"), 200},
		{"the journal with the token's cookie is answered", "/_emulator/requests", func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: "iot_emulator_admin_token", Value: "s3cret"})
		}, 200},
		{"the dashboard address with the token sets the cookie and redirects", "/_emulator/ui?token=s3cret", nil, 303},
		{"the dashboard address with a wrong token is 401", "/_emulator/ui?token=guess", nil, 401},
		{"the index page without a token shows no credentials", "/", func(r *http.Request) { r.Header.Set("Accept", "text/html") }, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(tc.path, tc.set)
			assert.Equal(t, tc.status, resp.StatusCode)
			if tc.status == 303 {
				assert.Equal(t, "/_emulator/ui", resp.Header.Get("Location"))
				require.NotEmpty(t, resp.Cookies())
				assert.True(t, resp.Cookies()[0].HttpOnly)
			}
		})
	}
	t.Run("the RPC API needs no admin token", func(t *testing.T) {
		_, body := signedGet(t, srv.URL(), map[string]string{"Action": "QueryProduct", "ProductKey": srv.ProductKey()})
		assert.Contains(t, string(body), `"Success":true`)
	})
}
