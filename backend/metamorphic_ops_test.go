package backend_test

import (
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strings"
)

// The operation log of the metamorphic test. A log is data, not a seed: the
// seed only generates it, so the shrinker can drop operations and replay the
// rest unchanged. Every operation is interpreted by two kinds of runner (an
// engine over vfs.MemFS with some combination of components and options, and
// a plain in-memory model), and each produces one line of output per
// operation; the lines must agree.

type metaOpKind int

const (
	mSet        metaOpKind = iota // set key to val
	mSetExpired                   // set key with an expiry in the past: reads as absent
	mSetFuture                    // set key with an expiry far in the future
	mDelete                       // delete key
	mBatch                        // apply sub (sets and deletes) atomically
	mParallel                     // apply the batches in sub concurrently (their keys are disjoint)
	mGet                          // read key
	mIter                         // run iter over the live store
	mSnap                         // take a snapshot into slot (releasing what was there)
	mSnapGet                      // read key in the snapshot of slot
	mSnapIter                     // run iter over the snapshot of slot
	mRelease                      // release the snapshot of slot
	mFlush                        // flush the memtables
	mCompact                      // compact until the policy is content
	mGC                           // one value-log GC cycle at ratio (a no-op for stores without a value log)
	mReopen                       // close and open again
	mCrash                        // simulated power loss (every write is synced, so nothing is lost)
)

// metaSlots is the number of snapshot slots.
const metaSlots = 3

// farFuture is an expiry (2100-01-01) no test run reaches.
const farFuture = 4102444800

// metaOp is one operation of the log.
type metaOp struct {
	kind  metaOpKind
	key   string
	val   metaVal
	sub   []metaOp // mBatch: the batch's sets and deletes; mParallel: the batches
	slot  int      // snapshot ops
	ratio float64  // mGC
	iter  *metaIter
}

// metaVal describes a value; its bytes are made on demand, so a log of
// thousands of large values stays small.
type metaVal struct {
	tag  int // the number of the operation that wrote it
	size int
}

func (v metaVal) bytes() []byte {
	b := make([]byte, 0, v.size)
	b = fmt.Appendf(b, "v%d.", v.tag)
	for i := len(b); i < v.size; i++ {
		b = append(b, byte('a'+(v.tag+i)%26))
	}
	return b[:v.size]
}

// digest names a value in the output: its first bytes, length and checksum.
func digest(v []byte) string {
	head := v
	if len(head) > 10 {
		head = head[:10]
	}
	return fmt.Sprintf("%q#%d/%08x", head, len(v), crc32.ChecksumIEEE(v))
}

// metaIter is an iterator program: bounds, then steps; or a full scan.
type metaIter struct {
	lower, upper string // "" = unbounded
	scan         int    // 0: run steps; +1: scan forward; -1: scan backward
	steps        []metaStep
}

type metaStepKind int

const (
	stepFirst metaStepKind = iota
	stepLast
	stepNext
	stepPrev
	stepSeekGE
	stepSeekLT
)

type metaStep struct {
	kind metaStepKind
	key  string
}

// scanLimit bounds what a scan prints.
const scanLimit = 40

func (op *metaOp) String() string {
	switch op.kind {
	case mSet:
		return fmt.Sprintf("set %q %s", op.key, op.val)
	case mSetExpired:
		return fmt.Sprintf("set-expired %q %s", op.key, op.val)
	case mSetFuture:
		return fmt.Sprintf("set-ttl %q %s", op.key, op.val)
	case mDelete:
		return fmt.Sprintf("delete %q", op.key)
	case mBatch:
		parts := make([]string, len(op.sub))
		for i := range op.sub {
			parts[i] = op.sub[i].String()
		}
		return "batch [" + strings.Join(parts, "; ") + "]"
	case mParallel:
		parts := make([]string, len(op.sub))
		for i := range op.sub {
			parts[i] = op.sub[i].String()
		}
		return "parallel {" + strings.Join(parts, " | ") + "}"
	case mGet:
		return fmt.Sprintf("get %q", op.key)
	case mIter:
		return "iter " + op.iter.String()
	case mSnap:
		return fmt.Sprintf("snapshot #%d", op.slot)
	case mSnapGet:
		return fmt.Sprintf("snapshot #%d get %q", op.slot, op.key)
	case mSnapIter:
		return fmt.Sprintf("snapshot #%d iter %s", op.slot, op.iter)
	case mRelease:
		return fmt.Sprintf("release #%d", op.slot)
	case mFlush:
		return "flush"
	case mCompact:
		return "compact"
	case mGC:
		return fmt.Sprintf("value-log gc %.2f", op.ratio)
	case mReopen:
		return "reopen"
	case mCrash:
		return "crash"
	}
	return fmt.Sprintf("op(%d)", op.kind)
}

func (v metaVal) String() string { return fmt.Sprintf("<v%d len %d>", v.tag, v.size) }

func (it *metaIter) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%q, %q)", it.lower, it.upper)
	switch it.scan {
	case 1:
		b.WriteString(" scan")
	case -1:
		b.WriteString(" reverse scan")
	}
	for _, s := range it.steps {
		b.WriteString(" ")
		b.WriteString(s.String())
	}
	return b.String()
}

func (s metaStep) String() string {
	switch s.kind {
	case stepFirst:
		return "first"
	case stepLast:
		return "last"
	case stepNext:
		return "next"
	case stepPrev:
		return "prev"
	case stepSeekGE:
		return fmt.Sprintf("seek(%q)", s.key)
	case stepSeekLT:
		return fmt.Sprintf("seek-lt(%q)", s.key)
	}
	return "?"
}

// metaGen generates a log from a seed.
type metaGen struct {
	rng *rand.Rand
	n   int // operations generated so far (value tags)
}

// specialKeys sit at the edges of the ordering: prefixes of each other, a
// zero byte, a 0xff byte, a key that sorts before every generated one.
var specialKeys = []string{"a", "a\x00", "ab", "k", "k0", "k\xff", "\xff", "\xff\xff"}

func (g *metaGen) key() string {
	if g.rng.IntN(12) == 0 {
		return specialKeys[g.rng.IntN(len(specialKeys))]
	}
	// Skewed towards low numbers, so keys are overwritten often.
	n := g.rng.IntN(1 + g.rng.IntN(160))
	return fmt.Sprintf("k%03d", n)
}

func (g *metaGen) value() metaVal {
	g.n++
	size := 1 + g.rng.IntN(100)
	switch r := g.rng.IntN(20); {
	case r == 0:
		size = 2000 + g.rng.IntN(14000)
	case r < 6:
		size = 100 + g.rng.IntN(1900)
	}
	return metaVal{tag: g.n, size: max(size, len(fmt.Sprintf("v%d.", g.n)))}
}

func (g *metaGen) iter() *metaIter {
	it := &metaIter{}
	if g.rng.IntN(2) == 0 {
		it.lower = g.key()
	}
	if g.rng.IntN(2) == 0 {
		it.upper = g.key()
	}
	switch g.rng.IntN(4) {
	case 0:
		it.scan = 1
		return it
	case 1:
		it.scan = -1
		return it
	}
	for range 3 + g.rng.IntN(10) {
		s := metaStep{kind: metaStepKind(g.rng.IntN(6))}
		if s.kind == stepSeekGE || s.kind == stepSeekLT {
			s.key = g.key()
		}
		it.steps = append(it.steps, s)
	}
	return it
}

// parallel makes 2 to 6 batches with pairwise disjoint keys, so applying
// them concurrently has one outcome whatever the order.
func (g *metaGen) parallel() metaOp {
	op := metaOp{kind: mParallel}
	used := map[string]bool{}
	for range 2 + g.rng.IntN(5) {
		b := metaOp{kind: mBatch}
		for range 1 + g.rng.IntN(5) {
			k := g.key()
			if used[k] {
				continue
			}
			used[k] = true
			if g.rng.IntN(4) == 0 {
				b.sub = append(b.sub, metaOp{kind: mDelete, key: k})
			} else {
				b.sub = append(b.sub, metaOp{kind: mSet, key: k, val: g.value()})
			}
		}
		if len(b.sub) > 0 {
			op.sub = append(op.sub, b)
		}
	}
	return op
}

// genLog generates n operations from seed.
func genLog(seed uint64, n int) []metaOp {
	g := &metaGen{rng: rand.New(rand.NewPCG(seed, 0x6d657461))}
	ops := make([]metaOp, 0, n)
	for len(ops) < n {
		op := metaOp{}
		switch r := g.rng.IntN(1000); {
		case r < 300:
			op = metaOp{kind: mSet, key: g.key(), val: g.value()}
		case r < 380:
			op = metaOp{kind: mDelete, key: g.key()}
		case r < 480:
			op.kind = mBatch
			for range 1 + g.rng.IntN(12) {
				if g.rng.IntN(4) == 0 {
					op.sub = append(op.sub, metaOp{kind: mDelete, key: g.key()})
				} else {
					op.sub = append(op.sub, metaOp{kind: mSet, key: g.key(), val: g.value()})
				}
			}
		case r < 485:
			op = g.parallel()
		case r < 495:
			op = metaOp{kind: mSetExpired, key: g.key(), val: g.value()}
		case r < 510:
			op = metaOp{kind: mSetFuture, key: g.key(), val: g.value()}
		case r < 660:
			op = metaOp{kind: mGet, key: g.key()}
		case r < 760:
			op = metaOp{kind: mIter, iter: g.iter()}
		case r < 790:
			op = metaOp{kind: mSnap, slot: g.rng.IntN(metaSlots)}
		case r < 840:
			op = metaOp{kind: mSnapGet, slot: g.rng.IntN(metaSlots), key: g.key()}
		case r < 870:
			op = metaOp{kind: mSnapIter, slot: g.rng.IntN(metaSlots), iter: g.iter()}
		case r < 890:
			op = metaOp{kind: mRelease, slot: g.rng.IntN(metaSlots)}
		case r < 925:
			op.kind = mFlush
		case r < 945:
			op.kind = mCompact
		case r < 960:
			op = metaOp{kind: mGC, ratio: []float64{0.01, 0.2, 0.5, 0.9}[g.rng.IntN(4)]}
		case r < 980:
			op.kind = mReopen
		default:
			op.kind = mCrash
		}
		ops = append(ops, op)
	}
	return ops
}
