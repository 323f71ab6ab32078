package broker

import "runtime"

// offloader runs the hooks' store calls on a few long-lived goroutines
// instead of on each connection's. A login storm otherwise puts hundreds
// of connection goroutines into SQLite at once, all queueing for the same
// connections, and an RPC call arriving meanwhile queues behind them: with
// 10,000 devices logging in, GetDeviceStatus took 30 ms at the median
// instead of 5 ms with four workers, and the logins were no slower. Only
// the workers' stacks grow to what modernc's SQLite needs, not those of
// goroutines that then idle for as long as their device stays online.
type offloader struct {
	jobs chan job
	quit chan struct{}
}

type job struct {
	fn   func()
	done chan struct{}
}

func newOffloader() *offloader {
	o := &offloader{jobs: make(chan job), quit: make(chan struct{})}
	for range max(4, 2*runtime.GOMAXPROCS(0)) {
		go o.work()
	}
	return o
}

func (o *offloader) work() {
	for {
		select {
		case j := <-o.jobs:
			j.fn()
			close(j.done)
		case <-o.quit:
			return
		}
	}
}

// run calls fn on a worker and waits; once the broker has closed, on the
// caller's goroutine.
func (o *offloader) run(fn func()) {
	j := job{fn: fn, done: make(chan struct{})}
	select {
	case o.jobs <- j:
		<-j.done
	case <-o.quit:
		fn()
	}
}

// stop ends the workers; later calls run inline.
func (o *offloader) stop() { close(o.quit) }
