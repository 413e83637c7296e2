//go:build !linux

package skiplist

// adviseHugePages does nothing outside Linux.
func adviseHugePages([]byte) {}
