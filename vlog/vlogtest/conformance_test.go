package vlogtest_test

import (
	"testing"

	"github.com/nokv/nokv/vlog"
	"github.com/nokv/nokv/vlog/inline"
	"github.com/nokv/nokv/vlog/vlogtest"
)

func TestConformanceVlog(t *testing.T) { vlogtest.RunConformance(t, vlog.New) }

// A small segment size makes the suite cross segment boundaries.
func TestConformanceVlogSmallSegments(t *testing.T) {
	vlogtest.RunConformance(t, vlog.NewWithOptions(vlog.Options{SegmentSize: 1024}))
}

func TestConformanceInline(t *testing.T) { vlogtest.RunConformance(t, inline.New) }
