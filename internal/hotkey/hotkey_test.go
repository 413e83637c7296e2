package hotkey

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func TestTopFindsHotKeys(t *testing.T) {
	tr := New(3, time.Hour)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 200000; i++ {
		switch r := rng.IntN(100); {
		case r < 20:
			tr.Touch([]byte("hot-a"))
		case r < 30:
			tr.Touch([]byte("hot-b"))
		case r < 35:
			tr.Touch([]byte("hot-c"))
		default:
			tr.Touch([]byte(fmt.Sprintf("cold-%d", rng.IntN(100000))))
		}
	}
	top := tr.Top()
	if len(top) != 3 || string(top[0].Key) != "hot-a" || string(top[1].Key) != "hot-b" || string(top[2].Key) != "hot-c" {
		t.Fatalf("top = %v", top)
	}
	if e := tr.Estimate([]byte("hot-a")); e < 38000 || e > 42000+2000 {
		t.Fatalf("estimate of hot-a = %d, want about 40000", e)
	}
}

func TestDecay(t *testing.T) {
	now := time.Unix(0, 0)
	tr := New(2, time.Second)
	tr.now = func() time.Time { return now }
	tr.lastDecay = now
	for i := 0; i < 1000; i++ {
		tr.Touch([]byte("k"))
	}
	now = now.Add(3 * time.Second)
	if e := tr.Estimate([]byte("k")); e != 125 {
		t.Fatalf("after three windows estimate %d, want 125", e)
	}
	now = now.Add(time.Hour)
	if top := tr.Top(); len(top) != 0 {
		t.Fatalf("cold key still reported: %v", top)
	}
}
