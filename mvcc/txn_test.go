package mvcc_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/mvcc"
)

func get(t *testing.T, txn *mvcc.Txn, key string) string {
	t.Helper()
	v, err := txn.Get([]byte(key))
	if errors.Is(err, iface.ErrNotFound) {
		return "<none>"
	}
	must(t, err)
	return string(v)
}

func TestSnapshotAndOwnWrites(t *testing.T) {
	db := mvcc.New(openStore(t), nil)
	must(t, db.Update(func(txn *mvcc.Txn) error { return txn.Set([]byte("a"), []byte("1")) }))

	reader := db.Begin(false)
	defer reader.Discard()
	writer := db.Begin(true)
	must(t, writer.Set([]byte("a"), []byte("2")))
	must(t, writer.Set([]byte("b"), []byte("2")))
	must(t, writer.Delete([]byte("c")))
	if got := get(t, writer, "a"); got != "2" {
		t.Fatalf("own write: a=%s", got)
	}
	if got := get(t, reader, "a"); got != "1" {
		t.Fatalf("uncommitted write visible: a=%s", got)
	}
	must(t, writer.Commit())
	if writer.CommitTs() <= reader.ReadTs() {
		t.Fatalf("commit ts %d not above read ts %d", writer.CommitTs(), reader.ReadTs())
	}
	if got := get(t, reader, "a"); got != "1" {
		t.Fatalf("snapshot moved: a=%s", got)
	}
	if got := get(t, reader, "b"); got != "<none>" {
		t.Fatalf("snapshot moved: b=%s", got)
	}
	must(t, db.View(func(txn *mvcc.Txn) error {
		if got := get(t, txn, "a") + get(t, txn, "b"); got != "22" {
			t.Fatalf("after commit: %s", got)
		}
		return nil
	}))
	if err := reader.Set([]byte("x"), nil); !errors.Is(err, mvcc.ErrReadOnlyTxn) {
		t.Fatalf("write in read-only txn: %v", err)
	}
	if err := writer.Set([]byte("x"), nil); !errors.Is(err, mvcc.ErrDiscardedTxn) {
		t.Fatalf("write after commit: %v", err)
	}
	if err := writer.Set(nil, nil); !errors.Is(err, mvcc.ErrDiscardedTxn) {
		t.Fatalf("write after commit: %v", err)
	}
	txn := db.Begin(true)
	defer txn.Discard()
	if err := txn.Set(nil, []byte("v")); !errors.Is(err, iface.ErrInvalidArgument) {
		t.Fatalf("empty key: %v", err)
	}
}

// TestConflictDetection covers read-write conflicts, write skew and
// phantoms, and that turning detection off lets them through.
func TestConflictDetection(t *testing.T) {
	for _, detect := range []bool{true, false} {
		t.Run(fmt.Sprintf("detect=%v", detect), func(t *testing.T) {
			db := mvcc.New(openStore(t), &mvcc.Options{DisableConflictDetection: !detect})
			must(t, db.Update(func(txn *mvcc.Txn) error {
				must(t, txn.Set([]byte("x"), []byte("0")))
				return txn.Set([]byte("y"), []byte("0"))
			}))
			wantErr := func(err error) {
				t.Helper()
				if detect && !errors.Is(err, mvcc.ErrConflict) {
					t.Fatalf("want ErrConflict, got %v", err)
				}
				if !detect && err != nil {
					t.Fatalf("detection off: %v", err)
				}
			}

			// Read-write: t1 read x, t2 wrote x and committed first.
			t1, t2 := db.Begin(true), db.Begin(true)
			get(t, t1, "x")
			must(t, t2.Set([]byte("x"), []byte("2")))
			must(t, t2.Commit())
			must(t, t1.Set([]byte("z"), []byte("1")))
			wantErr(t1.Commit())

			// Write skew: each reads both, writes the other one.
			t1, t2 = db.Begin(true), db.Begin(true)
			get(t, t1, "x")
			get(t, t1, "y")
			get(t, t2, "x")
			get(t, t2, "y")
			must(t, t1.Set([]byte("x"), []byte("s1")))
			must(t, t2.Set([]byte("y"), []byte("s2")))
			must(t, t1.Commit())
			wantErr(t2.Commit())

			// Phantom: t1 scans p/, t2 inserts p/new.
			t1, t2 = db.Begin(true), db.Begin(true)
			it, err := t1.NewIterator(mvcc.IteratorOptions{Prefix: []byte("p/")})
			must(t, err)
			for it.Rewind(); it.Valid(); it.Next() {
			}
			must(t, it.Close())
			must(t, t2.Set([]byte("p/new"), []byte("1")))
			must(t, t2.Commit())
			must(t, t1.Set([]byte("count"), []byte("0")))
			wantErr(t1.Commit())

			// Disjoint: a write outside what t1 read does not conflict.
			t1, t2 = db.Begin(true), db.Begin(true)
			get(t, t1, "x")
			must(t, t2.Set([]byte("q/other"), []byte("1")))
			must(t, t2.Commit())
			must(t, t1.Set([]byte("x"), []byte("3")))
			must(t, t1.Commit())

			// Blind writes never conflict (last committer wins).
			t1, t2 = db.Begin(true), db.Begin(true)
			must(t, t1.Set([]byte("x"), []byte("b1")))
			must(t, t2.Set([]byte("x"), []byte("b2")))
			must(t, t2.Commit())
			must(t, t1.Commit())
			must(t, db.View(func(txn *mvcc.Txn) error {
				if got := get(t, txn, "x"); got != "b1" {
					t.Fatalf("x=%s, want b1 (last commit)", got)
				}
				return nil
			}))
		})
	}
}

// TestLostUpdateImpossible runs the classic lost update: two transactions
// read a counter and both write it +1. With detection on, the second commit
// fails; with it off, one increment is lost.
func TestLostUpdateImpossible(t *testing.T) {
	for _, detect := range []bool{true, false} {
		db := mvcc.New(openStore(t), &mvcc.Options{DisableConflictDetection: !detect})
		must(t, db.Update(func(txn *mvcc.Txn) error { return txn.Set([]byte("n"), []byte("0")) }))
		incr := func(txn *mvcc.Txn) {
			var n int
			fmt.Sscan(get(t, txn, "n"), &n)
			must(t, txn.Set([]byte("n"), []byte(fmt.Sprint(n+1))))
		}
		t1, t2 := db.Begin(true), db.Begin(true)
		incr(t1)
		incr(t2)
		must(t, t1.Commit())
		err := t2.Commit()
		var final string
		must(t, db.View(func(txn *mvcc.Txn) error { final = get(t, txn, "n"); return nil }))
		if detect {
			if !errors.Is(err, mvcc.ErrConflict) || final != "1" {
				t.Fatalf("detection on: second commit %v, n=%s", err, final)
			}
		} else if err != nil || final != "1" {
			t.Fatalf("detection off: expected the lost update (n=1), got %v n=%s", err, final)
		}
	}
}

func TestTxnTooBig(t *testing.T) {
	db := mvcc.New(openStore(t), &mvcc.Options{MaxTxnBytes: 4 << 10, MaxTxnEntries: 10})
	txn := db.Begin(true)
	defer txn.Discard()
	var err error
	i := 0
	for ; i < 100 && err == nil; i++ {
		err = txn.Set([]byte(fmt.Sprintf("k%03d", i)), make([]byte, 100))
	}
	if !errors.Is(err, mvcc.ErrTxnTooBig) || i != 11 {
		t.Fatalf("after %d writes: %v", i, err)
	}
	// Overwriting a buffered key does not count twice.
	must(t, txn.Set([]byte("k000"), []byte("small")))
	if err := txn.Set([]byte("big"), make([]byte, 8<<10)); !errors.Is(err, mvcc.ErrTxnTooBig) {
		t.Fatalf("large value: %v", err)
	}
	must(t, txn.Commit())
	must(t, db.View(func(txn *mvcc.Txn) error {
		if get(t, txn, "k000") != "small" || get(t, txn, "k009") == "<none>" || get(t, txn, "k010") != "<none>" {
			t.Fatal("the writes before the limit were not committed as they were")
		}
		return nil
	}))
}

func TestTTL(t *testing.T) {
	db := mvcc.New(openStore(t), nil)
	past := uint64(time.Now().Add(-time.Hour).Unix())
	must(t, db.Update(func(txn *mvcc.Txn) error {
		must(t, txn.SetEntry(mvcc.Entry{Key: []byte("gone"), Value: []byte("v"), ExpiresAt: past}))
		must(t, txn.SetWithTTL([]byte("live"), []byte("v"), time.Hour))
		if get(t, txn, "gone") != "<none>" {
			t.Fatal("own expired write visible")
		}
		return nil
	}))
	must(t, db.View(func(txn *mvcc.Txn) error {
		if get(t, txn, "gone") != "<none>" || get(t, txn, "live") != "v" {
			t.Fatal("expiry not honoured")
		}
		it, err := txn.NewIterator(mvcc.IteratorOptions{})
		must(t, err)
		defer it.Close()
		var keys []string
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, string(it.Key()))
			if it.ExpiresAt() == 0 {
				t.Fatal("live key lost its expiry")
			}
		}
		if strings.Join(keys, ",") != "live" {
			t.Fatalf("iterator saw %v", keys)
		}
		return nil
	}))
}

// TestIterators checks forward, reverse, prefix, seek, keys-only and
// all-versions iteration over committed data merged with pending writes.
func TestIterators(t *testing.T) {
	db := mvcc.New(openStore(t), nil)
	for round := 1; round <= 3; round++ {
		must(t, db.Update(func(txn *mvcc.Txn) error {
			for _, k := range []string{"a", "b/1", "b/2", "b/3", "c"} {
				must(t, txn.Set([]byte(k), []byte(fmt.Sprintf("%s@%d", k, round))))
			}
			return nil
		}))
	}
	must(t, db.Update(func(txn *mvcc.Txn) error { return txn.Delete([]byte("b/3")) }))

	txn := db.Begin(true)
	defer txn.Discard()
	must(t, txn.Set([]byte("b/0"), []byte("new")))
	must(t, txn.Set([]byte("b/2"), []byte("mine")))
	must(t, txn.Delete([]byte("b/1")))
	must(t, txn.Set([]byte("b/3"), []byte("back")))

	scan := func(o mvcc.IteratorOptions, seek string) string {
		it, err := txn.NewIterator(o)
		must(t, err)
		defer it.Close()
		var out []string
		if seek != "" {
			it.Seek([]byte(seek))
		} else {
			it.Rewind()
		}
		for ; it.Valid(); it.Next() {
			v, err := it.Value()
			must(t, err)
			s := string(it.Key()) + "=" + string(v)
			if o.AllVersions {
				s += fmt.Sprintf("@%d", it.Version())
				if it.IsDeleted() {
					s += "/del"
				}
			}
			out = append(out, s)
		}
		must(t, it.Err())
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		name string
		o    mvcc.IteratorOptions
		seek string
		want string
	}{
		{"forward", mvcc.IteratorOptions{}, "", "a=a@3 b/0=new b/2=mine b/3=back c=c@3"},
		{"reverse", mvcc.IteratorOptions{Reverse: true}, "", "c=c@3 b/3=back b/2=mine b/0=new a=a@3"},
		{"prefix", mvcc.IteratorOptions{Prefix: []byte("b/")}, "", "b/0=new b/2=mine b/3=back"},
		{"prefix reverse", mvcc.IteratorOptions{Prefix: []byte("b/"), Reverse: true}, "", "b/3=back b/2=mine b/0=new"},
		{"seek", mvcc.IteratorOptions{}, "b/1", "b/2=mine b/3=back c=c@3"},
		{"seek reverse", mvcc.IteratorOptions{Reverse: true}, "b/1", "b/0=new a=a@3"},
		{"seek reverse exact", mvcc.IteratorOptions{Reverse: true}, "b/2", "b/2=mine b/0=new a=a@3"},
		{"bounds", mvcc.IteratorOptions{LowerBound: []byte("b/1"), UpperBound: []byte("c")}, "", "b/2=mine b/3=back"},
		{"keys only", mvcc.IteratorOptions{KeysOnly: true, Prefix: []byte("b/")}, "", "b/0= b/2= b/3="},
		{"all versions", mvcc.IteratorOptions{AllVersions: true, Prefix: []byte("b/")}, "",
			"b/0=new@0 b/1=@0/del b/1=b/1@3@3 b/1=b/1@2@2 b/1=b/1@1@1 b/2=mine@0 b/2=b/2@3@3 b/2=b/2@2@2 b/2=b/2@1@1 " +
				"b/3=back@0 b/3=@4/del b/3=b/3@3@3 b/3=b/3@2@2 b/3=b/3@1@1"},
		{"all versions reverse", mvcc.IteratorOptions{AllVersions: true, Prefix: []byte("b/3"), Reverse: true}, "",
			"b/3=b/3@1@1 b/3=b/3@2@2 b/3=b/3@3@3 b/3=@4/del b/3=back@0"},
	} {
		if got := scan(c.o, c.seek); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.name, got, c.want)
		}
	}
}

// TestReadersKeepTheirVersions checks that an open transaction keeps
// reading its snapshot while later commits, flushes and compactions run,
// and that the read watermark follows the oldest open transaction.
func TestReadersKeepTheirVersions(t *testing.T) {
	store := openStore(t)
	db := mvcc.New(store, nil)
	must(t, db.Update(func(txn *mvcc.Txn) error { return txn.Set([]byte("k"), []byte("old")) }))
	old := db.Begin(false)
	if db.ReadWatermark() != old.ReadTs() || db.OpenTxns() != 1 {
		t.Fatalf("watermark %d, open %d; want %d, 1", db.ReadWatermark(), db.OpenTxns(), old.ReadTs())
	}
	for i := 0; i < 2000; i++ {
		must(t, db.Update(func(txn *mvcc.Txn) error {
			return txn.Set([]byte("k"), []byte(fmt.Sprintf("v%04d-%s", i, strings.Repeat("x", 100))))
		}))
	}
	must(t, store.Flush())
	must(t, store.Compact())
	if got := get(t, old, "k"); got != "old" {
		t.Fatalf("old transaction reads %q", got)
	}
	if db.ReadWatermark() != old.ReadTs() {
		t.Fatal("watermark moved past an open transaction")
	}
	old.Discard()
	if db.ReadWatermark() != store.LastVersion() || db.OpenTxns() != 0 {
		t.Fatalf("watermark %d after the last txn ended; last version %d", db.ReadWatermark(), store.LastVersion())
	}
	if db.CommitWatermark() != store.LastVersion() {
		t.Fatalf("commit watermark %d, last version %d", db.CommitWatermark(), store.LastVersion())
	}
}

// TestDirectWritesInterleave mixes writes made on the store directly with
// transactions: commits pick versions above them.
func TestDirectWritesInterleave(t *testing.T) {
	store := openStore(t)
	db := mvcc.New(store, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 300; i++ {
			if err := store.Set([]byte(fmt.Sprintf("raw%03d", i)), []byte("v"), nil); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() { <-done }()
	for i := 0; i < 300; i++ {
		must(t, db.Update(func(txn *mvcc.Txn) error { return txn.Set([]byte(fmt.Sprintf("txn%03d", i)), []byte("v")) }))
	}
	for store.LastVersion() < 600 { // the raw writer may still be running
		time.Sleep(time.Millisecond)
	}
	must(t, db.View(func(txn *mvcc.Txn) error {
		it, err := txn.NewIterator(mvcc.IteratorOptions{})
		must(t, err)
		defer it.Close()
		n := 0
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		if n != 600 {
			t.Fatalf("%d keys, want 600", n)
		}
		return nil
	}))
}
