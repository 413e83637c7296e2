package mvcc

import (
	"container/heap"
	"sync"
	"sync/atomic"
)

// Watermark tracks a set of timestamps that are in progress (begun, not yet
// done) and answers two questions cheaply: which is the oldest one still in
// progress, and up to which timestamp is everything done. It is kept with one
// mutex and an atomic; no goroutine or channel is made per mark, so a mark
// costs a map update and a heap push.
//
// The same timestamp may be begun several times (many readers at one read
// timestamp); it stays in progress until it has been done as many times.
// All methods are safe for concurrent use.
type Watermark struct {
	mu      sync.Mutex
	cond    sync.Cond      // signalled when doneUntil advances; uses mu
	pending map[uint64]int // timestamp in order -> marks begun and not done (0: done, not yet popped)
	order   tsHeap         // the distinct timestamps in pending, min first
	maxSeen uint64         // largest timestamp ever begun or advanced to

	doneUntil atomic.Uint64
}

// NewWatermark returns a watermark with nothing in progress and every
// timestamp up to start done.
func NewWatermark(start uint64) *Watermark {
	w := &Watermark{pending: make(map[uint64]int), maxSeen: start}
	w.cond.L = &w.mu
	w.doneUntil.Store(start)
	return w
}

// Begin marks ts as in progress. A ts at or below DoneUntil lowers
// DoneUntil to ts-1 until it is done.
func (w *Watermark) Begin(ts uint64) {
	w.mu.Lock()
	if _, ok := w.pending[ts]; !ok {
		heap.Push(&w.order, ts)
	}
	w.pending[ts]++
	w.maxSeen = max(w.maxSeen, ts)
	w.update()
	w.mu.Unlock()
}

// Done marks one Begin of ts as finished. Done of a ts that is not in
// progress is ignored.
func (w *Watermark) Done(ts uint64) {
	w.mu.Lock()
	if n := w.pending[ts]; n > 0 {
		w.pending[ts] = n - 1
	}
	// Drop finished timestamps from the top of the heap; others stay (with
	// a count of 0) until they reach it.
	for len(w.order) > 0 && w.pending[w.order[0]] == 0 {
		delete(w.pending, heap.Pop(&w.order).(uint64))
	}
	w.update()
	w.mu.Unlock()
}

// Advance declares every timestamp up to ts done (a timestamp that was
// handed out and will never be begun, for example). Called with marks of
// at most ts still in progress it only raises the bound they are measured
// against.
func (w *Watermark) Advance(ts uint64) {
	w.mu.Lock()
	w.maxSeen = max(w.maxSeen, ts)
	w.update()
	w.mu.Unlock()
}

// update recomputes doneUntil; called with mu held.
func (w *Watermark) update() {
	d := w.maxSeen
	if len(w.order) > 0 {
		d = w.order[0] - 1
	}
	if d != w.doneUntil.Load() {
		w.doneUntil.Store(d)
		w.cond.Broadcast()
	}
}

// DoneUntil returns the largest ts such that every timestamp at or below it
// that was begun is done. It reads one atomic.
func (w *Watermark) DoneUntil() uint64 { return w.doneUntil.Load() }

// Oldest returns the oldest timestamp in progress, and false when nothing is.
func (w *Watermark) Oldest() (uint64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.order) == 0 {
		return 0, false
	}
	return w.order[0], true
}

// InProgress returns how many marks are begun and not done.
func (w *Watermark) InProgress() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.pending {
		n += c
	}
	return n
}

// WaitFor blocks until DoneUntil is at least ts.
func (w *Watermark) WaitFor(ts uint64) {
	if w.DoneUntil() >= ts {
		return
	}
	w.mu.Lock()
	for w.doneUntil.Load() < ts {
		w.cond.Wait()
	}
	w.mu.Unlock()
}

// tsHeap is a min-heap of timestamps.
type tsHeap []uint64

func (h tsHeap) Len() int           { return len(h) }
func (h tsHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h tsHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *tsHeap) Push(x any)        { *h = append(*h, x.(uint64)) }
func (h *tsHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
