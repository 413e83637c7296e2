package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := Line{W: &buf, Enabled: true}
	p.name, p.total, p.start = "fillrandom", 1000, time.Now().Add(-time.Second)
	p.Done.Store(250)
	p.draw()
	line := buf.String()
	if !strings.HasPrefix(line, "\rfillrandom: 250/1000 ops") || !strings.Contains(line, "ops/s") || !strings.Contains(line, "ETA") {
		t.Fatalf("progress line %q", line)
	}
	p.stop = make(chan struct{})
	p.wg.Add(1)
	go p.loop()
	p.End()
	if !strings.HasSuffix(buf.String(), "\r") {
		t.Fatalf("end did not erase the line: %q", buf.String())
	}
	if IsTerminal(&buf) {
		t.Fatal("a buffer is not a terminal")
	}
}
