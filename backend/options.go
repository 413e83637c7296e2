package backend

import (
	"fmt"
	"runtime"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/memtable/segmented"
	"github.com/nokv/nokv/vfs"
)

// Options configures a DB. The zero value is usable: EnsureDefaults fills in
// every unset field with NoKV's defaults. Components are passed as factories
// and values (the engine never looks names up; the registry package turns
// names into these fields).
type Options struct {
	// FS is the file system; default vfs.Default.
	FS vfs.FS

	// NewMemtable makes memtables; default the arena skiplist.
	NewMemtable iface.NewMemtable
	// MemtableSize is the size at which the active memtable is rotated;
	// default 64 MiB. It counts what the memtable holds: for a value the
	// value store separated, the pointer, not the value.
	MemtableSize int64
	// MemtableSegmentSize builds each memtable of at least twice this size
	// out of segments of this size, filled one after the other and flushed
	// together (memtable/segmented): an insert searches only the newest,
	// small segment, which the CPU caches hold far better than a whole
	// memtable, and a point read skips the segments whose Bloom filter
	// rules its key out; a seek positions an iterator in every segment.
	// Default 8 MiB (segmented.DefaultSegmentSize: fills of random keys
	// about 45% faster than unsegmented; a seek into a full memtable, when
	// the memtable holds all a scan reads, up to 3.5x slower; 16 MiB halves
	// both effects); negative disables, for workloads that scan mostly
	// recent data.
	MemtableSegmentSize int64
	// MaxImmutableMemtables is how many rotated memtables may wait for flush
	// before writes stall; default 2.
	MaxImmutableMemtables int

	// NewLog opens the write-ahead log; default wal.New.
	NewLog iface.NewLog
	// LogSegmentSize is the WAL segment size; default 64 MiB.
	LogSegmentSize int64

	// TableFormat builds and reads tables; default sstable with a block cache
	// of BlockCacheSize bytes, which the DB creates at Open and closes at
	// Close (the field stays nil in the options the caller passed).
	TableFormat iface.TableFormat
	// BlockCacheSize is the size of the default table format's block cache;
	// default 256 MiB. Ignored when TableFormat is set.
	BlockCacheSize int64
	// TargetTableSize is the size at which compaction cuts output tables;
	// default 8 MiB.
	TargetTableSize int64

	// NewValueStore opens the value store; default: the one the store's
	// manifest records (inline or vlog), else the value log (values of at
	// least ValueThreshold bytes are separated; smaller ones stay inline).
	NewValueStore iface.NewValueStore
	// ValueThreshold is the value size from which the value store may
	// separate values; default 1 KiB.
	ValueThreshold int
	// ValueCacheSize bounds the bytes of recently read values the value
	// store keeps in memory (vlog: its read cache); 0 means the store's
	// default (32 MiB for vlog), negative means no cache.
	ValueCacheSize int64

	// ValueLogGCInterval is how often background value-log GC looks for a
	// segment to collect; default 1 minute, negative disables it (GC then
	// runs only through DB.RunValueLogGC). Ignored for inline values.
	ValueLogGCInterval time.Duration
	// ValueLogGCRatio is the share of garbage from which a segment is
	// collected in the background; default 0.5.
	ValueLogGCRatio float64
	// ValueLogGCRate caps the bytes per second background GC rewrites;
	// default 64 MiB/s.
	ValueLogGCRate int64

	// CompactionPolicy picks compactions; default leveled.
	CompactionPolicy iface.CompactionPolicy
	// MaxConcurrentCompactions is how many compactions run at once in the
	// background; compaction.State keeps them from sharing a table or
	// writing overlapping ranges into one output. Default 2, or a quarter
	// of GOMAXPROCS on machines with more than 8 (at most 8); 1 runs them
	// one at a time.
	MaxConcurrentCompactions int
	// MaxSubcompactions is how many parallel parts one large merge is
	// split into, by key range (each part at least two TargetTableSize of
	// input); its outputs are still installed with one manifest edit.
	// Default 2, or half of GOMAXPROCS on machines with more than 4 (at most
	// 8); 1 disables the split.
	MaxSubcompactions int
	// L0StopWritesThreshold stalls writes while L0 holds this many tables;
	// default 24. Sorted runs of ingest buffers count at IngestTableDebt
	// each.
	L0StopWritesThreshold int
	// L0SlowdownWritesThreshold is the L0 table count from which writes
	// are delayed, more the closer L0 gets to L0StopWritesThreshold (see
	// DelayedWriteRate); default L0StopWritesThreshold/2, negative
	// disables. It must be below L0StopWritesThreshold.
	L0SlowdownWritesThreshold int
	// IngestTableDebt is what a sorted run of an ingest buffer (the tables
	// of one Seq: a moved L0 table, or one merge's non-overlapping outputs)
	// counts for, in L0 tables, against the two thresholds above; default
	// 0.25, negative means 0. Runs, not tables: a point read consults at
	// most one table of a run, and a merge that splits its output at the
	// target table size must not add debt.
	IngestTableDebt float64
	// SoftPendingCompactionBytes is the compaction debt (the policy's
	// estimate of the bytes compactions still have to rewrite, for policies
	// that implement iface.CompactionDebt) from which writes are delayed;
	// default 64 GiB, negative disables.
	SoftPendingCompactionBytes int64
	// HardPendingCompactionBytes is the compaction debt at which writes
	// stall until compactions pay it down; default 256 GiB, negative
	// disables. It must not be below SoftPendingCompactionBytes.
	HardPendingCompactionBytes int64
	// DelayedWriteRate is the rate, in bytes per second of batches, writes
	// are let through at once the debt reaches a soft limit. It falls in
	// proportion to how far the debt has gone from the soft limit towards
	// the hard one, to 1/64 of it just below the hard limit; default 16
	// MiB/s. Throttling, like the stalls, is off with DisableBackgroundWork.
	DelayedWriteRate int64

	// MaxManifestFileSize is the size past which the manifest is rewritten
	// as one snapshot; default 1 MiB.
	MaxManifestFileSize int64

	// WriteBatchMaxCount caps how many batches one commit group takes;
	// default 512.
	WriteBatchMaxCount int
	// WriteBatchMaxSize caps the bytes of one commit group (a single larger
	// batch still goes alone); default 4 MiB or a quarter of MemtableSize,
	// whichever is smaller.
	WriteBatchMaxSize int64

	// WriteBatchWait is how long a commit leader about to fsync may wait
	// for writers still finishing the previous group to join its group;
	// default 100µs, negative disables.
	WriteBatchWait time.Duration

	// HotKeyTopN is how many of the most written and read keys Stats
	// reports; default 16.
	HotKeyTopN int
	// HotKeyWindow is the decay period of key access counts: a count is
	// halved every window; default 10s.
	HotKeyWindow time.Duration
	// HotKeyGroupThreshold is the decayed count at which a key is hot
	// enough to widen commit groups: when more writers queue than one
	// group takes and one of them writes such a key, the leader takes up
	// to 4× WriteBatchMaxCount batches and 4× WriteBatchMaxSize bytes.
	// Default 1024 (about 100 accesses a second with the default window);
	// math.MaxUint32 turns widening off.
	HotKeyGroupThreshold uint32
	// WriteHotKeyLimit, when positive, refuses (with iface.ErrHotKey) a
	// batch writing a key whose decayed write-and-read count exceeds it.
	// Off by default.
	WriteHotKeyLimit uint32

	// SyncWrites makes every write durable before it returns, as if each
	// write asked for Sync; default false.
	SyncWrites bool

	// DisableBackgroundWork stops automatic flushes and compactions (tests
	// drive them with Flush and Compact). Rotated memtables still stall
	// writes when MaxImmutableMemtables is reached, so tests that disable
	// background work must flush themselves.
	DisableBackgroundWork bool

	// Logger receives the engine's log lines; default a logger that is
	// silent below Warn.
	Logger hclog.Logger
}

// EnsureDefaults fills unset fields with defaults and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.NewMemtable == nil {
		o.NewMemtable = defaultMemtable
	}
	if o.MemtableSize <= 0 {
		o.MemtableSize = 64 << 20
	}
	if o.MemtableSegmentSize == 0 {
		o.MemtableSegmentSize = segmented.DefaultSegmentSize
	}
	if o.MaxImmutableMemtables <= 0 {
		o.MaxImmutableMemtables = 2
	}
	if o.NewLog == nil {
		o.NewLog = defaultLog
	}
	if o.LogSegmentSize <= 0 {
		o.LogSegmentSize = 64 << 20
	}
	if o.BlockCacheSize <= 0 {
		o.BlockCacheSize = 256 << 20
	}
	if o.TargetTableSize <= 0 {
		o.TargetTableSize = 8 << 20
	}
	if o.NewValueStore == nil {
		o.NewValueStore = defaultValueStore
	}
	if o.ValueThreshold <= 0 {
		o.ValueThreshold = 1 << 10
	}
	if o.ValueLogGCInterval == 0 {
		o.ValueLogGCInterval = time.Minute
	}
	if o.ValueLogGCRatio <= 0 || o.ValueLogGCRatio > 1 {
		o.ValueLogGCRatio = 0.5
	}
	if o.ValueLogGCRate <= 0 {
		o.ValueLogGCRate = 64 << 20
	}
	if o.CompactionPolicy == nil {
		o.CompactionPolicy = defaultPolicy()
	}
	if o.MaxConcurrentCompactions <= 0 {
		o.MaxConcurrentCompactions = max(2, min(runtime.GOMAXPROCS(0)/4, 8))
	}
	if o.MaxSubcompactions <= 0 {
		o.MaxSubcompactions = max(2, min(runtime.GOMAXPROCS(0)/2, 8))
	}
	if o.MaxManifestFileSize <= 0 {
		o.MaxManifestFileSize = 1 << 20
	}
	if o.WriteBatchMaxCount <= 0 {
		o.WriteBatchMaxCount = 512
	}
	if o.WriteBatchMaxSize <= 0 {
		o.WriteBatchMaxSize = min(4<<20, o.MemtableSize/4)
	}
	if o.WriteBatchWait == 0 {
		o.WriteBatchWait = 100 * time.Microsecond
	}
	if o.HotKeyGroupThreshold == 0 {
		o.HotKeyGroupThreshold = 1024
	}
	if o.HotKeyTopN <= 0 {
		o.HotKeyTopN = 16
	}
	if o.HotKeyWindow <= 0 {
		o.HotKeyWindow = 10 * time.Second
	}
	if o.L0StopWritesThreshold <= 0 {
		o.L0StopWritesThreshold = 24
	}
	o.ensureThrottleDefaults()
	if o.Logger == nil {
		o.Logger = hclog.New(&hclog.LoggerOptions{Name: "nokv", Level: hclog.Warn})
	}
	return o
}

// Validate reports options that cannot work together.
func (o *Options) Validate() error {
	if o.MemtableSize < 64<<10 {
		return fmt.Errorf("%w: MemtableSize %d is below 64 KiB", iface.ErrInvalidArgument, o.MemtableSize)
	}
	if o.TargetTableSize < 4<<10 {
		return fmt.Errorf("%w: TargetTableSize %d is below 4 KiB", iface.ErrInvalidArgument, o.TargetTableSize)
	}
	if err := o.validateThrottle(); err != nil {
		return err
	}
	if o.CompactionPolicy.NumLevels() < 2 || o.CompactionPolicy.NumLevels() > 16 {
		return fmt.Errorf("%w: compaction policy %s shapes %d levels; 2 to 16 are supported",
			iface.ErrInvalidArgument, o.CompactionPolicy.Name(), o.CompactionPolicy.NumLevels())
	}
	return nil
}

// WriteOptions control one write.
type WriteOptions struct {
	// Sync makes the write durable (fsync of the value store and the log)
	// before it returns.
	Sync bool
}
