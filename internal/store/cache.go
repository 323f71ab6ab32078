package store

import (
	"slices"
	"sync"

	"github.com/iot-emulator/iot-emulator/internal/iot"
)

// cache holds accounts, products and batches, read on every request (a
// status poll reads all three), and the pages of batches' devices, which
// a client reading a batch reads again and again (QueryPageByApplyId
// until every device is there), in memory. Every write that may change
// them clears it; a generation number keeps a read that raced a write from
// filling the cache with what it read before the write committed.
type cache struct {
	mu       sync.Mutex
	gen      uint64
	accounts map[string]iot.Account
	products map[productKey]iot.Product
	batches  map[int64]iot.Batch
	pages    map[pageKey]batchPage
	bounds   map[boundKey]pageBound
}

// boundKey is one offset of a product's devices, newest first (QueryDevice's
// order); pageBound the sort key of the device there. A page read from a
// known bound seeks to it instead of stepping over every device before it:
// the deepest page the API allows steps over 10,000.
type boundKey struct {
	accessKeyID, productKey string
	offset                  int
}

type pageBound struct{ created, seq int64 }

// pageKey is one page of a batch's devices; batchPage the devices on it
// and the batch's total.
type pageKey struct {
	applyID       int64
	offset, limit int
}

type batchPage struct {
	devs  []iot.BatchDevice
	total int
}

type productKey struct{ accessKeyID, productKey string }

// maxCached bounds each map; past it the map is cleared and refilled (an
// emulator holds a few accounts and products, so this is only a guard).
const maxCached = 4096

// maxPages bounds the cached pages: a page of 50 devices is about 15 KB,
// and a client pages through one batch at a time.
const maxPages = 256

// maxBounds bounds the page bounds kept (two a page read, 56 bytes each).
const maxBounds = 1024

func newCache() *cache {
	return &cache{accounts: map[string]iot.Account{}, products: map[productKey]iot.Product{}, batches: map[int64]iot.Batch{}, pages: map[pageKey]batchPage{},
		bounds: map[boundKey]pageBound{}}
}

// invalidate forgets everything and starts a new generation.
func (c *cache) invalidate() {
	c.mu.Lock()
	c.gen++
	clear(c.accounts)
	clear(c.products)
	clear(c.batches)
	clear(c.pages)
	clear(c.bounds)
	c.mu.Unlock()
}

// generation is read before a lookup in SQL, and handed to the put that
// stores its result.
func (c *cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// get and put are the lookups of every map; own copies what the caller
// and the cache must not share.
func get[K comparable, V any](c *cache, m map[K]V, k K, own func(V) V) (V, bool) {
	c.mu.Lock()
	v, ok := m[k]
	c.mu.Unlock()
	return own(v), ok
}

func put[K comparable, V any](c *cache, m map[K]V, limit int, gen uint64, k K, v V, own func(V) V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(m) >= limit {
		clear(m)
	}
	m[k] = own(v)
}

func ownAccount(a iot.Account) iot.Account {
	a.Instances = slices.Clone(a.Instances)
	return a
}

func ownProduct(p iot.Product) iot.Product {
	p.ThingModel = slices.Clone(p.ThingModel)
	return p
}

// ownBatch gives the batch its own Due and PollsLeft.
func ownBatch(b iot.Batch) iot.Batch {
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

// ownPage gives the page its own devices.
func ownPage(p batchPage) batchPage {
	p.devs = slices.Clone(p.devs)
	return p
}

func (c *cache) account(id string) (iot.Account, bool) {
	return get(c, c.accounts, id, ownAccount)
}

func (c *cache) putAccount(gen uint64, a iot.Account) {
	put(c, c.accounts, maxCached, gen, a.AccessKeyID, a, ownAccount)
}

func (c *cache) product(accessKeyID, key string) (iot.Product, bool) {
	return get(c, c.products, productKey{accessKeyID, key}, ownProduct)
}

func (c *cache) putProduct(gen uint64, p iot.Product) {
	put(c, c.products, maxCached, gen, productKey{p.AccessKeyID, p.ProductKey}, p, ownProduct)
}

func (c *cache) batch(applyID int64) (iot.Batch, bool) {
	return get(c, c.batches, applyID, ownBatch)
}

func (c *cache) putBatch(gen uint64, b iot.Batch) {
	put(c, c.batches, maxCached, gen, b.ApplyID, b, ownBatch)
}

func (c *cache) page(k pageKey) (batchPage, bool) {
	return get(c, c.pages, k, ownPage)
}

func (c *cache) putPage(gen uint64, k pageKey, p batchPage) {
	put(c, c.pages, maxPages, gen, k, p, ownPage)
}

func (c *cache) bound(k boundKey) (pageBound, bool) {
	return get(c, c.bounds, k, same)
}

func (c *cache) putBound(gen uint64, k boundKey, b pageBound) {
	put(c, c.bounds, maxBounds, gen, k, b, same)
}

// same is the own of values that share nothing.
func same[V any](v V) V { return v }
