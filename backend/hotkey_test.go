package backend_test

import (
	"encoding/json"
	"errors"
	"expvar"
	"testing"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/iface"
)

func TestHotKeysReportedAndLimited(t *testing.T) {
	o := smallOptions(nil)
	o.WriteHotKeyLimit = 200
	db := openTest(t, t.TempDir(), o)
	var rejected error
	for i := 0; i < 1000 && rejected == nil; i++ {
		rejected = db.Set([]byte("hot"), []byte("v"), nil)
		must(t, db.Set(key(i), []byte("v"), nil)) // cold keys stay writable
	}
	if !errors.Is(rejected, iface.ErrHotKey) {
		t.Fatalf("the 1000th write of one key was not refused: %v", rejected)
	}
	st := db.Stats()
	if len(st.HotKeys) == 0 || string(st.HotKeys[0].Key) != "hot" || st.HotKeyRejects != 1 {
		t.Fatalf("hot keys %v, rejects %d", st.HotKeys, st.HotKeyRejects)
	}
	expectGet(t, db, "hot", "v") // what was acknowledged before the limit stays
}

func TestStatsExpvar(t *testing.T) {
	db := openTest(t, t.TempDir(), smallOptions(nil))
	must(t, db.Set([]byte("a"), []byte("b"), nil))
	must(t, db.PublishExpvar("nokv_test_stats"))
	if err := db.PublishExpvar("nokv_test_stats"); !errors.Is(err, iface.ErrInvalidArgument) {
		t.Fatalf("second publish under one name: %v", err)
	}
	var got backend.Stats
	must(t, json.Unmarshal([]byte(expvar.Get("nokv_test_stats").String()), &got))
	if got.Batches != 1 || got.Writes != 1 {
		t.Fatalf("expvar stats %+v", got)
	}
}
