package iot_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// apply parses a shadow request and applies it with the version check on.
func apply(t *testing.T, s iot.Shadow, msg string, now int64) (iot.Shadow, bool, error) {
	t.Helper()
	req, err := iot.ParseShadowRequest([]byte(msg))
	require.NoError(t, err)
	return s.Apply(req, now, true)
}

func shadowCode(t *testing.T, err error) int {
	t.Helper()
	var se *iot.ShadowError
	require.ErrorAs(t, err, &se)
	return se.Code
}

func TestParseShadowRequest(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		code      int
	}{
		{"an empty message is empty JSON", ``, 407},
		{"an empty object is empty JSON", `{}`, 407},
		{"text that is not JSON is invalid JSON", `color=red`, 400},
		{"a message without method is refused", `{"state":{"reported":{"a":1}},"version":1}`, 401},
		{"the cloud's own control method is refused from clients", `{"method":"control","state":{"reported":{"a":1}}}`, 406},
		{"the cloud's own reply method is refused from clients", `{"method":"reply"}`, 406},
		{"an update without state is refused", `{"method":"update","version":1}`, 402},
		{"a version that is not an integer is refused", `{"method":"update","state":{"reported":{"a":1}},"version":"x"}`, 403},
		{"a version below -1 is refused", `{"method":"update","state":{"reported":{"a":1}},"version":-2}`, 403},
		{"a state without reported or desired is refused", `{"method":"update","state":{},"version":1}`, 404},
		{"an empty reported object is refused", `{"method":"update","state":{"reported":{}},"version":1}`, 405},
		{"a reported part that is a number is invalid JSON", `{"method":"update","state":{"reported":5},"version":1}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := iot.ParseShadowRequest([]byte(tc.msg))
			assert.Equal(t, tc.code, shadowCode(t, err))
		})
	}
	t.Run("a get needs nothing but its method", func(t *testing.T) {
		req, err := iot.ParseShadowRequest([]byte(`{"method":"get"}`))
		require.NoError(t, err)
		assert.Equal(t, iot.ShadowRequest{Method: "get"}, req)
	})
	t.Run("the string null clears desired", func(t *testing.T) {
		req, err := iot.ParseShadowRequest([]byte(`{"method":"update","state":{"desired":"null"},"version":3}`))
		require.NoError(t, err)
		assert.True(t, req.DesiredNull)
		assert.Equal(t, int64(3), req.Version)
		assert.True(t, req.HasVersion)
	})
	t.Run("a millisecond version as Node sends it is read whole", func(t *testing.T) {
		req, err := iot.ParseShadowRequest([]byte(`{"method":"delete","state":{"reported":"null"},"version":1700000000000}`))
		require.NoError(t, err)
		assert.True(t, req.ReportedNull)
		assert.Equal(t, int64(1700000000000), req.Version)
	})
}

func TestShadowApply(t *testing.T) {
	s1, _, err := apply(t, iot.Shadow{}, `{"method":"update","state":{"reported":{"color":"red","pos":[1,2]}},"version":1}`, 100)
	require.NoError(t, err)

	t.Run("an update with a higher version is applied and takes that version", func(t *testing.T) {
		assert.Equal(t, iot.Shadow{
			Reported:     map[string]any{"color": "red", "pos": []any{json.Number("1"), json.Number("2")}},
			ReportedMeta: map[string]int64{"color": 100, "pos": 100},
			Timestamp:    100, Version: 1,
		}, s1)
	})
	t.Run("an update with a stale version is a version conflict", func(t *testing.T) {
		got, _, err := apply(t, s1, `{"method":"update","state":{"reported":{"color":"blue"}},"version":1}`, 101)
		assert.Equal(t, 409, shadowCode(t, err))
		assert.Equal(t, s1, got)
	})
	t.Run("version -1 resets the version to 0 and applies", func(t *testing.T) {
		got, _, err := apply(t, s1, `{"method":"update","state":{"reported":{"color":"blue"}},"version":-1}`, 101)
		require.NoError(t, err)
		assert.Equal(t, int64(0), got.Version)
		assert.Equal(t, "blue", got.Reported["color"])
	})
	t.Run("without the version check the version goes up by one", func(t *testing.T) {
		req, err := iot.ParseShadowRequest([]byte(`{"method":"update","state":{"desired":{"color":"green"}},"version":0}`))
		require.NoError(t, err)
		got, changed, err := s1.Apply(req, 102, false)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
		assert.True(t, changed)
	})
	t.Run("arrays are replaced whole", func(t *testing.T) {
		got, _, err := apply(t, s1, `{"method":"update","state":{"reported":{"pos":[9]}},"version":2}`, 101)
		require.NoError(t, err)
		assert.Equal(t, []any{json.Number("9")}, got.Reported["pos"])
	})
	t.Run("nested objects merge key by key", func(t *testing.T) {
		a, _, err := apply(t, s1, `{"method":"update","state":{"reported":{"o":{"x":1,"y":2}}},"version":2}`, 101)
		require.NoError(t, err)
		b, _, err := apply(t, a, `{"method":"update","state":{"reported":{"o":{"y":3,"x":"null"}}},"version":3}`, 102)
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"y": json.Number("3")}, b.Reported["o"])
		assert.Equal(t, map[string]any{"x": json.Number("1"), "y": json.Number("2")}, a.Reported["o"], "the earlier shadow is untouched")
	})
	t.Run("a key set to the string null is removed", func(t *testing.T) {
		got, _, err := apply(t, s1, `{"method":"update","state":{"reported":{"color":"null"}},"version":2}`, 101)
		require.NoError(t, err)
		assert.NotContains(t, got.Reported, "color")
		assert.NotContains(t, got.ReportedMeta, "color")
	})
	t.Run("setting desired reports a change for the control push", func(t *testing.T) {
		got, changed, err := apply(t, s1, `{"method":"update","state":{"desired":{"color":"green"}},"version":2}`, 101)
		require.NoError(t, err)
		assert.True(t, changed)
		assert.Equal(t, map[string]any{"color": "green"}, got.Desired)
		assert.Equal(t, map[string]int64{"color": 101}, got.DesiredMeta)
	})
	t.Run("desired null clears desired without a control push", func(t *testing.T) {
		withDesired, _, err := apply(t, s1, `{"method":"update","state":{"desired":{"color":"green"}},"version":2}`, 101)
		require.NoError(t, err)
		got, changed, err := apply(t, withDesired, `{"method":"update","state":{"desired":"null"},"version":3}`, 102)
		require.NoError(t, err)
		assert.False(t, changed)
		assert.Nil(t, got.Desired)
		assert.Nil(t, got.DesiredMeta)
		assert.Equal(t, s1.Reported, got.Reported)
	})
	t.Run("delete removes the listed keys", func(t *testing.T) {
		got, _, err := apply(t, s1, `{"method":"delete","state":{"reported":{"color":"null"}},"version":2}`, 101)
		require.NoError(t, err)
		assert.Equal(t, []string{"pos"}, keys(got.Reported))
		assert.Equal(t, int64(2), got.Version)
	})
	t.Run("delete with reported null removes every reported key", func(t *testing.T) {
		got, _, err := apply(t, s1, `{"method":"delete","state":{"reported":"null"},"version":2}`, 101)
		require.NoError(t, err)
		assert.Nil(t, got.Reported)
		assert.Nil(t, got.ReportedMeta)
	})
	t.Run("129 reported attributes are too many", func(t *testing.T) {
		parts := make([]string, 129)
		for i := range parts {
			parts[i] = fmt.Sprintf(`"k%d":%d`, i, i)
		}
		_, _, err := apply(t, iot.Shadow{}, `{"method":"update","state":{"reported":{`+strings.Join(parts, ",")+`}},"version":1}`, 100)
		assert.Equal(t, 408, shadowCode(t, err))
	})
	t.Run("128 reported attributes are accepted", func(t *testing.T) {
		parts := make([]string, 128)
		for i := range parts {
			parts[i] = fmt.Sprintf(`"k%d":%d`, i, i)
		}
		_, _, err := apply(t, iot.Shadow{}, `{"method":"update","state":{"reported":{`+strings.Join(parts, ",")+`}},"version":1}`, 100)
		assert.NoError(t, err)
	})
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestShadowDocument(t *testing.T) {
	t.Run("an empty shadow is an empty document at version 0", func(t *testing.T) {
		assert.JSONEq(t, `{"state":{},"metadata":{},"version":0}`, string(iot.Shadow{}.Document()))
	})
	s := iot.Shadow{
		Reported:     map[string]any{"color": "red", "n": json.Number("1.50")},
		Desired:      map[string]any{"color": "green"},
		ReportedMeta: map[string]int64{"color": 100, "n": 100},
		DesiredMeta:  map[string]int64{"color": 101},
		Timestamp:    101, Version: 2,
	}
	t.Run("the document has state, metadata in seconds, timestamp and version", func(t *testing.T) {
		assert.Equal(t, `{"metadata":{"desired":{"color":{"timestamp":101}},"reported":{"color":{"timestamp":100},"n":{"timestamp":100}}},`+
			`"state":{"desired":{"color":"green"},"reported":{"color":"red","n":1.50}},"timestamp":101,"version":2}`, string(s.Document()))
	})
	t.Run("a document parses back to the same shadow", func(t *testing.T) {
		got, err := iot.ParseShadowDocument(s.Document())
		require.NoError(t, err)
		assert.Equal(t, s, got)
	})
	t.Run("a document that is not JSON is an error", func(t *testing.T) {
		_, err := iot.ParseShadowDocument([]byte(`{`))
		assert.Error(t, err)
	})
}

func TestShadowReplies(t *testing.T) {
	s := iot.Shadow{Reported: map[string]any{"color": "red"}, ReportedMeta: map[string]int64{"color": 100}, Timestamp: 100, Version: 2}
	for _, tc := range []struct {
		name, got, want string
	}{
		{"an accepted update is answered with its version", string(iot.ShadowReplySuccess(1, 1469564576)),
			`{"method":"reply","payload":{"status":"success","version":1},"timestamp":1469564576}`},
		{"a refused update is answered with the code as a string", string(iot.ShadowReplyError(&iot.ShadowError{Code: 409, Message: "Version conflict."}, 5)),
			`{"method":"reply","payload":{"status":"error","content":{"errorcode":"409","errormessage":"Version conflict."}},"timestamp":5}`},
		{"a get is answered with state, metadata and version", string(iot.ShadowGetReply(s, 7)),
			`{"method":"reply","payload":{"status":"success","state":{"reported":{"color":"red"}},"metadata":{"reported":{"color":{"timestamp":100}}}},"version":2,"timestamp":7}`},
		{"a control push is the get reply with method control", string(iot.ShadowControl(s, 7)),
			`{"method":"control","payload":{"status":"success","state":{"reported":{"color":"red"}},"metadata":{"reported":{"color":{"timestamp":100}}}},"version":2,"timestamp":7}`},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.JSONEq(t, tc.want, tc.got) })
	}
}
