package main

import (
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"time"
)

// store is one open engine under test, seen through the few calls the
// workloads make. Get and Scan may be called concurrently with each other
// and with writers; each writer is used by one goroutine.
type store interface {
	// newWriter returns a writer for one goroutine.
	newWriter() writer
	// get appends the value of key to dst[:0]; found is false when the key
	// is absent.
	get(key, dst []byte) (val []byte, found bool, err error)
	// scan calls fn for the entries from start on (nil: from the first), at
	// most limit of them (limit <= 0: all), and returns how many it visited.
	// k and v are valid only during the call.
	scan(start []byte, limit int, fn func(k, v []byte)) (int, error)
	// close closes the store.
	close() error
}

// writer builds one batch at a time and commits it atomically.
type writer interface {
	// set adds a write of value under key to the pending batch; the writer
	// copies what it must keep.
	set(key, value []byte) error
	// commit applies the pending batch; sync asks for it to be durable
	// (fsynced) before commit returns.
	commit(sync bool) error
}

// stallTimer is a store that can say for how long it has stopped writes
// since it was opened: write stalls, while its memtables wait for a flush or
// its L0 (or compaction debt) is at a hard limit. The total is of the
// engine's stopped time, not summed over the writers waiting. It may be
// called concurrently with writers. A store that cannot say does not
// implement it, and its stall figures read n/a.
type stallTimer interface {
	stallTime() time.Duration
}

// delayTimer is a store that slows writes down before it stops them (NoKV's
// write throttling while compactions are behind) and can say for how long
// in total since it was opened. It may be called concurrently with writers.
type delayTimer interface {
	delayTime() time.Duration
}

// openConfig is what a chain asks of every engine it opens.
type openConfig struct {
	// syncWrites: the chain commits with sync. Engines with per-write sync
	// (NoKV, Pebble) ignore it; Badger has only a store-wide switch, so it
	// opens with SyncWrites on.
	syncWrites bool
}

// engine is one configuration under test.
type engine struct {
	name  string // as on the command line and in the tables
	title string // column heading
	about string // what differs from the engine's defaults
	// open opens (creating) a store in dir and returns the exact options it
	// runs with, rendered as text.
	open func(dir string, c openConfig) (store, string, error)
}

// engines lists every configuration, NoKV first; the peers at their
// defaults, then with settings comparable to NoKV's.
func engines() []engine {
	return []engine{
		nokvEngine(),
		pebbleEngine(false),
		pebbleEngine(true),
		badgerEngine(false),
		badgerEngine(true),
	}
}

// extraEngines are configurations run only when named with --engines.
func extraEngines() []engine {
	return nokvVariants()
}

// findEngines resolves a comma-separated list of engine names ("" or "all":
// the engines of the comparison, without the extra ones).
func findEngines(list string) ([]engine, error) {
	if list == "" || list == "all" {
		return engines(), nil
	}
	all := append(engines(), extraEngines()...)
	var out []engine
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		found := false
		for _, e := range all {
			if e.name == n {
				out = append(out, e)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown engine %q; valid: %s", n, strings.Join(engineNames(all), ", "))
		}
	}
	return out, nil
}

// engineNames lists the names of es, in order.
func engineNames(es []engine) []string {
	var names []string
	for _, e := range es {
		names = append(names, e.name)
	}
	return names
}

// dumpOptions renders the exported fields of a struct, one "name = value"
// line each, sorted, recursing into nested structs: functions by their
// symbol name, interfaces and pointers by type (and Name(), if any), so the
// text says exactly what an engine ran with. Fields named in skip are left
// out (loggers, caches: pointers whose address says nothing).
func dumpOptions(v any, skip ...string) string {
	var lines []string
	var walk func(prefix string, rv reflect.Value)
	walk = func(prefix string, rv reflect.Value) {
		rt := rv.Type()
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			if !f.IsExported() || contains(skip, f.Name) {
				continue
			}
			name := prefix + f.Name
			fv := rv.Field(i)
			if fv.Kind() == reflect.Struct && fv.Type().PkgPath() != "time" {
				walk(name+".", fv)
				continue
			}
			lines = append(lines, name+" = "+renderValue(fv))
		}
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	walk("", rv)
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// renderValue renders one option value for dumpOptions.
func renderValue(fv reflect.Value) string {
	switch fv.Kind() {
	case reflect.Func:
		if fv.IsNil() {
			return "nil"
		}
		if fn := runtime.FuncForPC(fv.Pointer()); fn != nil {
			return fn.Name()
		}
		return "func"
	case reflect.Interface, reflect.Pointer:
		if fv.IsNil() {
			return "nil"
		}
		s := fv.Type().String()
		if fv.Kind() == reflect.Interface {
			s = fv.Elem().Type().String()
		}
		if n, ok := fv.Interface().(interface{ Name() string }); ok {
			s += " " + n.Name()
		}
		if st, ok := fv.Interface().(fmt.Stringer); ok && fv.Kind() == reflect.Interface {
			s += " " + st.String()
		}
		return s
	case reflect.Slice:
		if fv.Type().Elem().Kind() == reflect.Uint8 {
			return fmt.Sprintf("%d bytes", fv.Len())
		}
	}
	return fmt.Sprintf("%v", fv.Interface())
}
