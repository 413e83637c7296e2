package mvcc

import (
	"sync"
	"testing"
	"time"
)

func TestWatermark(t *testing.T) {
	w := NewWatermark(10)
	if w.DoneUntil() != 10 {
		t.Fatal(w.DoneUntil())
	}
	if _, ok := w.Oldest(); ok {
		t.Fatal("nothing begun, yet something is oldest")
	}
	w.Begin(11)
	w.Begin(12)
	w.Begin(12)
	w.Begin(13)
	check := func(done uint64, oldest uint64, n int) {
		t.Helper()
		o, ok := w.Oldest()
		if w.DoneUntil() != done || (n > 0 && (!ok || o != oldest)) || (n == 0 && ok) || w.InProgress() != n {
			t.Fatalf("done %d oldest %d/%v n %d; want %d %d %d", w.DoneUntil(), o, ok, w.InProgress(), done, oldest, n)
		}
	}
	check(10, 11, 4)
	w.Done(13) // out of order: 11 and 12 still pending
	check(10, 11, 3)
	w.Done(11)
	check(11, 12, 2)
	w.Done(12)
	check(11, 12, 1) // 12 was begun twice
	w.Begin(12)      // again, while still pending
	w.Done(12)
	w.Done(12)
	check(13, 0, 0)
	w.Done(99) // never begun: ignored
	check(13, 0, 0)
	w.Begin(13) // an already-done timestamp begun again lowers the mark
	check(12, 13, 1)
	w.Done(13)
	w.Advance(20)
	check(20, 0, 0)

	// WaitFor blocks until every earlier mark is done.
	w.Begin(21)
	w.Begin(22)
	var wg sync.WaitGroup
	wg.Add(1)
	released := make(chan struct{})
	go func() {
		defer wg.Done()
		w.WaitFor(22)
		close(released)
	}()
	w.Done(22)
	select {
	case <-released:
		t.Fatal("WaitFor(22) returned while 21 was pending")
	case <-time.After(10 * time.Millisecond):
	}
	w.Done(21)
	wg.Wait()
}

// TestWatermarkConcurrent begins and finishes marks from many goroutines
// and checks that DoneUntil never passes a pending mark.
func TestWatermarkConcurrent(t *testing.T) {
	w := NewWatermark(0)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				ts := uint64(i*4 + g + 1)
				w.Begin(ts)
				if d := w.DoneUntil(); d >= ts {
					t.Errorf("DoneUntil %d while %d pending", d, ts)
					return
				}
				w.Done(ts)
			}
		}(g)
	}
	wg.Wait()
	if w.InProgress() != 0 || w.DoneUntil() != 8000 {
		t.Fatalf("in progress %d, done until %d", w.InProgress(), w.DoneUntil())
	}
}
