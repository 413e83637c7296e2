// Package progress draws one status line on a terminal while a workload
// runs: label, workload, ops done out of the total, rate and time left,
// redrawn in place with \r every Every. A workload shorter than that never
// draws it. The workload publishes its count in Done; a disabled Line costs
// only that atomic update. `nokv bench` and the comparison harness share it.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Every is how often the line is redrawn.
const Every = 2 * time.Second

// Line is a progress line. Set W, Enabled and Label before Begin.
type Line struct {
	W       io.Writer
	Enabled bool
	Label   string       // printed before the workload's name
	Done    atomic.Int64 // ops done; the workload stores or adds to it

	name  string
	total int64
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
	width int // length of the line drawn last; 0 if none is showing
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Begin starts drawing for a workload of total ops.
func (p *Line) Begin(name string, total int64) {
	p.Done.Store(0)
	if !p.Enabled {
		return
	}
	p.name, p.total, p.start = name, total, time.Now()
	p.stop = make(chan struct{})
	p.wg.Add(1)
	go p.loop()
}

func (p *Line) loop() {
	defer p.wg.Done()
	t := time.NewTicker(Every)
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

func (p *Line) draw() {
	done := p.Done.Load()
	rate := float64(done) / time.Since(p.start).Seconds()
	line := fmt.Sprintf("%s%s: %d/%d ops, %.0f ops/s", p.Label, p.name, done, p.total, rate)
	if rate > 0 && done < p.total {
		eta := time.Duration(float64(p.total-done) / rate * float64(time.Second)).Round(time.Second)
		line += fmt.Sprintf(", ETA %v", eta)
	}
	pad := ""
	if len(line) < p.width {
		pad = strings.Repeat(" ", p.width-len(line))
	}
	fmt.Fprintf(p.W, "\r%s%s", line, pad)
	p.width = len(line)
}

// End stops drawing and erases the line, so the next output starts clean.
func (p *Line) End() {
	if !p.Enabled || p.stop == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.stop = nil
	if p.width > 0 {
		fmt.Fprintf(p.W, "\r%s\r", strings.Repeat(" ", p.width))
		p.width = 0
	}
}
