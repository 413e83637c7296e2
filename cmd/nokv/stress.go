package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nokv/nokv"
	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/registry"
	"github.com/nokv/nokv/vlog"
)

// The stress verb is a crash loop with real processes. The parent starts a
// child (this binary, re-executed with the hidden first argument
// stressChildArg) that writes random batches into DIR/store from several
// writers and, after the engine acknowledges a batch, appends its number to
// DIR/acks and fsyncs that file. The parent kills the child with SIGKILL at
// a random instant, reopens the store, checks that every acknowledged batch
// is there and that the batch each writer had in flight is there whole or
// not at all, closes the store, runs backend.Check, and starts the next
// cycle on the same store.
//
// The contents of a batch are a pure function of (seed, cycle, writer,
// sequence number), so the acks file only holds numbers and the parent
// regenerates what it must find. Each writer owns its keys (prefix
// "wNN/"), so writers race in the commit pipeline but each one's history is
// a plain sequence: acknowledged batches 0..k-1, and batch k in flight.
// Every value names the batch, the entry and the entry count, and a
// partly applied batch shows up as a mixture of old and new values.

// stressChildArg, as the first argument after the verb, runs the child.
// It is not listed in the usage text.
const stressChildArg = "--child"

const stressReadyLine = "nokv-stress-child-ready"

// stressConfig is what both processes need to agree on.
type stressConfig struct {
	dir        string // root: DIR/store and DIR/acks
	seed       uint64
	writers    int
	keys       int // keys per writer
	unsynced   int // percent of batches written without fsync
	components registry.Config
}

func (c *stressConfig) storeDir() string { return filepath.Join(c.dir, "store") }
func (c *stressConfig) ackPath() string  { return filepath.Join(c.dir, "acks") }

// childArgs renders c (and the cycle) as the child's flags.
func (c *stressConfig) childArgs(cycle int) []string {
	return []string{
		"--dir", c.dir, "--seed", fmt.Sprint(c.seed), "--cycle", fmt.Sprint(cycle),
		"--writers", fmt.Sprint(c.writers), "--keys", fmt.Sprint(c.keys), "--unsynced", fmt.Sprint(c.unsynced),
		"--memtable", c.components.Memtable, "--compaction", c.components.Compaction,
		"--value-store", c.components.ValueStore,
	}
}

// stressOptions are the engine options of both processes: small memtables,
// tables, log segments and manifest, so that flushes, compactions, log
// rotation and manifest rewrites all happen within a short cycle.
func stressOptions(c *stressConfig, logTo io.Writer) (*nokv.Options, error) {
	o := &nokv.Options{
		MemtableSize:        256 << 10,
		TargetTableSize:     64 << 10,
		LogSegmentSize:      128 << 10,
		MaxManifestFileSize: 8 << 10,
		BlockCacheSize:      8 << 20,
		Logger:              hclog.New(&hclog.LoggerOptions{Name: "nokv", Level: hclog.Warn, Output: logTo}),
	}
	if _, err := registry.Builtin().Resolve(c.components, o); err != nil {
		return nil, err
	}
	if c.components.ValueStore == "vlog" {
		// Small segments, so that value-log GC has sealed ones to collect.
		o.NewValueStore = vlog.NewWithOptions(vlog.Options{SegmentSize: 1 << 20})
	}
	return o, nil
}

// stressExec makes the command that runs a child with args; tests replace it
// (a test binary re-executes itself differently).
var stressExec = func(args []string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return exec.Command(exe, append([]string{"stress", stressChildArg}, args...)...), nil
}

// --- batches ---

type stressEntry struct {
	key  string
	del  bool
	size int // value size
}

type stressBatch struct {
	cycle, writer, seq int
	entries            []stressEntry
	sync               bool
}

// stressStream returns the random stream of one writer in one cycle.
func stressStream(seed uint64, cycle, writer int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(cycle)<<20|uint64(writer)))
}

// nextStressBatch draws writer's next batch: 1 to 16 entries (now and then
// a few hundred), about one in six a deletion, values mostly small, some
// above the value-separation threshold, a few of a few hundred KiB.
func nextStressBatch(rng *rand.Rand, c *stressConfig, cycle, writer, seq int) stressBatch {
	b := stressBatch{cycle: cycle, writer: writer, seq: seq, sync: rng.IntN(100) >= c.unsynced}
	n := 1 + rng.IntN(16)
	if rng.IntN(25) == 0 {
		n = 50 + rng.IntN(250)
	}
	seen := map[string]bool{}
	for range n {
		k := fmt.Sprintf("w%02d/k%05d", writer, rng.IntN(c.keys))
		if seen[k] {
			continue
		}
		seen[k] = true
		e := stressEntry{key: k}
		switch r := rng.IntN(100); {
		case r < 16:
			e.del = true
		case r < 20 && n < 50:
			e.size = 32<<10 + rng.IntN(224<<10)
		case r < 35:
			e.size = 1<<10 + rng.IntN(7<<10)
		default:
			e.size = 8 + rng.IntN(200)
		}
		b.entries = append(b.entries, e)
	}
	return b
}

// value returns the value of entry i of b: a header naming the batch, the
// entry and the entry count, then bytes derived from the header.
func (b *stressBatch) value(i int) []byte {
	e := b.entries[i]
	head := fmt.Sprintf("c%d/w%d/s%d/%d-of-%d|%s|", b.cycle, b.writer, b.seq, i, len(b.entries), e.key)
	size := max(e.size, len(head))
	v := make([]byte, size)
	copy(v, head)
	h := fnv.New64a()
	h.Write([]byte(head))
	x := h.Sum64() | 1
	for j := len(head); j < size; j++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		v[j] = byte(x)
	}
	return v
}

// --- the child ---

// ackRecord is one line of the acks file: writer, sequence, checksum.
const ackRecordLen = 12

func encodeAck(writer, seq int) []byte {
	var r [ackRecordLen]byte
	binary.LittleEndian.PutUint32(r[0:], uint32(writer))
	binary.LittleEndian.PutUint32(r[4:], uint32(seq))
	binary.LittleEndian.PutUint32(r[8:], crc32.ChecksumIEEE(r[:8]))
	return r[:]
}

// readAcks returns, per writer, the sequence numbers the acks file holds,
// in file order. A torn last record is ignored (its batch then counts as
// in flight); any other damage is an error.
func readAcks(path string, writers int) ([][]int, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	acks := make([][]int, writers)
	for off := 0; off+ackRecordLen <= len(data); off += ackRecordLen {
		r := data[off : off+ackRecordLen]
		if crc32.ChecksumIEEE(r[:8]) != binary.LittleEndian.Uint32(r[8:]) {
			if off+ackRecordLen == len(data) {
				break
			}
			return nil, fmt.Errorf("%s: damaged record at offset %d", path, off)
		}
		w, seq := int(binary.LittleEndian.Uint32(r)), int(binary.LittleEndian.Uint32(r[4:]))
		if w >= writers {
			return nil, fmt.Errorf("%s: record at offset %d names writer %d of %d", path, off, w, writers)
		}
		acks[w] = append(acks[w], seq)
	}
	return acks, nil
}

func stressChild(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stress-child", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c stressConfig
	var cycle int
	fs.StringVar(&c.dir, "dir", "", "")
	fs.Uint64Var(&c.seed, "seed", 1, "")
	fs.IntVar(&cycle, "cycle", 0, "")
	fs.IntVar(&c.writers, "writers", 2, "")
	fs.IntVar(&c.keys, "keys", 1000, "")
	fs.IntVar(&c.unsynced, "unsynced", 0, "")
	fs.StringVar(&c.components.Memtable, "memtable", "", "")
	fs.StringVar(&c.components.Compaction, "compaction", "", "")
	fs.StringVar(&c.components.ValueStore, "value-store", "", "")
	if err := fs.Parse(args); err != nil || c.dir == "" || c.writers < 1 || c.keys < 1 {
		fmt.Fprintf(stderr, "nokv stress child: bad arguments %q\n", args)
		return exitUsage
	}
	o, err := stressOptions(&c, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "nokv stress child: %v\n", err)
		return exitUsage
	}
	db, err := nokv.Open(c.storeDir(), o)
	if err != nil {
		fmt.Fprintf(stderr, "nokv stress child: open: %v\n", err)
		return exitFail
	}
	acks, err := os.OpenFile(c.ackPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintf(stderr, "nokv stress child: %v\n", err)
		return exitFail
	}
	fmt.Fprintln(stdout, stressReadyLine)

	errc := make(chan error, c.writers+1)
	var ackMu sync.Mutex
	for w := range c.writers {
		go func() {
			rng := stressStream(c.seed, cycle, w)
			for seq := 0; ; seq++ {
				b := nextStressBatch(rng, &c, cycle, w, seq)
				nb := nokv.NewBatch()
				for i, e := range b.entries {
					if e.del {
						nb.Delete([]byte(e.key))
					} else {
						nb.Set([]byte(e.key), b.value(i))
					}
				}
				if err := db.Apply(nb, &nokv.WriteOptions{Sync: b.sync}); err != nil {
					errc <- fmt.Errorf("writer %d batch %d: %w", w, seq, err)
					return
				}
				ackMu.Lock()
				_, err := acks.Write(encodeAck(w, seq))
				if err == nil {
					err = acks.Sync()
				}
				ackMu.Unlock()
				if err != nil {
					errc <- fmt.Errorf("acks file: %w", err)
					return
				}
			}
		}()
	}
	// Explicit flushes, compactions and value-log GC cycles now and then,
	// besides the background ones, so kills also land in the middle of
	// those.
	go func() {
		rng := rand.New(rand.NewPCG(c.seed, uint64(cycle)<<20|0xfffff))
		for {
			time.Sleep(time.Duration(20+rng.IntN(200)) * time.Millisecond)
			var err error
			switch rng.IntN(4) {
			case 0:
				err = db.Compact()
			case 1:
				if _, err = db.RunValueLogGC(0.2); errors.Is(err, nokv.ErrInvalidArgument) {
					err = nil // no value log
				}
			default:
				err = db.Flush()
			}
			if err != nil {
				errc <- fmt.Errorf("flush, compaction or value-log GC: %w", err)
				return
			}
		}
	}()
	err = <-errc
	fmt.Fprintf(stderr, "nokv stress child: %v\n", err)
	return exitFail
}

// --- the parent ---

// stressModel is what the parent knows the store must hold: per key, the
// batch and entry that wrote its newest value.
type stressModel map[string]stressVal

type stressVal struct {
	batch *stressBatch
	entry int
}

func (m stressModel) apply(b *stressBatch) {
	for i, e := range b.entries {
		if e.del {
			delete(m, e.key)
		} else {
			m[e.key] = stressVal{b, i}
		}
	}
}

// stressStats are the figures a run reports.
type stressStats struct {
	cycles         int
	acked          int // acknowledged batches verified
	inflightFound  int // in-flight batches found whole
	inflightAbsent int // in-flight batches not found
	earlyKills     int // kills before the child had opened the store
	keysChecked    int
}

func runStress(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == stressChildArg {
		return stressChild(args[1:], stdout, stderr)
	}
	c := newCommand("stress", "[--dir DIR] [--cycles N] [--duration D] [--seed S] [flags]",
		"Crash loop with real processes. A child process writes random batches (small and\n"+
			"large values, overwrites, deletions; synced unless --unsynced says otherwise) from\n"+
			"several writers and records every batch the engine acknowledged in a side file.\n"+
			"The parent kills it with SIGKILL at a random instant (now and then while it is\n"+
			"still opening the store), reopens the store, checks that every acknowledged batch\n"+
			"is there and each writer's batch in flight is there whole or not at all, and runs\n"+
			"the checks of 'nokv check'. Then the next cycle starts on the same store.\n"+
			"Exit status 1 means a write was lost or damaged, or the store failed a check;\n"+
			"the directory is then kept for inspection.",
		stdout, stderr)
	dir := c.fs.String("dir", "", "work `directory`, which must not hold a store yet (default: a temporary one, removed after success)")
	cycles := c.fs.Int("cycles", 10, "kill-and-verify cycles to run (0: until --duration is over)")
	duration := c.fs.Duration("duration", 0, "stop starting cycles after this long (0: no limit)")
	seed := c.fs.Uint64("seed", 1, "seed of the batches and of the kill instants")
	writers := c.fs.Int("writers", 2, "concurrent writers in the child")
	keys := c.fs.Int("keys", 1000, "keys per writer")
	unsynced := c.fs.Int("unsynced", 0, "`percent` of batches written without fsync (a kill -9 must not lose them either)")
	killAfter := c.fs.Duration("kill-after", 500*time.Millisecond, "longest time the child runs before it is killed")
	verbose := c.fs.Bool("v", false, "print one line per cycle")
	reg := registry.Builtin()
	memtable := c.fs.String("memtable", "", "memtable `name`: one of "+strings.Join(reg.Names(registry.KindMemtable), ", "))
	compaction := c.fs.String("compaction", "", "compaction policy `name`: one of "+strings.Join(reg.Names(registry.KindCompaction), ", "))
	valueStore := c.fs.String("value-store", "", "value store `name`: one of "+strings.Join(reg.Names(registry.KindValueStore), ", "))
	if code, ok := c.parse(args, 0, 0); !ok {
		return code
	}
	switch {
	case *cycles < 0:
		return c.fail("--cycles must not be negative")
	case *cycles == 0 && *duration <= 0:
		return c.fail("--cycles 0 needs a --duration")
	case *writers < 1 || *writers > 64:
		return c.fail("--writers must be in [1, 64]")
	case *keys < 1:
		return c.fail("--keys must be at least 1")
	case *unsynced < 0 || *unsynced > 100:
		return c.fail("--unsynced is a percentage")
	case *killAfter < time.Millisecond:
		return c.fail("--kill-after must be at least 1ms")
	}
	cfg := stressConfig{dir: *dir, seed: *seed, writers: *writers, keys: *keys, unsynced: *unsynced,
		components: registry.Config{Memtable: *memtable, Compaction: *compaction, ValueStore: *valueStore}}
	comps, err := reg.Resolve(cfg.components, &backend.Options{})
	if err != nil {
		return c.fail("%v", err)
	}
	cfg.components = comps
	temporary := cfg.dir == ""
	if temporary {
		d, err := os.MkdirTemp("", "nokv-stress-")
		if err != nil {
			return c.errorf("%v", err)
		}
		cfg.dir = d
	} else if _, err := os.Stat(cfg.storeDir()); err == nil {
		return c.errorf("%s already exists; stress needs a directory without a store", cfg.storeDir())
	} else if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		return c.errorf("%v", err)
	}
	fmt.Fprintf(stdout, "nokv stress: %s, seed %d, %d writers, %d%% unsynced, dir %s\n",
		cfg.components, cfg.seed, cfg.writers, cfg.unsynced, cfg.dir)

	s := &stresser{c: c, cfg: &cfg, model: stressModel{}, killAfter: *killAfter, verbose: *verbose,
		pick: rand.New(rand.NewPCG(cfg.seed, 0x6b696c6c))}
	start := time.Now()
	for cycle := 0; *cycles == 0 || cycle < *cycles; cycle++ {
		if *duration > 0 && time.Since(start) >= *duration {
			break
		}
		if err := s.cycle(cycle); err != nil {
			return c.errorf("FAIL after %d cycles (seed %d): %v\nthe store is kept in %s", s.stats.cycles, cfg.seed, err, cfg.dir)
		}
	}
	st := s.stats
	fmt.Fprintf(stdout, "ok: %d cycles in %v, %d acknowledged batches verified, in-flight batches found whole %d, absent %d, "+
		"%d kills during open, %d keys checked, 0 lost or corrupted writes\n",
		st.cycles, time.Since(start).Round(time.Millisecond), st.acked, st.inflightFound, st.inflightAbsent, st.earlyKills, st.keysChecked)
	if temporary {
		os.RemoveAll(cfg.dir)
	}
	return exitOK
}

// stresser runs the cycles of one stress run.
type stresser struct {
	c         *command
	cfg       *stressConfig
	model     stressModel
	killAfter time.Duration
	verbose   bool
	pick      *rand.Rand // kill instants
	stats     stressStats
}

// cycle runs one child, kills it and verifies the store.
func (s *stresser) cycle(cycle int) error {
	cfg := s.cfg
	if err := os.Remove(cfg.ackPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	cmd, err := stressExec(cfg.childArgs(cycle))
	if err != nil {
		return err
	}
	var childErr bytes.Buffer
	cmd.Stderr = &childErr
	ready := &lineWatcher{line: []byte(stressReadyLine + "\n"), seen: make(chan struct{})}
	cmd.Stdout = ready
	// One cycle in six kills the child at once, while it replays the log
	// and flushes what it recovered.
	early := s.pick.IntN(6) == 0
	wait := time.Duration(1 + s.pick.Int64N(int64(s.killAfter)))
	if early {
		wait = time.Duration(s.pick.Int64N(int64(50 * time.Millisecond)))
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start child: %w", err)
	}
	done := make(chan struct{})
	var werr error
	go func() {
		werr = cmd.Wait()
		close(done)
	}()
	exitedEarly := func() error {
		return fmt.Errorf("cycle %d: the child exited by itself (%v); its stderr:\n%s", cycle, werr, childErr.String())
	}
	if !early {
		select {
		case <-ready.seen:
		case <-done:
			return exitedEarly()
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("cycle %d: the child did not open the store within a minute; its stderr:\n%s", cycle, childErr.String())
		}
	}
	select {
	case <-time.After(wait):
	case <-done:
		return exitedEarly()
	}
	_ = cmd.Process.Kill() // SIGKILL
	<-done
	if !killed(werr) {
		return exitedEarly()
	}
	ranFor := time.Since(began)
	if early {
		s.stats.earlyKills++
	}
	acks, err := readAcks(cfg.ackPath(), cfg.writers)
	if err != nil {
		return fmt.Errorf("cycle %d: %w", cycle, err)
	}
	found, absent, n, err := s.verify(cycle, acks)
	if err != nil {
		return fmt.Errorf("cycle %d (child ran %v): %w\nthe child's stderr:\n%s", cycle, ranFor.Round(time.Millisecond), err, childErr.String())
	}
	s.stats.cycles++
	s.stats.inflightFound += found
	s.stats.inflightAbsent += absent
	if s.verbose {
		fmt.Fprintf(s.c.stdout, "cycle %d: killed after %v, %d batches acknowledged, in flight %d whole and %d absent\n",
			cycle, ranFor.Round(time.Millisecond), n, found, absent)
	}
	return nil
}

// lineWatcher is the child's stdout: it closes seen once line has been
// written.
type lineWatcher struct {
	line []byte
	seen chan struct{}
	mu   sync.Mutex
	buf  []byte
	done bool
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.buf = append(w.buf, p...)
		if bytes.Contains(w.buf, w.line) {
			w.done, w.buf = true, nil
			close(w.seen)
		} else if len(w.buf) > 4096 {
			w.buf = append(w.buf[:0], w.buf[len(w.buf)-len(w.line):]...)
		}
	}
	return len(p), nil
}

// killed reports whether err is the exit of a process killed by a signal.
func killed(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && !ee.Exited()
}

// verify reopens the store and checks it against the model plus this
// cycle's acknowledged batches, decides each writer's in-flight batch,
// closes the store and checks it. It returns how many in-flight batches
// were found and absent, and how many batches this cycle acknowledged.
func (s *stresser) verify(cycle int, acks [][]int) (found, absent, ackedNow int, err error) {
	cfg := s.cfg
	o, err := stressOptions(cfg, s.c.stderr)
	if err != nil {
		return 0, 0, 0, err
	}
	db, err := nokv.Open(cfg.storeDir(), o)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("reopen after the kill: %w", err)
	}
	got, err := scanStore(db)
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	if err != nil {
		return 0, 0, 0, err
	}
	for w := range cfg.writers {
		rng := stressStream(cfg.seed, cycle, w)
		for i, seq := range acks[w] {
			if seq != i {
				return 0, 0, 0, fmt.Errorf("writer %d: acks file lists batch %d at position %d", w, seq, i)
			}
			b := nextStressBatch(rng, cfg, cycle, w, seq)
			s.model.apply(&b)
		}
		ackedNow += len(acks[w])
		inflight := nextStressBatch(rng, cfg, cycle, w, len(acks[w]))
		prefix := fmt.Sprintf("w%02d/", w)
		without := compareWriter(got, s.model, prefix)
		if without == "" {
			absent++
			continue
		}
		with := stressModel{}
		for k, v := range s.model {
			with[k] = v
		}
		with.apply(&inflight)
		if compareWriter(got, with, prefix) == "" {
			s.model.apply(&inflight)
			found++
			continue
		}
		return 0, 0, 0, fmt.Errorf("writer %d: the store holds neither its %d acknowledged batches of this cycle "+
			"nor those plus batch %d whole (%d entries): %s", w, len(acks[w]), inflight.seq, len(inflight.entries), without)
	}
	for k := range got {
		if !strings.HasPrefix(k, "w") || len(k) < 4 || k[3] != '/' {
			return 0, 0, 0, fmt.Errorf("the store holds a key no writer writes: %q", k)
		}
	}
	if problems := backend.Check(cfg.storeDir(), o); len(problems) > 0 {
		return 0, 0, 0, fmt.Errorf("check: %w", errors.Join(problems...))
	}
	s.stats.acked += ackedNow
	s.stats.keysChecked += len(got)
	return found, absent, ackedNow, nil
}

// scanStore reads every key and value of db.
func scanStore(db *nokv.DB) (map[string][]byte, error) {
	it, err := db.NewIterator(nil)
	if err != nil {
		return nil, err
	}
	got := map[string][]byte{}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.Value()
		if err != nil {
			it.Close()
			return nil, err
		}
		got[string(it.Key())] = append([]byte(nil), v...)
	}
	return got, it.Close()
}

// compareWriter compares the keys with prefix in got with the model and
// describes the first few differences ("" if none).
func compareWriter(got map[string][]byte, m stressModel, prefix string) string {
	var diffs []string
	note := func(format string, args ...any) {
		if len(diffs) < 5 {
			diffs = append(diffs, fmt.Sprintf(format, args...))
		}
	}
	for k, v := range m {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		g, ok := got[k]
		want := v.batch.value(v.entry)
		switch {
		case !ok:
			note("%s missing (want %s)", k, valueHead(want))
		case !bytes.Equal(g, want):
			note("%s = %s, want %s", k, valueHead(g), valueHead(want))
		}
	}
	for k, g := range got {
		if _, ok := m[k]; !ok && strings.HasPrefix(k, prefix) {
			note("%s = %s, want absent", k, valueHead(g))
		}
	}
	return strings.Join(diffs, "; ")
}

// valueHead shows the header of a stress value (which names its batch).
func valueHead(v []byte) string {
	if i := bytes.IndexByte(v, '|'); i >= 0 && i < 64 {
		return fmt.Sprintf("%q (%d bytes)", v[:i], len(v))
	}
	if len(v) > 24 {
		v = v[:24]
	}
	return fmt.Sprintf("%q...", v)
}
