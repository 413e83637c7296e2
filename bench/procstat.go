package main

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ioCounters are the process's I/O counters from /proc/self/io (Linux).
// writeBytes counts bytes the process caused to be sent to the block layer,
// charged when a page is dirtied (by write(2) or through a shared mmap), so
// it includes what background goroutines write and what is written back
// later; a page dirtied again before write-back is charged once.
// cancelledWriteBytes are dirty bytes that never reached the disk because
// their file was truncated or deleted first. wchar counts bytes handed to
// write-like system calls, whether or not they reach a disk, and misses
// writes made through mmap (Badger's value log and memtable logs).
type ioCounters struct {
	rchar, wchar, readBytes, writeBytes, cancelledWriteBytes int64
	ok                                                       bool
}

// readIO reads /proc/self/io; ok is false where it does not exist.
func readIO() ioCounters {
	var c ioCounters
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return c
	}
	c.ok = true
	for _, line := range bytes.Split(data, []byte("\n")) {
		name, val, found := bytes.Cut(line, []byte(": "))
		if !found {
			continue
		}
		n, _ := strconv.ParseInt(string(val), 10, 64)
		switch string(name) {
		case "rchar":
			c.rchar = n
		case "wchar":
			c.wchar = n
		case "read_bytes":
			c.readBytes = n
		case "write_bytes":
			c.writeBytes = n
		case "cancelled_write_bytes":
			c.cancelledWriteBytes = n
		}
	}
	return c
}

// sub returns c - o, field by field.
func (c ioCounters) sub(o ioCounters) ioCounters {
	return ioCounters{
		rchar: c.rchar - o.rchar, wchar: c.wchar - o.wchar,
		readBytes: c.readBytes - o.readBytes, writeBytes: c.writeBytes - o.writeBytes,
		cancelledWriteBytes: c.cancelledWriteBytes - o.cancelledWriteBytes,
		ok:                  c.ok && o.ok,
	}
}

// memStatus is the part of /proc/self/status the harness reports, in bytes:
// the peak resident set (VmHWM: anonymous memory, file mappings and shared
// memory) and the anonymous part now (RssAnon: heaps, Go's and any other).
type memStatus struct {
	vmHWM, vmRSS, rssAnon int64
}

func readMemStatus() memStatus {
	var m memStatus
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		name, val, found := bytes.Cut(line, []byte(":"))
		if !found {
			continue
		}
		var dst *int64
		switch string(name) {
		case "VmHWM":
			dst = &m.vmHWM
		case "VmRSS":
			dst = &m.vmRSS
		case "RssAnon":
			dst = &m.rssAnon
		default:
			continue
		}
		val = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(val), []byte("kB")))
		n, _ := strconv.ParseInt(string(val), 10, 64)
		*dst = n << 10
	}
	return m
}

// rssSampler polls RssAnon every interval and keeps the largest value: the
// kernel keeps a peak for the whole resident set (VmHWM) but not for its
// anonymous part.
type rssSampler struct {
	peak atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
}

func startRSSSampler(every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{})}
	s.observe()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.observe()
			}
		}
	}()
	return s
}

func (s *rssSampler) observe() {
	a := readMemStatus().rssAnon
	for {
		p := s.peak.Load()
		if a <= p || s.peak.CompareAndSwap(p, a) {
			return
		}
	}
}

// finish stops polling and returns the peak seen.
func (s *rssSampler) finish() int64 {
	close(s.stop)
	s.wg.Wait()
	s.observe()
	return s.peak.Load()
}

// dirUsage returns what dir (with subdirectories) holds: allocated bytes
// (blocks, what du reports: sparse and preallocated files count what they
// really occupy) and apparent bytes (file sizes).
func dirUsage(dir string) (allocated, apparent int64, err error) {
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		apparent += info.Size()
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			allocated += st.Blocks * 512
		} else {
			allocated += info.Size()
		}
		return nil
	})
	return allocated, apparent, err
}

// processCPU returns the CPU time (user and system) the process has used so
// far, in seconds; 0 where getrusage fails.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
