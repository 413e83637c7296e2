package manifest

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/nokv/nokv/iface"
)

// TableEntry is a table added to a level: to its main run, or to shard Shard
// of its ingest buffer when Ingest is set.
type TableEntry struct {
	Level int             // level the table joins, 0 to MaxLevels-1
	Meta  iface.TableMeta // the table's metadata (Meta.Seq is persisted)
	// Ingest places the table in the level's ingest buffer, in shard Shard
	// (0 to MaxIngestShards-1); Shard is ignored without Ingest.
	Ingest bool
	Shard  int
}

// extended reports whether a needs the ordered add-table field (tag 12):
// it joins an ingest buffer or carries an explicit Seq. Other tables use
// tag 6, which every NoKV reads.
func (a *TableEntry) extended() bool { return a.Ingest || a.Meta.Seq != 0 }

// TableRef names a table removed from a level.
type TableRef struct {
	Level int    // level the table is in
	ID    uint64 // the table's file number
}

// Edit is one atomic change to the store's metadata. The zero Edit changes
// nothing. Within an edit, DeleteTables take effect before AddTables, so a
// table may be moved between levels by deleting and re-adding its ID.
//
// Later formats will add region descriptors (id, key range, epoch, peers)
// as new tagged fields; see the package documentation for the reserved tags.
type Edit struct {
	// Components sets the names of on-disk components, e.g. "table" ->
	// "sstable/v1", "valuestore" -> "inline". Names not mentioned keep their
	// value.
	Components map[string]string
	// LogCheckpoint, if set, moves the write-ahead-log checkpoint: every
	// record before it is in tables. It never moves backwards.
	LogCheckpoint *iface.LogPosition
	// NextFileNum, if not 0, raises the next file number; the state keeps
	// the largest value it has seen.
	NextFileNum uint64
	// LastVersion, if not 0, raises the last committed version; the state
	// keeps the largest value it has seen.
	LastVersion uint64
	// AddTables lists tables to add.
	AddTables []TableEntry
	// DeleteTables lists tables to remove.
	DeleteTables []TableRef
	// ValueLogHead, if set, records the value log's head as of the data the
	// tables hold: every value before it has its pointer in a table, so
	// value-log GC may work on the segments below its segment. It never
	// moves backwards.
	ValueLogHead *iface.ValuePtr
	// AddValueSegments lists value-log segments that join the live set: a
	// segment is recorded at the latest by the flush edit whose head is in
	// it or past it (so every segment below the head is recorded). Each
	// must not be live already.
	AddValueSegments []uint32
	// DropValueSegments lists value-log segments that leave the live set:
	// GC records the drop after it rewrote the segment's live values and
	// before it deletes the file. Each must be live.
	DropValueSegments []uint32
}

// Field tags of the edit encoding (see the package documentation).
const (
	tagComponent     = 1
	tagLogCheckpoint = 2
	tagNextFileNum   = 3
	tagLastVersion   = 4
	tagDeleteTable   = 5
	tagAddTable      = 6
	tagValueLogHead  = 7
	tagAddTableSeq   = 12
	// tagLast is the largest tag this build reads; tags below it that are
	// still in reservedTags are not read either (see knownTag).
	tagLast = tagAddTableSeq
)

// Value-log live-set tags: each field carries one segment number, and both
// may repeat.
const (
	tagValueSegmentAdded   = 8
	tagValueSegmentDropped = 9
)

// MaxIngestShards bounds the shard number of an ingest-buffer table.
const MaxIngestShards = 1 << 10

// knownTag reports whether this build reads tag (1 to tagLast, minus the
// tags still reserved for later formats).
func knownTag(tag uint64) bool {
	_, reserved := reservedTags[tag]
	return tag >= 1 && tag <= tagLast && !reserved
}

// reservedTags names the tags set aside for later formats.
var reservedTags = map[uint64]string{
	10: "region descriptor",
	11: "region removed",
}

// IsEmpty reports whether e changes nothing.
func (e *Edit) IsEmpty() bool {
	return len(e.Components) == 0 && e.LogCheckpoint == nil && e.NextFileNum == 0 &&
		e.LastVersion == 0 && len(e.AddTables) == 0 && len(e.DeleteTables) == 0 && e.ValueLogHead == nil &&
		len(e.AddValueSegments) == 0 && len(e.DropValueSegments) == 0
}

// Encode appends the encoding of e to dst and returns it. The encoding is
// deterministic: the same edit always encodes to the same bytes.
func (e *Edit) Encode(dst []byte) []byte {
	var body []byte
	if len(e.Components) > 0 {
		names := make([]string, 0, len(e.Components))
		for name := range e.Components {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			body = appendString(body[:0], name)
			body = appendString(body, e.Components[name])
			dst = appendField(dst, tagComponent, body)
		}
	}
	if e.LogCheckpoint != nil {
		body = binary.AppendUvarint(body[:0], e.LogCheckpoint.Segment)
		body = binary.AppendVarint(body, e.LogCheckpoint.Offset)
		dst = appendField(dst, tagLogCheckpoint, body)
	}
	if e.NextFileNum != 0 {
		dst = appendField(dst, tagNextFileNum, binary.AppendUvarint(body[:0], e.NextFileNum))
	}
	if e.LastVersion != 0 {
		dst = appendField(dst, tagLastVersion, binary.AppendUvarint(body[:0], e.LastVersion))
	}
	for _, d := range e.DeleteTables {
		body = binary.AppendVarint(body[:0], int64(d.Level))
		body = binary.AppendUvarint(body, d.ID)
		dst = appendField(dst, tagDeleteTable, body)
	}
	for _, a := range e.AddTables {
		m := &a.Meta
		body = binary.AppendVarint(body[:0], int64(a.Level))
		tag := uint64(tagAddTable)
		if a.extended() {
			tag = tagAddTableSeq
			shard := int64(-1)
			if a.Ingest {
				shard = int64(a.Shard)
			}
			body = binary.AppendVarint(body, shard)
			body = binary.AppendUvarint(body, m.Seq)
		}
		body = binary.AppendUvarint(body, m.ID)
		body = binary.AppendVarint(body, m.Size)
		body = appendBytes(body, m.Smallest)
		body = appendBytes(body, m.Largest)
		body = binary.AppendUvarint(body, m.Entries)
		body = binary.AppendUvarint(body, m.Deletions)
		body = binary.AppendUvarint(body, m.MinVersion)
		body = binary.AppendUvarint(body, m.MaxVersion)
		dst = appendField(dst, tag, body)
	}
	if h := e.ValueLogHead; h != nil {
		body = binary.AppendUvarint(body[:0], uint64(h.Segment))
		body = binary.AppendUvarint(body, uint64(h.Offset))
		dst = appendField(dst, tagValueLogHead, body)
	}
	for _, seg := range e.AddValueSegments {
		dst = appendField(dst, tagValueSegmentAdded, binary.AppendUvarint(body[:0], uint64(seg)))
	}
	for _, seg := range e.DropValueSegments {
		dst = appendField(dst, tagValueSegmentDropped, binary.AppendUvarint(body[:0], uint64(seg)))
	}
	return dst
}

func appendField(dst []byte, tag uint64, body []byte) []byte {
	dst = binary.AppendUvarint(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(body)))
	return append(dst, body...)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// DecodeEdit decodes an edit encoded by Edit.Encode. The result does not
// alias b. Malformed input yields an error matching iface.ErrCorruption; a
// field tag this build does not know yields an error that also matches
// iface.ErrIncompatible (the edit may come from a newer NoKV).
func DecodeEdit(b []byte) (*Edit, error) {
	e := &Edit{}
	var seen [tagLast + 1]bool
	d := decoder{b: b}
	for !d.done() {
		start := d.off
		tag := d.uvarint("field tag")
		n := d.uvarint("field length")
		if d.err != nil {
			return nil, d.err
		}
		if n > uint64(len(b)-d.off) {
			return nil, corruptEdit(start, "field tag %d claims %d bytes, %d remain", tag, n, len(b)-d.off)
		}
		body := decoder{b: b[:d.off+int(n)], off: d.off}
		d.off += int(n)
		if tag == 0 {
			return nil, corruptEdit(start, "field tag 0 is invalid")
		}
		if tag > tagLast || !knownTag(tag) {
			return nil, &unknownTagError{tag: tag, off: start}
		}
		if seen[tag] && tag != tagComponent && tag != tagDeleteTable && tag != tagAddTable && tag != tagAddTableSeq &&
			tag != tagValueSegmentAdded && tag != tagValueSegmentDropped {
			return nil, corruptEdit(start, "field tag %d repeated", tag)
		}
		seen[tag] = true
		switch tag {
		case tagComponent:
			name := string(body.bytes("component name"))
			value := string(body.bytes("component value"))
			if body.err == nil {
				if _, dup := e.Components[name]; dup {
					return nil, corruptEdit(start, "component %q repeated", name)
				}
				if e.Components == nil {
					e.Components = make(map[string]string)
				}
				e.Components[name] = value
			}
		case tagLogCheckpoint:
			seg := body.uvarint("checkpoint segment")
			off := body.varint("checkpoint offset")
			e.LogCheckpoint = &iface.LogPosition{Segment: seg, Offset: off}
		case tagNextFileNum:
			e.NextFileNum = body.uvarint("next file number")
		case tagLastVersion:
			e.LastVersion = body.uvarint("last version")
		case tagDeleteTable:
			level := body.level()
			id := body.uvarint("table id")
			e.DeleteTables = append(e.DeleteTables, TableRef{Level: level, ID: id})
		case tagAddTable, tagAddTableSeq:
			var a TableEntry
			a.Level = body.level()
			if tag == tagAddTableSeq {
				off := body.off
				shard := body.varint("shard")
				if shard < -1 || shard >= MaxIngestShards {
					return nil, corruptEdit(off, "ingest shard %d out of range", shard)
				}
				a.Ingest, a.Shard = shard >= 0, int(max(shard, 0))
				a.Meta.Seq = body.uvarint("seq")
			}
			a.Meta.ID = body.uvarint("table id")
			a.Meta.Size = body.varint("table size")
			a.Meta.Smallest = cloneBytes(body.bytes("smallest key"))
			a.Meta.Largest = cloneBytes(body.bytes("largest key"))
			a.Meta.Entries = body.uvarint("entries")
			a.Meta.Deletions = body.uvarint("deletions")
			a.Meta.MinVersion = body.uvarint("min version")
			a.Meta.MaxVersion = body.uvarint("max version")
			e.AddTables = append(e.AddTables, a)
		case tagValueLogHead:
			seg := body.uvarint("value-log head segment")
			off := body.uvarint("value-log head offset")
			if seg > 1<<32-1 || off > 1<<32-1 {
				return nil, corruptEdit(start, "value-log head %d:%d out of range", seg, off)
			}
			e.ValueLogHead = &iface.ValuePtr{Segment: uint32(seg), Offset: uint32(off)}
		case tagValueSegmentAdded, tagValueSegmentDropped:
			seg := body.uvarint("value-log segment")
			if seg > 1<<32-1 {
				return nil, corruptEdit(start, "value-log segment %d out of range", seg)
			}
			if tag == tagValueSegmentAdded {
				e.AddValueSegments = append(e.AddValueSegments, uint32(seg))
			} else {
				e.DropValueSegments = append(e.DropValueSegments, uint32(seg))
			}
		}
		if body.err != nil {
			return nil, body.err
		}
		if !body.done() {
			return nil, corruptEdit(body.off, "field tag %d has %d unread bytes", tag, len(body.b)-body.off)
		}
	}
	return e, nil
}

// cloneBytes copies b; an empty b becomes nil, so the copy never pins the
// buffer b came from.
func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

func corruptEdit(off int, format string, args ...any) error {
	return fmt.Errorf("%w: manifest edit at byte %d: %s", iface.ErrCorruption, off, fmt.Sprintf(format, args...))
}

// unknownTagError reports a field tag this build cannot read. It matches
// both iface.ErrIncompatible (a newer format) and iface.ErrCorruption (the
// decoder cannot tell a newer format from damage).
type unknownTagError struct {
	tag uint64
	off int
}

func (e *unknownTagError) Error() string {
	if name, ok := reservedTags[e.tag]; ok {
		return fmt.Sprintf("nokv: incompatible store: manifest edit at byte %d has field tag %d (%s), reserved for a later format this build does not read",
			e.off, e.tag, name)
	}
	return fmt.Sprintf("nokv: incompatible store: manifest edit at byte %d has unknown field tag %d (written by a newer NoKV?)", e.off, e.tag)
}

func (e *unknownTagError) Is(target error) bool {
	return target == iface.ErrIncompatible || target == iface.ErrCorruption
}

// decoder reads b from off; the first error sticks and later reads return
// zero values.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) done() bool { return d.off >= len(d.b) }

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.err = corruptEdit(d.off, "bad or truncated varint (%s)", what)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.err = corruptEdit(d.off, "bad or truncated varint (%s)", what)
		return 0
	}
	d.off += n
	return v
}

// level reads a level number; State.Apply checks its range, the decoder only
// that it fits an int.
func (d *decoder) level() int {
	off := d.off
	v := d.varint("level")
	if int64(int(v)) != v {
		d.err = corruptEdit(off, "level %d out of range", v)
		return 0
	}
	return int(v)
}

// bytes reads a length-prefixed byte string, aliasing d.b.
func (d *decoder) bytes(what string) []byte {
	off := d.off
	n := d.uvarint(what + " length")
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.err = corruptEdit(off, "%s of %d bytes, %d remain", what, n, len(d.b)-d.off)
		return nil
	}
	b := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return b
}
