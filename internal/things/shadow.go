package things

import (
	"context"
	"errors"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// shadowOf reads a device's shadow (empty when it has none).
func (s *Service) shadowOf(ctx context.Context, dev iot.Device) (iot.Shadow, error) {
	doc, err := s.st.Shadow(ctx, dev.IotID)
	if err != nil || doc == nil {
		return iot.Shadow{}, err
	}
	return iot.ParseShadowDocument(doc)
}

// Shadow returns a device's shadow document.
func (s *Service) Shadow(ctx context.Context, dev iot.Device) ([]byte, error) {
	sh, err := s.shadowOf(ctx, dev)
	if err != nil {
		return nil, err
	}
	return sh.Document(), nil
}

// applyShadow applies a parsed request in one store transaction and
// returns the new shadow and whether its desired part changed.
func (s *Service) applyShadow(ctx context.Context, dev iot.Device, req iot.ShadowRequest, replaceDesired, checkVersion bool) (iot.Shadow, bool, error) {
	var next iot.Shadow
	var changed bool
	now := s.cfg.Now().Unix()
	err := s.st.UpdateShadow(ctx, dev.IotID, func(old []byte) ([]byte, int64, error) {
		cur := iot.Shadow{}
		if old != nil {
			var err error
			if cur, err = iot.ParseShadowDocument(old); err != nil {
				return nil, 0, err
			}
		}
		if replaceDesired && req.Desired != nil {
			cur.Desired, cur.DesiredMeta = nil, nil
		}
		var err error
		next, changed, err = cur.Apply(req, now, checkVersion)
		if err != nil {
			return nil, 0, err
		}
		return next.Document(), next.Version, nil
	})
	return next, changed, err
}

// UpdateShadow is UpdateDeviceShadow: an update of the desired state
// (merged with delta, else replacing it); version 0 skips the version
// check. An online device is pushed the new state as "control".
func (s *Service) UpdateShadow(ctx context.Context, dev iot.Device, msg []byte, delta bool, requestID string) error {
	req, err := iot.ParseShadowRequest(msg)
	if err != nil {
		return err
	}
	if req.Method != "update" {
		return &iot.ShadowError{Code: 406, Message: "method must be update"}
	}
	next, changed, err := s.applyShadow(ctx, dev, req, !delta, req.HasVersion && req.Version != 0)
	if err != nil {
		return err
	}
	if changed && dev.Status == iot.DeviceOnline {
		s.deliver(ctx, dev, "/shadow/get/"+dev.ProductKey+"/"+dev.DeviceName, iot.ShadowControl(next, s.cfg.Now().Unix()), 0, "", requestID, false)
	}
	return nil
}

// shadowUplink handles a device's /shadow/update message: update and
// delete answer "reply" with success or the error, get answers the
// shadow.
func (s *Service) shadowUplink(ctx context.Context, dev iot.Device, payload []byte) {
	topic := "/shadow/get/" + dev.ProductKey + "/" + dev.DeviceName
	now := s.cfg.Now().Unix()
	req, err := iot.ParseShadowRequest(payload)
	if err == nil && req.Method == "get" {
		sh, err := s.shadowOf(ctx, dev)
		if err != nil {
			s.log.Error("shadow get: store", "productKey", dev.ProductKey, "deviceName", dev.DeviceName, "err", err)
			s.send(ctx, dev, topic, iot.ShadowReplyError(&iot.ShadowError{Code: 500, Message: "Server exception."}, now), "")
			return
		}
		s.send(ctx, dev, topic, iot.ShadowGetReply(sh, now), "")
		return
	}
	var next iot.Shadow
	if err == nil {
		next, _, err = s.applyShadow(ctx, dev, req, false, req.HasVersion)
	}
	var se *iot.ShadowError
	switch {
	case errors.As(err, &se):
		s.send(ctx, dev, topic, iot.ShadowReplyError(se, now), "")
	case err != nil:
		s.log.Error("shadow update: store", "productKey", dev.ProductKey, "deviceName", dev.DeviceName, "err", err)
		s.send(ctx, dev, topic, iot.ShadowReplyError(&iot.ShadowError{Code: 500, Message: "Server exception."}, now), "")
	default:
		s.send(ctx, dev, topic, iot.ShadowReplySuccess(next.Version, now), "")
	}
}
