// Package hotkey tracks how often keys are touched over a sliding window,
// in bounded memory, and names the hottest ones.
//
// Counts live in a count-min sketch (depth 4) so any key's frequency can be
// estimated without storing the key; a small candidate table keeps the keys
// whose estimate is highest, which is what a top-N report needs. Every
// window the sketch and the candidates are halved, so a count is an
// exponentially decayed frequency: a key touched steadily converges to about
// twice its per-window rate, and a key that goes cold fades in a few windows.
// (HotRing, FAST '20, makes the same trade: approximate frequencies,
// bounded memory, hot items found without scanning.)
package hotkey

import (
	"bytes"
	"sort"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
)

const (
	depth = 4
	width = 1 << 12
)

// KeyCount is a key and its decayed count.
type KeyCount struct {
	Key   []byte
	Count uint32
}

// Tracker counts key touches. All methods are safe for concurrent use.
type Tracker struct {
	mu        sync.Mutex
	sketch    [depth][width]uint32
	cand      map[string]uint32
	topN      int
	floor     uint32 // no candidate's count is below this (a lower bound)
	window    time.Duration
	lastDecay time.Time
	now       func() time.Time
	touches   uint32 // Touches since the clock was last read
}

// clockEvery is how many Touches share one reading of the clock: decay is
// a matter of seconds, and reading the clock on every write costs more
// than the rest of a Touch.
const clockEvery = 64

// New returns a tracker that reports the topN hottest keys over a window
// (both must be positive).
func New(topN int, window time.Duration) *Tracker {
	return &Tracker{cand: make(map[string]uint32, 4*topN), topN: topN, window: window, now: time.Now, lastDecay: time.Now()}
}

// Touch counts one access to key and returns its estimated count.
func (t *Tracker) Touch(key []byte) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.touchLocked(key)
}

// TryTouch is Touch if the tracker is not busy; it never waits (for
// sampled reads on hot paths).
func (t *Tracker) TryTouch(key []byte) {
	if t.mu.TryLock() {
		t.touchLocked(key)
		t.mu.Unlock()
	}
}

// Estimate returns key's estimated count without touching it.
func (t *Tracker) Estimate(key []byte) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.maybeDecay()
	h := xxhash.Sum64(key)
	est := ^uint32(0)
	for d := 0; d < depth; d++ {
		est = min(est, t.sketch[d][index(h, d)])
	}
	return est
}

func index(h uint64, d int) uint32 {
	// Derive depth hashes from one 64-bit hash (Kirsch–Mitzenmacher).
	return uint32((h>>32)+uint64(d)*(h&0xffffffff)) % width
}

func (t *Tracker) touchLocked(key []byte) uint32 {
	if t.touches++; t.touches >= clockEvery {
		t.touches = 0
		t.maybeDecay()
	}
	h := xxhash.Sum64(key)
	est := ^uint32(0)
	for d := 0; d < depth; d++ {
		c := &t.sketch[d][index(h, d)]
		if *c < ^uint32(0) {
			*c++
		}
		est = min(est, *c)
	}
	if _, ok := t.cand[string(key)]; ok || len(t.cand) < 4*t.topN {
		t.cand[string(key)] = est
		return est
	}
	// Counts of candidates only grow between decays, so floor stays a lower
	// bound on the coldest one; most touches (cold keys) stop here.
	if est <= t.floor {
		return est
	}
	lo, loKey := t.coldest()
	t.floor = lo
	if est > lo {
		delete(t.cand, loKey)
		t.cand[string(key)] = est
	}
	return est
}

// coldest returns the smallest candidate count; the table is small (4×topN).
func (t *Tracker) coldest() (uint32, string) {
	lo, loKey := ^uint32(0), ""
	for k, c := range t.cand {
		if c < lo {
			lo, loKey = c, k
		}
	}
	return lo, loKey
}

func (t *Tracker) maybeDecay() {
	now := t.now()
	if now.Sub(t.lastDecay) >= 32*t.window {
		// Idle for 32 windows: every count has halved to zero.
		t.sketch = [depth][width]uint32{}
		clear(t.cand)
		t.floor = 0
		t.lastDecay = now
		return
	}
	for now.Sub(t.lastDecay) >= t.window {
		t.lastDecay = t.lastDecay.Add(t.window)
		for d := range t.sketch {
			for i := range t.sketch[d] {
				t.sketch[d][i] >>= 1
			}
		}
		t.floor = 0
		for k, c := range t.cand {
			if c >>= 1; c == 0 {
				delete(t.cand, k)
			} else {
				t.cand[k] = c
			}
		}
	}
}

// Top returns up to topN keys with the highest counts, hottest first.
func (t *Tracker) Top() []KeyCount {
	t.mu.Lock()
	t.maybeDecay()
	out := make([]KeyCount, 0, len(t.cand))
	for k, c := range t.cand {
		out = append(out, KeyCount{Key: []byte(k), Count: c})
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return bytes.Compare(out[i].Key, out[j].Key) < 0
	})
	if len(out) > t.topN {
		out = out[:t.topN]
	}
	return out
}
