package emutest

import (
	"context"

	"github.com/iot-emulator/iot-emulator/emulator"
	"github.com/iot-emulator/iot-emulator/internal/control"
)

// VirtualDevice is how a virtual device behaves:
//
//	srv.Virtual("a1TestProd1", "light01", emutest.VirtualDevice{Online: true, AutoReply: true})
type VirtualDevice = emulator.VirtualDevice

// ServiceReply is a virtual device's answer to one service.
type ServiceReply = emulator.ServiceReply

// DeviceMessage is one message to or from a device, as the message log
// keeps it.
type DeviceMessage = emulator.DeviceMessage

// MessageFilter selects message-log entries ("" fields match anything).
type MessageFilter = emulator.MessageFilter

// Property is one of a device's latest reported values.
type Property = emulator.PropertyView

// Virtual makes a registered device virtual: ONLINE without a socket (when
// cfg.Online), acknowledging property sets and answering services and
// RRpc as cfg says. It is POST /_emulator/devices/{pk}/{dn}/virtual.
func (s *Server) Virtual(productKey, deviceName string, cfg VirtualDevice) {
	if s.t != nil {
		s.t.Helper()
	}
	if _, err := s.emu.SetVirtual(context.Background(), "", productKey, deviceName, cfg); err != nil {
		s.fatalf("emutest: Virtual %s/%s: %s", productKey, deviceName, control.Message(err))
	}
}

// RemoveVirtual takes a virtual device offline and makes it an ordinary
// device again.
func (s *Server) RemoveVirtual(productKey, deviceName string) {
	if s.t != nil {
		s.t.Helper()
	}
	if err := s.emu.RemoveVirtual(context.Background(), "", productKey, deviceName); err != nil {
		s.fatalf("emutest: RemoveVirtual %s/%s: %s", productKey, deviceName, control.Message(err))
	}
}

// PublishAs publishes payload to topic as the virtual device would, for
// example a property post; replies go to the message log.
func (s *Server) PublishAs(productKey, deviceName, topic string, payload []byte) {
	if s.t != nil {
		s.t.Helper()
	}
	if err := s.emu.PublishAs(context.Background(), "", productKey, deviceName, topic, payload); err != nil {
		s.fatalf("emutest: PublishAs %s/%s %s: %s", productKey, deviceName, topic, control.Message(err))
	}
}

// Messages returns the message log, oldest first.
func (s *Server) Messages(f MessageFilter) []DeviceMessage {
	if s.t != nil {
		s.t.Helper()
	}
	out, err := s.emu.Messages(context.Background(), f)
	if err != nil {
		s.fatalf("emutest: Messages: %s", control.Message(err))
	}
	return out
}

// ClearMessages empties the message log.
func (s *Server) ClearMessages() {
	if s.t != nil {
		s.t.Helper()
	}
	if _, err := s.emu.ClearMessages(context.Background()); err != nil {
		s.fatalf("emutest: ClearMessages: %s", control.Message(err))
	}
}

// Properties returns a device's latest reported values.
func (s *Server) Properties(productKey, deviceName string) []Property {
	if s.t != nil {
		s.t.Helper()
	}
	out, err := s.emu.Properties(context.Background(), "", productKey, deviceName)
	if err != nil {
		s.fatalf("emutest: Properties %s/%s: %s", productKey, deviceName, control.Message(err))
	}
	return out
}
