package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progressEvery is how often the progress line is redrawn.
const progressEvery = 2 * time.Second

// progress draws one line on stderr while a workload runs: ops done, rate
// and an estimate of the time left, redrawn in place with \r every
// progressEvery. A workload shorter than that never draws it. The workload
// publishes its count in done; a nil or disabled progress costs only that
// atomic store.
type progress struct {
	w       io.Writer
	enabled bool
	done    atomic.Int64

	name  string
	total int64
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
	width int // length of the line drawn last; 0 if none is showing
}

// isTerminal reports whether w is a character device (a terminal), without
// any package beyond os.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// begin starts drawing for a workload of total ops.
func (p *progress) begin(name string, total int64) {
	p.done.Store(0)
	if !p.enabled {
		return
	}
	p.name, p.total, p.start = name, total, time.Now()
	p.stop = make(chan struct{})
	p.wg.Add(1)
	go p.loop()
}

func (p *progress) loop() {
	defer p.wg.Done()
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.draw()
		}
	}
}

func (p *progress) draw() {
	done := p.done.Load()
	secs := time.Since(p.start).Seconds()
	rate := float64(done) / secs
	line := fmt.Sprintf("%s: %d/%d ops, %.0f ops/s", p.name, done, p.total, rate)
	if rate > 0 && done < p.total {
		eta := time.Duration(float64(p.total-done) / rate * float64(time.Second)).Round(time.Second)
		line += fmt.Sprintf(", ETA %v", eta)
	}
	pad := ""
	if len(line) < p.width {
		pad = strings.Repeat(" ", p.width-len(line))
	}
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
	p.width = len(line)
}

// end stops drawing and erases the line, so the next output starts clean.
func (p *progress) end() {
	if !p.enabled || p.stop == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.stop = nil
	if p.width > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
		p.width = 0
	}
}
