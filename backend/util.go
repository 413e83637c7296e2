package backend

import "bytes"

func compareUser(a, b []byte) int { return bytes.Compare(a, b) }

// prefixSuccessor returns the smallest key greater than every key with the
// prefix p, or nil if there is none (p is all 0xff).
func prefixSuccessor(p []byte) []byte {
	s := append([]byte(nil), p...)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] != 0xff {
			s[i]++
			return s[:i+1]
		}
	}
	return nil
}
