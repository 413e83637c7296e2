package percolator_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"pgregory.net/rapid"
)

// pmodel is what the store should hold: every committed version of every
// key, and the transactions still holding locks.
type pmodel struct {
	versions map[string][]pversion // ascending commit ts
	pending  []*ptxn
	clock    uint64
}

type pversion struct {
	commitTs uint64
	value    *string // nil: deleted
}

type ptxn struct {
	start uint64
	muts  []*kvrpcpb.Mutation
}

func (m *pmodel) tick() uint64 { m.clock += 10; return m.clock }

// lockOn returns the pending transaction locking key, if any.
func (m *pmodel) lockOn(key string) (*ptxn, *kvrpcpb.Mutation) {
	for _, p := range m.pending {
		for _, mu := range p.muts {
			if string(mu.Key) == key {
				return p, mu
			}
		}
	}
	return nil, nil
}

// read renders what a read of key at ts must return.
func (m *pmodel) read(key string, ts uint64) (string, bool) {
	if p, mu := m.lockOn(key); p != nil && p.start <= ts && mu.Op != kvrpcpb.Op_Lock {
		return fmt.Sprintf("locked(%s@%d)", key, p.start), true
	}
	vs := m.versions[key]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].commitTs <= ts {
			if vs[i].value == nil {
				return "", false
			}
			return key + "=" + *vs[i].value, true
		}
	}
	return "", false
}

func (m *pmodel) apply(p *ptxn, commitTs uint64) {
	for _, mu := range p.muts {
		switch mu.Op {
		case kvrpcpb.Op_Put:
			v := string(mu.Value)
			m.versions[string(mu.Key)] = append(m.versions[string(mu.Key)], pversion{commitTs, &v})
		case kvrpcpb.Op_Del:
			m.versions[string(mu.Key)] = append(m.versions[string(mu.Key)], pversion{commitTs, nil})
		}
	}
}

var pkeys = []string{"a", "a\x00", "ab", "b", "bbbbbbbb", "bbbbbbbbb", "c"}

// TestModelReads runs random transactions (committed, rolled back, or left
// locked and resolved later) and checks every Get and Scan, at random
// timestamps, in both directions, against the model. Longer runs:
// go test ./mvcc/percolator -run TestModelReads -rapid.checks=2000 -rapid.steps=300
func TestModelReads(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		e, closeEnv := openEnv(t)
		defer closeEnv()
		m := &pmodel{versions: map[string][]pversion{}}
		key := rapid.SampledFrom(pkeys)
		rt.Repeat(map[string]func(*rapid.T){
			"txn": func(rt *rapid.T) {
				p := &ptxn{start: m.tick()}
				seen := map[string]bool{}
				for n := rapid.IntRange(1, 3).Draw(rt, "n"); len(p.muts) < n; {
					k := key.Draw(rt, "key")
					if seen[k] {
						continue
					}
					seen[k] = true
					mu := &kvrpcpb.Mutation{Key: []byte(k), Op: rapid.SampledFrom([]kvrpcpb.Op{kvrpcpb.Op_Put, kvrpcpb.Op_Put, kvrpcpb.Op_Del, kvrpcpb.Op_Lock}).Draw(rt, "op")}
					if mu.Op == kvrpcpb.Op_Put {
						v := rapid.StringMatching(`[a-z]{1,4}`).Draw(rt, "value")
						if rapid.IntRange(0, 4).Draw(rt, "big") == 0 {
							v = strings.Repeat(v, 100)
						}
						mu.Value = []byte(v)
					}
					p.muts = append(p.muts, mu)
				}
				var want []string
				for _, mu := range p.muts {
					if q, _ := m.lockOn(string(mu.Key)); q != nil {
						want = append(want, fmt.Sprintf("locked(%s@%d)", mu.Key, q.start))
					}
				}
				resp, err := e.s.Prewrite(&kvrpcpb.PrewriteRequest{Mutations: p.muts, PrimaryLock: p.muts[0].Key, StartVersion: p.start, LockTtl: 1000})
				if err != nil {
					rt.Fatal(err)
				}
				var got []string
				for _, ke := range resp.Errors {
					if ke.Locked == nil {
						rt.Fatalf("prewrite: %v", ke)
					}
					got = append(got, fmt.Sprintf("locked(%s@%d)", ke.Locked.Key, ke.Locked.LockVersion))
				}
				if !slices.Equal(got, want) {
					rt.Fatalf("prewrite errors %v, want %v", got, want)
				}
				if len(want) > 0 {
					return
				}
				var ks [][]byte
				for _, mu := range p.muts {
					ks = append(ks, mu.Key)
				}
				switch rapid.IntRange(0, 2).Draw(rt, "outcome") {
				case 0:
					commitTs := m.tick()
					r, err := e.s.Commit(&kvrpcpb.CommitRequest{StartVersion: p.start, CommitVersion: commitTs, Keys: ks})
					if err != nil || r.Error != nil {
						rt.Fatalf("commit: %v %v", err, r.Error)
					}
					m.apply(p, commitTs)
				case 1:
					r, err := e.s.BatchRollback(&kvrpcpb.BatchRollbackRequest{StartVersion: p.start, Keys: ks})
					if err != nil || r.Error != nil {
						rt.Fatalf("rollback: %v %v", err, r.Error)
					}
				default:
					m.pending = append(m.pending, p)
				}
			},
			"resolve": func(rt *rapid.T) {
				if len(m.pending) == 0 {
					rt.Skip("nothing pending")
				}
				p := rapid.SampledFrom(m.pending).Draw(rt, "pending")
				req := &kvrpcpb.ResolveLockRequest{StartVersion: p.start}
				if rapid.Bool().Draw(rt, "commit") {
					req.CommitVersion = m.tick()
				}
				if rapid.Bool().Draw(rt, "lite") {
					for _, mu := range p.muts {
						req.Keys = append(req.Keys, mu.Key)
					}
				}
				r, err := e.s.ResolveLock(req)
				if err != nil || r.Error != nil {
					rt.Fatalf("resolve: %v %v", err, r.Error)
				}
				m.pending = slices.DeleteFunc(m.pending, func(q *ptxn) bool { return q == p })
				if req.CommitVersion != 0 {
					m.apply(p, req.CommitVersion)
				}
			},
			"get": func(rt *rapid.T) {
				k := key.Draw(rt, "key")
				ts := rapid.Uint64Range(0, m.clock+5).Draw(rt, "ts")
				want, ok := m.read(k, ts)
				r, err := e.s.Get(&kvrpcpb.GetRequest{Key: []byte(k), Version: ts})
				if err != nil {
					rt.Fatal(err)
				}
				got, gok := "", false
				switch {
				case r.Error != nil:
					got, gok = fmt.Sprintf("locked(%s@%d)", r.Error.Locked.Key, r.Error.Locked.LockVersion), true
				case !r.NotFound:
					got, gok = k+"="+string(r.Value), true
				}
				if got != want || gok != ok {
					rt.Fatalf("get %q@%d = %q/%v, want %q/%v", k, ts, got, gok, want, ok)
				}
			},
			"scan": func(rt *rapid.T) {
				lo, hi := key.Draw(rt, "lo"), key.Draw(rt, "hi")
				if lo > hi {
					lo, hi = hi, lo
				}
				if rapid.Bool().Draw(rt, "open") {
					hi = ""
				}
				ts := rapid.Uint64Range(0, m.clock+5).Draw(rt, "ts")
				limit := rapid.IntRange(1, 8).Draw(rt, "limit")
				reverse := rapid.Bool().Draw(rt, "reverse")
				var want []string
				for _, k := range pkeys {
					if k >= lo && (hi == "" || k < hi) {
						if s, ok := m.read(k, ts); ok {
							want = append(want, s)
						}
					}
				}
				slices.SortFunc(want, func(a, b string) int { return strings.Compare(scanKey(a), scanKey(b)) })
				if reverse {
					slices.Reverse(want)
				}
				want = want[:min(limit, len(want))]
				req := &kvrpcpb.ScanRequest{StartKey: []byte(lo), EndKey: []byte(hi), Limit: uint32(limit), Version: ts, Reverse: reverse}
				if reverse {
					req.StartKey, req.EndKey = []byte(hi), []byte(lo)
				}
				r, err := e.s.Scan(req)
				if err != nil {
					rt.Fatal(err)
				}
				var got []string
				for _, p := range r.Pairs {
					if p.Error != nil {
						got = append(got, fmt.Sprintf("locked(%s@%d)", p.Error.Locked.Key, p.Error.Locked.LockVersion))
					} else {
						got = append(got, string(p.Key)+"="+string(p.Value))
					}
				}
				if !slices.Equal(got, want) {
					rt.Fatalf("scan [%q,%q) at %d limit %d reverse %v:\n got  %q\n want %q", lo, hi, ts, limit, reverse, got, want)
				}
			},
			"flush": func(rt *rapid.T) {
				if err := e.store.Flush(); err != nil {
					rt.Fatal(err)
				}
			},
		})
	})
}

// scanKey is the key a rendered read result is about.
func scanKey(s string) string {
	if strings.HasPrefix(s, "locked(") {
		return s[len("locked("):strings.LastIndex(s, "@")]
	}
	return s[:strings.Index(s, "=")]
}
