package iot_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

func names(ns ...string) []iot.BatchName {
	out := make([]iot.BatchName, len(ns))
	for i, n := range ns {
		out[i].DeviceName = n
	}
	return out
}

func TestSettle(t *testing.T) {
	check := iot.Batch{ApplyID: 1, Status: iot.StatusCheck}
	create := iot.Batch{ApplyID: 2, Status: iot.StatusCreate}
	for _, tc := range []struct {
		name     string
		b        iot.Batch
		names    []iot.BatchName
		existing map[string]bool
		forced   map[string]string
		count    int
		quota    int
		want     iot.Settlement
	}{
		{name: "a check with free names succeeds and creates nothing", b: check, names: names("a", "b"),
			want: iot.Settlement{Status: iot.StatusCheckSuccess}},
		{name: "a check with a taken name fails that name", b: check, names: names("a", "b"), existing: map[string]bool{"b": true},
			want: iot.Settlement{Status: iot.StatusCheckFailed, Failed: 1, Failures: []iot.NameFailure{{Index: 1, Msg: iot.MsgNameExists}}}},
		{name: "a create makes every free name", b: create, names: names("a", "b"),
			want: iot.Settlement{Status: iot.StatusCreateSuccess, Create: []int{0, 1}}},
		{name: "a forced name fails with its reason and is not created", b: create, names: names("a", "b"), forced: map[string]string{"a": "no"},
			want: iot.Settlement{Status: iot.StatusCreateFailed, Failed: 1, Failures: []iot.NameFailure{{Index: 0, Msg: "no"}}, Create: []int{1}}},
		{name: "names past the quota fail with the quota reason", b: create, names: names("a", "b", "c"), count: 8, quota: 10,
			want: iot.Settlement{Status: iot.StatusCreateFailed, Failed: 1, Failures: []iot.NameFailure{{Index: 2, Msg: iot.MsgQuota}}, Create: []int{0, 1}}},
		{name: "a name twice in one batch is created once", b: create, names: names("a", "a"),
			want: iot.Settlement{Status: iot.StatusCreateFailed, Failed: 1, Failures: []iot.NameFailure{{Index: 1, Msg: iot.MsgNameExists}}, Create: []int{0}}},
		{name: "a name that failed its check counts as failed again in create", b: create,
			names: []iot.BatchName{{DeviceName: "a", ErrorMsg: "earlier"}, {DeviceName: "b"}},
			want:  iot.Settlement{Status: iot.StatusCreateFailed, Failed: 1, Create: []int{1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := iot.Settle(tc.b, tc.names, tc.existing, tc.forced, tc.count, tc.quota)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	t.Run("a batch that is not transient cannot be settled", func(t *testing.T) {
		_, err := iot.Settle(iot.Batch{Status: iot.StatusCreateSuccess}, nil, nil, nil, 0, 0)
		assert.ErrorIs(t, err, iot.ErrState)
	})
	t.Run("settling does not change the caller's map of existing names", func(t *testing.T) {
		existing := map[string]bool{}
		_, err := iot.Settle(create, names("a"), existing, nil, 0, 0)
		require.NoError(t, err)
		assert.Empty(t, existing)
	})
}

func TestNextStatus(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    string
		activated bool
		ev        iot.DeviceEvent
		want      string
		refused   bool
	}{
		{"a first login activates a device", iot.DeviceUnactive, false, iot.Connect, iot.DeviceOnline, false},
		{"a login of an offline device puts it online", iot.DeviceOffline, true, iot.Connect, iot.DeviceOnline, false},
		{"a disconnect puts an online device offline", iot.DeviceOnline, true, iot.Disconnect, iot.DeviceOffline, false},
		{"a disconnect leaves a never-activated device unactive", iot.DeviceUnactive, false, iot.Disconnect, iot.DeviceUnactive, false},
		{"disabling works from any status", iot.DeviceOnline, true, iot.Disable, iot.DeviceDisabled, false},
		{"a disabled device cannot log in", iot.DeviceDisabled, true, iot.Connect, iot.DeviceDisabled, true},
		{"enabling an activated device leaves it offline", iot.DeviceDisabled, true, iot.Enable, iot.DeviceOffline, false},
		{"enabling a never-activated device leaves it unactive", iot.DeviceDisabled, false, iot.Enable, iot.DeviceUnactive, false},
		{"enabling an enabled device changes nothing", iot.DeviceOnline, true, iot.Enable, iot.DeviceOnline, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := iot.NextStatus(tc.status, tc.activated, tc.ev)
			if tc.refused {
				assert.ErrorIs(t, err, iot.ErrState)
			} else {
				assert.NoError(t, err)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDeviceQuota(t *testing.T) {
	assert.Equal(t, 3_000_000, iot.DeviceQuota("cn-shanghai", 0), "the documented quota of cn-shanghai")
	assert.Equal(t, 1_000_000, iot.DeviceQuota("ap-southeast-1", 0), "the documented quota elsewhere")
	assert.Equal(t, 5, iot.DeviceQuota("cn-shanghai", 5), "an override wins")
}
