package backend

import (
	"fmt"
	"sync"
	"testing"

	"github.com/nokv/nokv/iface"
)

// TestGuardedWrites: a guarded write lands only while the key's newest
// entry is the one it expects, and never overwrites a newer write, even
// when both race through the same commit groups.
func TestGuardedWrites(t *testing.T) {
	db, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Set([]byte("k"), []byte("v1"), nil); err != nil {
		t.Fatal(err)
	}
	v1 := db.LastVersion()
	stored := iface.EncodeValue(nil, iface.KindSet, 0, []byte("v1"))
	b := NewBatch()
	b.setIfUnchanged([]byte("k"), []byte("v1-moved"), 0, v1, stored)
	if err := db.Apply(b, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Get([]byte("k")); string(got) != "v1-moved" {
		t.Fatalf("guarded write with a holding guard: %q", got)
	}
	b = NewBatch()
	b.setIfUnchanged([]byte("k"), []byte("stale"), 0, v1, stored)
	if err := db.Apply(b, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Get([]byte("k")); string(got) != "v1-moved" {
		t.Fatalf("guarded write with a failed guard landed: %q", got)
	}

	// Race: writers bump counters while a mover rewrites whatever it saw.
	// The final value of each key must be the last user write.
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if err := db.Set([]byte(fmt.Sprintf("c%d", w)), []byte(fmt.Sprint(i)), nil); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	stop := make(chan struct{})
	var mg sync.WaitGroup
	mg.Add(1)
	go func() {
		defer mg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for w := 0; w < 4; w++ {
				k := []byte(fmt.Sprintf("c%d", w))
				rs := db.acquire()
				ik, st, ok, err := db.lookup(rs, k, db.LastVersion())
				rs.v.unref()
				if err != nil || !ok {
					continue
				}
				_, _, payload, _ := iface.DecodeValue(st)
				b := NewBatch()
				b.setIfUnchanged(k, append([]byte(nil), payload...), 0, iface.Version(ik), st)
				if err := db.Apply(b, nil); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	mg.Wait()
	for w := 0; w < 4; w++ {
		if got, err := db.Get([]byte(fmt.Sprintf("c%d", w))); err != nil || string(got) != "499" {
			t.Fatalf("c%d = %q, %v; want the last user write 499", w, got, err)
		}
	}
}

// TestGuardedUserBytes: Stats.UserBytes counts what guarded batches commit,
// not the entries whose guard failed.
func TestGuardedUserBytes(t *testing.T) {
	db, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Set([]byte("k"), []byte("v1"), nil); err != nil {
		t.Fatal(err)
	}
	v1 := db.LastVersion()
	stored := iface.EncodeValue(nil, iface.KindSet, 0, []byte("v1"))
	before := db.Stats().UserBytes
	b := NewBatch()
	b.setIfUnchanged([]byte("k"), []byte("moved"), 0, v1, stored)   // holds: 6 bytes
	b.setIfUnchanged([]byte("j"), []byte("nowhere"), 0, v1, stored) // fails: j has no entry
	if err := db.Apply(b, nil); err != nil {
		t.Fatal(err)
	}
	if got := db.Stats().UserBytes - before; got != 6 {
		t.Fatalf("user bytes grew by %d, want 6 (the entry whose guard held)", got)
	}
	before = db.Stats().UserBytes
	b = NewBatch()
	b.setIfUnchanged([]byte("k"), []byte("stale"), 0, v1, stored) // fails: k moved on
	if err := db.Apply(b, nil); err != nil {
		t.Fatal(err)
	}
	if got := db.Stats().UserBytes - before; got != 0 {
		t.Fatalf("a batch whose every guard failed added %d user bytes", got)
	}
}
