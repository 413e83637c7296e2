package backend

// Every test of this package (internal and external) runs with the version
// invariants checked at each install: a broken main run or buffer order
// panics at the install that caused it, not at a read much later.
func init() { invariants = true }
