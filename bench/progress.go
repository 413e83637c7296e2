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

// progressEvery is how often the progress line is redrawn; a workload that
// ends sooner never draws one.
const progressEvery = 2 * time.Second

// progress draws one line on stderr while a workload runs: label, workload,
// ops done out of the total, rate and time left, redrawn in place. Workers
// add to done; that atomic add is all it costs them.
type progress struct {
	w       io.Writer
	enabled bool
	label   string
	done    atomic.Int64

	name  string
	total int64
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
	width int
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// begin starts the line for a workload of total ops.
func (p *progress) begin(name string, total int64) {
	p.done.Store(0)
	if !p.enabled {
		return
	}
	p.name, p.total, p.start = name, total, time.Now()
	p.stop = make(chan struct{})
	p.wg.Add(1)
	go func() {
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
	}()
}

func (p *progress) draw() {
	done := p.done.Load()
	rate := float64(done) / time.Since(p.start).Seconds()
	line := fmt.Sprintf("%s%s: %d/%d ops, %.0f ops/s", p.label, p.name, done, p.total, rate)
	if rate > 0 && done < p.total {
		line += fmt.Sprintf(", ETA %v", time.Duration(float64(p.total-done)/rate*1e9).Round(time.Second))
	}
	pad := ""
	if len(line) < p.width {
		pad = strings.Repeat(" ", p.width-len(line))
	}
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
	p.width = len(line)
}

// end stops the line and erases it.
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
