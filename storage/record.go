package storage

import "time"

// Header is one key/value pair attached to a record. Keys need not be
// unique; order is preserved.
type Header struct {
	Key   string
	Value []byte
}

// Record is one entry of the log.
//
// A nil and an empty Key, Value or header Value are stored the same way and
// read back as nil.
type Record struct {
	// Offset is the record's position in the log, assigned by Append.
	Offset int64
	// Timestamp is stored as Unix nanoseconds (so only times between the
	// years 1678 and 2262 round-trip, and the location is not kept: Read
	// returns UTC times). Append sets it when it is zero, to the time of
	// the group commit that writes the record.
	Timestamp time.Time
	Key       []byte
	Headers   []Header
	Value     []byte
}

// EncodedSize returns the size of r's entry: the bytes Append hands
// tidwall/wal for it (format version, checksum, timestamp, key, headers
// and value, without the wal's own length prefix). A zero Timestamp, which
// Append replaces, counts at its largest size. Records up to
// Options.MaxRecordSize by this measure are accepted.
func EncodedSize(r *Record) int { return encodedSize(r) }
