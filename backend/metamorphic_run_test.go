package backend_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// A metaRunner interprets the operations of a log, one output line each, and
// ends with the lines of a final full scan and of closing the store.
type metaRunner interface {
	do(op *metaOp) string
	finish() []string
}

// runMetaLog interprets ops with r and returns every output line. A panic
// becomes an output line, so a log that crashes the engine can be shrunk too.
func runMetaLog(r metaRunner, ops []metaOp) (out []string) {
	out = make([]string, 0, len(ops)+200)
	broken := false
	for i := range ops {
		if broken {
			out = append(out, "(engine panicked earlier)")
			continue
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					out = append(out, fmt.Sprintf("panic: %v", p))
					broken = true
				}
			}()
			out = append(out, r.do(&ops[i]))
		}()
	}
	if broken {
		return out
	}
	defer func() {
		if p := recover(); p != nil {
			out = append(out, fmt.Sprintf("panic at the end: %v", p))
		}
	}()
	return append(out, r.finish()...)
}

// view is what an iterator program and a point read need from a store, a
// snapshot or the model.
type view interface {
	NewIterator(*backend.IterOptions) (*backend.Iterator, error)
	Get([]byte) ([]byte, error)
}

// --- the engine ---

// metaEngine runs a log on a backend.DB over a MemFS. Every write is synced,
// so a simulated crash loses nothing and the outputs are deterministic.
type metaEngine struct {
	fs    *vfs.MemFS
	opts  backend.Options
	db    *backend.DB
	snaps [metaSlots]*backend.Snapshot
	wo    *backend.WriteOptions
}

const metaDir = "/db"

func newMetaEngine(opts backend.Options) *metaEngine {
	e := &metaEngine{fs: vfs.NewMem(), opts: opts, wo: &backend.WriteOptions{Sync: true}}
	e.open()
	return e
}

func (e *metaEngine) open() string {
	e.opts.FS = e.fs
	db, err := backend.Open(metaDir, &e.opts)
	if err != nil {
		e.db = nil
		return "open: " + err.Error()
	}
	e.db = db
	return ""
}

func (e *metaEngine) releaseAll() {
	for i, s := range e.snaps {
		if s != nil {
			s.Release()
			e.snaps[i] = nil
		}
	}
}

func (e *metaEngine) do(op *metaOp) string {
	if e.db == nil {
		return "no store (open failed)"
	}
	db := e.db
	switch op.kind {
	case mSet, mSetExpired, mSetFuture, mDelete, mBatch:
		b := backend.NewBatch()
		addToBatch(b, op)
		return errLine(db.Apply(b, e.wo))
	case mParallel:
		errs := make([]error, len(op.sub))
		var wg sync.WaitGroup
		for i := range op.sub {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := backend.NewBatch()
				addToBatch(b, &op.sub[i])
				errs[i] = db.Apply(b, e.wo)
			}()
		}
		wg.Wait()
		return errLine(errors.Join(errs...))
	case mGet:
		return getLine(db, op.key)
	case mIter:
		return runIter(db, op.iter)
	case mSnap:
		if e.snaps[op.slot] != nil {
			e.snaps[op.slot].Release()
		}
		e.snaps[op.slot] = db.NewSnapshot()
		return ""
	case mSnapGet:
		if e.snaps[op.slot] == nil {
			return "no snapshot"
		}
		return getLine(e.snaps[op.slot], op.key)
	case mSnapIter:
		if e.snaps[op.slot] == nil {
			return "no snapshot"
		}
		return runIter(e.snaps[op.slot], op.iter)
	case mRelease:
		if e.snaps[op.slot] != nil {
			e.snaps[op.slot].Release()
			e.snaps[op.slot] = nil
		}
		return ""
	case mFlush:
		return errLine(db.Flush())
	case mCompact:
		return errLine(db.Compact())
	case mGC:
		if _, err := db.RunValueLogGC(op.ratio); err != nil && !errors.Is(err, iface.ErrInvalidArgument) {
			return errLine(err)
		}
		return ""
	case mReopen:
		e.releaseAll()
		if err := db.Close(); err != nil {
			e.db = nil
			return "close: " + err.Error()
		}
		return e.open()
	case mCrash:
		e.releaseAll()
		crashed := e.fs
		e.fs = crashed.Crash()
		_ = db.Close() // stops the background work; every file operation fails now
		return e.open()
	}
	return fmt.Sprintf("unknown op %d", op.kind)
}

func addToBatch(b *backend.Batch, op *metaOp) {
	switch op.kind {
	case mSet:
		b.Set([]byte(op.key), op.val.bytes())
	case mSetExpired:
		b.SetWithExpiry([]byte(op.key), op.val.bytes(), 1)
	case mSetFuture:
		b.SetWithExpiry([]byte(op.key), op.val.bytes(), farFuture)
	case mDelete:
		b.Delete([]byte(op.key))
	case mBatch:
		for i := range op.sub {
			addToBatch(b, &op.sub[i])
		}
	}
}

func errLine(err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return ""
}

func getLine(v view, key string) string {
	val, err := v.Get([]byte(key))
	switch {
	case errors.Is(err, iface.ErrNotFound):
		return "not found"
	case err != nil:
		return "error: " + err.Error()
	}
	return digest(val)
}

// runIter runs an iterator program and prints where each step lands.
func runIter(v view, spec *metaIter) string {
	o := &backend.IterOptions{}
	if spec.lower != "" {
		o.LowerBound = []byte(spec.lower)
	}
	if spec.upper != "" {
		o.UpperBound = []byte(spec.upper)
	}
	it, err := v.NewIterator(o)
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	at := func(ok bool) {
		if !ok {
			b.WriteString(" -")
			return
		}
		val, err := it.Value()
		if err != nil {
			fmt.Fprintf(&b, " %q=error(%v)", it.Key(), err)
			return
		}
		fmt.Fprintf(&b, " %q=%s", it.Key(), digest(val))
	}
	if spec.scan != 0 {
		ok, step := it.First(), it.Next
		if spec.scan < 0 {
			ok, step = it.Last(), it.Prev
		}
		for n := 0; ok && n < scanLimit; n++ {
			at(true)
			ok = step()
		}
	}
	for _, s := range spec.steps {
		switch s.kind {
		case stepFirst:
			at(it.First())
		case stepLast:
			at(it.Last())
		case stepNext:
			at(it.Next())
		case stepPrev:
			at(it.Prev())
		case stepSeekGE:
			at(it.Seek([]byte(s.key)))
		case stepSeekLT:
			at(it.SeekLT([]byte(s.key)))
		}
	}
	if err := it.Close(); err != nil {
		fmt.Fprintf(&b, " error: %v", err)
	}
	return b.String()
}

func (e *metaEngine) finish() []string {
	if e.db == nil {
		return []string{"no store (open failed)"}
	}
	out := fullScan(e.db)
	e.releaseAll()
	if err := e.db.Close(); err != nil {
		out = append(out, "close: "+err.Error())
	}
	e.db = nil
	e.opts.FS = e.fs
	problems := backend.Check(metaDir, &e.opts)
	for _, p := range problems {
		out = append(out, "check: "+p.Error())
	}
	if len(problems) == 0 {
		out = append(out, "check: ok")
	}
	return out
}

// fullScan prints every key and value, one line each.
func fullScan(v view) []string {
	it, err := v.NewIterator(nil)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	var out []string
	for ok := it.First(); ok; ok = it.Next() {
		val, err := it.Value()
		if err != nil {
			out = append(out, fmt.Sprintf("final %q=error(%v)", it.Key(), err))
			continue
		}
		out = append(out, fmt.Sprintf("final %q=%s", it.Key(), digest(val)))
	}
	if err := it.Close(); err != nil {
		out = append(out, "final scan error: "+err.Error())
	}
	return out
}

// --- the model ---

// metaModel is the reference: a map, and copies of it for snapshots.
type metaModel struct {
	live  map[string]string
	snaps [metaSlots]map[string]string
}

func newMetaModel() *metaModel { return &metaModel{live: map[string]string{}} }

func (m *metaModel) apply(op *metaOp) {
	switch op.kind {
	case mSet, mSetFuture:
		m.live[op.key] = string(op.val.bytes())
	case mSetExpired, mDelete:
		delete(m.live, op.key)
	case mBatch, mParallel:
		for i := range op.sub {
			m.apply(&op.sub[i])
		}
	}
}

func (m *metaModel) do(op *metaOp) string {
	switch op.kind {
	case mSet, mSetExpired, mSetFuture, mDelete, mBatch, mParallel:
		m.apply(op)
		return ""
	case mGet:
		return modelGet(m.live, op.key)
	case mIter:
		return modelIter(m.live, op.iter)
	case mSnap:
		cp := make(map[string]string, len(m.live))
		for k, v := range m.live {
			cp[k] = v
		}
		m.snaps[op.slot] = cp
		return ""
	case mSnapGet:
		if m.snaps[op.slot] == nil {
			return "no snapshot"
		}
		return modelGet(m.snaps[op.slot], op.key)
	case mSnapIter:
		if m.snaps[op.slot] == nil {
			return "no snapshot"
		}
		return modelIter(m.snaps[op.slot], op.iter)
	case mRelease:
		m.snaps[op.slot] = nil
		return ""
	case mFlush, mCompact, mGC:
		return ""
	case mReopen, mCrash:
		m.snaps = [metaSlots]map[string]string{}
		return ""
	}
	return fmt.Sprintf("unknown op %d", op.kind)
}

func modelGet(m map[string]string, key string) string {
	v, ok := m[key]
	if !ok {
		return "not found"
	}
	return digest([]byte(v))
}

// modelIter runs an iterator program over the sorted keys within bounds,
// with the backend.Iterator contract: Next and Prev on an iterator that is
// not at a key stay there.
func modelIter(m map[string]string, spec *metaIter) string {
	var keys []string
	for k := range m {
		if (spec.lower == "" || k >= spec.lower) && (spec.upper == "" || k < spec.upper) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	pos := -1
	at := func(p int) {
		if p < 0 || p >= len(keys) {
			pos = -1
			b.WriteString(" -")
			return
		}
		pos = p
		fmt.Fprintf(&b, " %q=%s", keys[p], digest([]byte(m[keys[p]])))
	}
	switch spec.scan {
	case 1:
		for i := 0; i < len(keys) && i < scanLimit; i++ {
			at(i)
		}
	case -1:
		for i := len(keys) - 1; i >= 0 && len(keys)-1-i < scanLimit; i-- {
			at(i)
		}
	}
	for _, s := range spec.steps {
		switch s.kind {
		case stepFirst:
			at(0)
		case stepLast:
			at(len(keys) - 1)
		case stepNext:
			if pos < 0 {
				at(-1)
			} else {
				at(pos + 1)
			}
		case stepPrev:
			if pos < 0 {
				at(-1)
			} else {
				at(pos - 1)
			}
		case stepSeekGE:
			at(sort.SearchStrings(keys, s.key))
		case stepSeekLT:
			at(sort.SearchStrings(keys, s.key) - 1)
		}
	}
	return b.String()
}

func (m *metaModel) finish() []string {
	keys := make([]string, 0, len(m.live))
	for k := range m.live {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		out = append(out, fmt.Sprintf("final %q=%s", k, digest([]byte(m.live[k]))))
	}
	return append(out, "check: ok")
}
