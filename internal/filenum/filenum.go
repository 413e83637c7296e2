// Package filenum names numbered files (log segments, value-log segments,
// tables): a zero-padded decimal number and an extension, and parses such
// names back, shared so that every kind of file is named and recognized the
// same way.
package filenum

import (
	"strconv"
	"strings"
)

// Format returns num in decimal, zero-padded to at least width digits,
// followed by ext (".wal", say).
func Format(num uint64, width int, ext string) string {
	s := strconv.FormatUint(num, 10)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s + ext
}

// Parse returns the number of a name made of decimal digits (any number of
// them, padded or not) followed by ext, or false if name is not one or the
// number does not fit in 64 bits.
func Parse(name, ext string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, ext)
	if !ok || digits == "" {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}
