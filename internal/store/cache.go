package store

import (
	"slices"
	"sync"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// cache holds accounts, products and batches, read on every request (a
// status poll reads all three), in memory.
// Every write that may change them clears it; a generation number keeps a
// read that raced a write from filling the cache with what it read before
// the write committed.
type cache struct {
	mu       sync.Mutex
	gen      uint64
	accounts map[string]iot.Account
	products map[productKey]iot.Product
	batches  map[int64]iot.Batch
}

type productKey struct{ accessKeyID, productKey string }

// maxCached bounds each map; past it the cache is cleared and refilled
// (an emulator holds a few accounts and products, so this is only a guard).
const maxCached = 4096

func newCache() *cache {
	return &cache{accounts: map[string]iot.Account{}, products: map[productKey]iot.Product{}, batches: map[int64]iot.Batch{}}
}

// invalidate forgets everything and starts a new generation.
func (c *cache) invalidate() {
	c.mu.Lock()
	c.gen++
	clear(c.accounts)
	clear(c.products)
	clear(c.batches)
	c.mu.Unlock()
}

// generation is read before a lookup in SQL, and handed to the put that
// stores its result.
func (c *cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *cache) account(id string) (iot.Account, bool) {
	c.mu.Lock()
	a, ok := c.accounts[id]
	c.mu.Unlock()
	// The caller owns what it gets: its slice is its own.
	a.Instances = slices.Clone(a.Instances)
	return a, ok
}

func (c *cache) putAccount(gen uint64, a iot.Account) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.accounts) >= maxCached {
		clear(c.accounts)
	}
	a.Instances = slices.Clone(a.Instances)
	c.accounts[a.AccessKeyID] = a
}

func (c *cache) product(accessKeyID, key string) (iot.Product, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.products[productKey{accessKeyID, key}]
	p.ThingModel = slices.Clone(p.ThingModel)
	return p, ok
}

func (c *cache) putProduct(gen uint64, p iot.Product) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.products) >= maxCached {
		clear(c.products)
	}
	p.ThingModel = slices.Clone(p.ThingModel)
	c.products[productKey{p.AccessKeyID, p.ProductKey}] = p
}

func (c *cache) batch(applyID int64) (iot.Batch, bool) {
	c.mu.Lock()
	b, ok := c.batches[applyID]
	c.mu.Unlock()
	return copyBatch(b), ok
}

func (c *cache) putBatch(gen uint64, b iot.Batch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.batches) >= maxCached {
		clear(c.batches)
	}
	c.batches[b.ApplyID] = copyBatch(b)
}

// copyBatch gives the batch its own Due and PollsLeft.
func copyBatch(b iot.Batch) iot.Batch {
	if b.Due != nil {
		t := *b.Due
		b.Due = &t
	}
	if b.PollsLeft != nil {
		n := *b.PollsLeft
		b.PollsLeft = &n
	}
	return b
}
