package backend

import (
	"bytes"
	"sync"
	"sync/atomic"

	"github.com/nokv/nokv/iface"
)

// maxPrefetchWorkers bounds the goroutines one iterator reads ahead with.
const maxPrefetchWorkers = 4

// prefetcher reads the values of the next IterOptions.PrefetchValues
// pointers ahead of an iterator's cursor, with a few goroutines, while the
// caller consumes the current one.
//
// It drives a second iterator (the lookahead) over the same version and
// bounds, which visits the same keys in the same order, and queues a read
// of every pointer it meets. It works lazily from Value: the first Value
// aligns the lookahead with the cursor; each later Value takes the queued
// read for the cursor's key (dropping the reads of keys the caller stepped
// over without asking for their values) and queues one more. Any other
// movement (Seek, Prev, Last, ...) shows up as a cursor the queue does not
// expect, and the next Value realigns. A queued read is only used when its
// pointer is exactly the one under the cursor, so a lookahead that disagrees
// (it captured the tree a moment later) costs a direct read, never a wrong
// value. Reverse and AllVersions iteration read directly.
//
// Prefetched values use memory: up to PrefetchValues values per iterator.
// Close stops the goroutines and waits for reads in flight before the
// iterator releases its value-log pin.
type prefetcher struct {
	db    *DB
	n     int       // values to keep queued ahead
	la    *Iterator // the lookahead; nil until the first Value
	queue []*prefetchItem

	jobs    chan *prefetchItem
	free    chan []byte // value buffers the caller is done with, for the workers
	quit    chan struct{}
	wg      sync.WaitGroup
	started bool
}

// prefetchItem is one queued read. done is closed when val and err are set.
type prefetchItem struct {
	key       []byte
	ptr       []byte // encoded iface.ValuePtr
	done      chan struct{}
	cancelled atomic.Bool // dropped from the queue: skip the read
	val       []byte
	err       error
}

func newPrefetcher(db *DB, n int) *prefetcher {
	return &prefetcher{db: db, n: n}
}

// value returns the value of the pointer under it's cursor, from the queue
// when it was read ahead.
func (p *prefetcher) value(it *Iterator) ([]byte, error) {
	if it.dir < 0 || it.all {
		return it.db.readPointer(it.value, it.vbuf[:0])
	}
	// Drop reads of keys before the cursor (stepped over).
	for len(p.queue) > 0 && bytes.Compare(p.queue[0].key, it.key) < 0 {
		p.pop().cancelled.Store(true)
	}
	if len(p.queue) == 0 || !bytes.Equal(p.queue[0].key, it.key) {
		if err := p.align(it); err != nil {
			return nil, err
		}
	}
	if len(p.queue) == 0 || !bytes.Equal(p.queue[0].key, it.key) || !bytes.Equal(p.queue[0].ptr, it.value) {
		return it.db.readPointer(it.value, it.vbuf[:0])
	}
	item := p.pop()
	p.fill()
	<-item.done
	if item.err != nil {
		return nil, item.err
	}
	p.db.stats.prefetched.Add(1)
	// The previous value is invalid from this positioning on; a worker
	// may fill its buffer again.
	if cap(it.vbuf) > 0 {
		select {
		case p.free <- it.vbuf[:0]:
		default:
		}
	}
	it.vbuf = nil
	return item.val, nil
}

// align moves the lookahead to the cursor's key and queues reads from there.
func (p *prefetcher) align(it *Iterator) error {
	p.clear()
	if p.la == nil {
		la, err := it.db.newIterator(&IterOptions{LowerBound: it.lower, UpperBound: it.upper}, it.version)
		if err != nil {
			return err
		}
		la.version = it.version // 0 means "nothing" here, not "newest"
		p.la = la
	}
	if p.la.Seek(it.key) {
		p.push()
	}
	p.fill()
	return nil
}

// fill advances the lookahead until n reads are queued, or it ends.
func (p *prefetcher) fill() {
	for steps := 0; len(p.queue) < p.n && p.la != nil && p.la.valid && steps < 4*p.n; steps++ {
		if p.la.Next() {
			p.push()
		}
	}
}

// push queues a read of the lookahead's value if it is a pointer.
func (p *prefetcher) push() {
	la := p.la
	if la.kind != iface.KindPointer {
		return
	}
	if !p.started {
		p.start()
	}
	item := &prefetchItem{
		key:  append([]byte(nil), la.key...),
		ptr:  append([]byte(nil), la.value...),
		done: make(chan struct{}),
	}
	p.queue = append(p.queue, item)
	select {
	case p.jobs <- item:
	case <-p.quit:
	}
}

// pop takes the oldest queued read.
func (p *prefetcher) pop() *prefetchItem {
	item := p.queue[0]
	p.queue[0] = nil
	p.queue = p.queue[1:]
	return item
}

// clear drops every queued read; a worker that has not started one skips it.
func (p *prefetcher) clear() {
	for len(p.queue) > 0 {
		p.pop().cancelled.Store(true)
	}
	p.queue = p.queue[:0]
}

// start launches the workers.
func (p *prefetcher) start() {
	p.started = true
	p.jobs = make(chan *prefetchItem, p.n+1)
	p.free = make(chan []byte, p.n+1)
	p.quit = make(chan struct{})
	workers := min(p.n, maxPrefetchWorkers)
	p.wg.Add(workers)
	for range workers {
		go p.work()
	}
}

func (p *prefetcher) work() {
	defer p.wg.Done()
	for {
		select {
		case <-p.quit:
			return
		case item := <-p.jobs:
			if !item.cancelled.Load() {
				var buf []byte
				select {
				case buf = <-p.free:
				default:
				}
				item.val, item.err = p.db.readPointer(item.ptr, buf)
			}
			close(item.done)
		}
	}
}

// close stops the workers, waits for reads in flight, and closes the
// lookahead. Called by Iterator.Close before it releases its pin.
func (p *prefetcher) close() {
	if p.started {
		close(p.quit)
		p.wg.Wait()
		p.started = false
	}
	p.queue = nil
	if p.la != nil {
		p.la.Close()
		p.la = nil
	}
}

// readValue resolves the pointer under the cursor, through the prefetcher
// if there is one.
func (it *Iterator) readValue() ([]byte, error) {
	if it.pf != nil {
		return it.pf.value(it)
	}
	return it.db.readPointer(it.value, it.vbuf[:0])
}
