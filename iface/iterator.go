package iface

// Iterator walks internal keys in Compare order, in either direction. Every
// component's iterator (memtable, table, level, merge) has this shape, so the
// engine can stack them.
//
// Positioning methods return Valid(). Key and Value alias memory owned by the
// iterator and stay valid only until the next positioning call; copy them to
// keep them. An Iterator is not safe for concurrent use. After an I/O or
// checksum failure Valid() is false and Err() says why. Next and Prev on an
// iterator that is not at an entry may return false or wrap around to First
// or Last; callers position an iterator with a seek, First or Last before
// stepping it.
type Iterator interface {
	// SeekGE moves to the first entry whose key is >= key (Compare order).
	SeekGE(key []byte) bool
	// SeekLT moves to the last entry whose key is < key.
	SeekLT(key []byte) bool
	// First moves to the first entry.
	First() bool
	// Last moves to the last entry.
	Last() bool
	// Next moves forward one entry.
	Next() bool
	// Prev moves back one entry.
	Prev() bool
	// Valid reports whether the iterator is at an entry.
	Valid() bool
	// Key returns the current internal key.
	Key() []byte
	// Value returns the current stored value (see EncodeValue).
	Value() []byte
	// Err returns the first error met, if any.
	Err() error
	// Close releases the iterator's resources and returns Err().
	Close() error
}
