package skiplist

import (
	"syscall"
	"unsafe"
)

// hugePage is the size of a transparent huge page on the platforms Go
// runs Linux on with 4 KiB base pages (amd64, arm64 with 4 KiB pages).
const hugePage = 2 << 20

// adviseHugePages asks the kernel to back the 2 MiB-aligned interior of buf
// with transparent huge pages (madvise MADV_HUGEPAGE), so that a search
// through a large memtable, a chain of dependent loads at random offsets,
// does not also miss the TLB at every node: 64 MiB of 4 KiB pages is 16,384
// TLB entries, of 2 MiB pages 32. It works fully on memory not yet touched
// (a fresh allocation from the operating system); memory the Go heap
// reuses may already be backed by small pages, which the kernel collapses
// later or never. It does nothing when buf holds no aligned 2 MiB or the
// kernel refuses (huge pages disabled: "never" in
// /sys/kernel/mm/transparent_hugepage/enabled). The memory stays the Go
// heap's: it is freed with the chunk as usual, and the advice stays with
// the address range, so objects the runtime later places there may get
// huge pages too (harmless).
func adviseHugePages(buf []byte) {
	if len(buf) < hugePage {
		return
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	from := (base + hugePage - 1) &^ (hugePage - 1)
	to := (base + uintptr(len(buf))) &^ (hugePage - 1)
	if to <= from {
		return
	}
	_ = syscall.Madvise(buf[from-base:to-base], syscall.MADV_HUGEPAGE)
}
