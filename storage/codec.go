package storage

import (
	"encoding/binary"
	"hash/crc32"
	"time"
)

// Entry encoding (one WAL entry per record; see doc.go), format 2:
//
//	version   1 byte, entryVersion (2)
//	crc       4 bytes, little endian CRC32C (Castagnoli) of version || rest
//	batch     uvarint: follow<<1 | first, where follow is how many records
//	          of the same Append batch come after this one and first is 1
//	          on the batch's first record
//	body:
//	  timestamp   varint (zig-zag) Unix nanoseconds
//	  key         uvarint length, bytes
//	  headers     uvarint count, then per header: uvarint length, key
//	              bytes, uvarint length, value bytes
//	  value       uvarint length, bytes
//
// Format 1 is the same without the batch field; such entries are read as
// batches of one. The body must be consumed exactly: trailing bytes make
// the entry invalid.
const (
	entryVersion   = 2
	entryVersion1  = 1
	entryHeaderLen = 5 // version + crc
	// maxBatchField bounds the size of the batch field in encodedSize:
	// a batch has fewer than 2^31 records.
	maxBatchField = 5
)

// batchPos is where a record sits in its Append batch.
type batchPos struct {
	follow uint64 // records of the batch after this one
	first  bool   // the batch's first record
}

func (b batchPos) field() uint64 {
	f := b.follow << 1
	if b.first {
		f |= 1
	}
	return f
}

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	// crcVersion is the checksum state after the version byte.
	crcVersion = crc32.Update(0, castagnoli, []byte{entryVersion})
)

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func varintLen(x int64) int {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	return uvarintLen(ux)
}

// encodedSize returns the size appendEntry will produce for r. A zero
// Timestamp, which the writer replaces with the commit's time just before
// encoding, is counted at the largest size a timestamp can take, so the
// result is never below the size written.
func encodedSize(r *Record) int {
	n := entryHeaderLen + maxBatchField + binary.MaxVarintLen64
	if !r.Timestamp.IsZero() {
		n = entryHeaderLen + maxBatchField + varintLen(r.Timestamp.UnixNano())
	}
	n += uvarintLen(uint64(len(r.Key))) + len(r.Key)
	n += uvarintLen(uint64(len(r.Headers)))
	for i := range r.Headers {
		h := &r.Headers[i]
		n += uvarintLen(uint64(len(h.Key))) + len(h.Key)
		n += uvarintLen(uint64(len(h.Value))) + len(h.Value)
	}
	n += uvarintLen(uint64(len(r.Value))) + len(r.Value)
	return n
}

// frameSize is the size of an entry of n bytes inside a tidwall/wal binary
// segment: uvarint(n) followed by the entry.
func frameSize(n int) int64 { return int64(uvarintLen(uint64(n)) + n) }

// appendEntry appends the encoding of r, a batch of one, to dst.
func appendEntry(dst []byte, r *Record) []byte {
	return appendEntryTS(dst, r, r.Timestamp.UnixNano(), batchPos{first: true})
}

// appendEntryTS is appendEntry with r.Timestamp.UnixNano() given as ts and
// r's place in its batch.
func appendEntryTS(dst []byte, r *Record, ts int64, bp batchPos) []byte {
	start := len(dst)
	dst = append(dst, entryVersion, 0, 0, 0, 0)
	dst = binary.AppendUvarint(dst, bp.field())
	dst = binary.AppendVarint(dst, ts)
	dst = binary.AppendUvarint(dst, uint64(len(r.Key)))
	dst = append(dst, r.Key...)
	dst = binary.AppendUvarint(dst, uint64(len(r.Headers)))
	for i := range r.Headers {
		h := &r.Headers[i]
		dst = binary.AppendUvarint(dst, uint64(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = binary.AppendUvarint(dst, uint64(len(h.Value)))
		dst = append(dst, h.Value...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(r.Value)))
	dst = append(dst, r.Value...)
	binary.LittleEndian.PutUint32(dst[start+1:], entryCRC(dst[start:]))
	return dst
}

// entryCRC computes the checksum of entry e (which is at least
// entryHeaderLen long): the version byte and the body.
func entryCRC(e []byte) uint32 {
	c := crcVersion
	if e[0] != entryVersion {
		c = crc32.Update(0, castagnoli, e[:1])
	}
	return crc32.Update(c, castagnoli, e[entryHeaderLen:])
}

// decodeEntry checks entry e (version, checksum, structure) and, when rec
// is not nil, fills it. Key, Value and header values alias e. It returns
// the timestamp, or a reason when e is invalid. It never panics.
func decodeEntry(e []byte, rec *Record) (ts int64, reason string) {
	ts, _, reason = decode(e, rec, true)
	return ts, reason
}

// decode is decodeEntry, also returning the record's place in its batch,
// and checking the checksum only when verify is set.
func decode(e []byte, rec *Record, verify bool) (ts int64, bp batchPos, reason string) {
	if len(e) < entryHeaderLen {
		return 0, bp, "entry too short"
	}
	if e[0] != entryVersion && e[0] != entryVersion1 {
		return 0, bp, "unknown entry version"
	}
	if verify && binary.LittleEndian.Uint32(e[1:]) != entryCRC(e) {
		return 0, bp, "checksum mismatch"
	}
	bp, body, ok := splitEntry(e)
	if ok {
		ts, ok = parseBody(body, rec)
	}
	if !ok {
		return 0, bp, "malformed entry"
	}
	return ts, bp, ""
}

// splitEntry returns an entry's place in its batch and its body. A format 1
// entry is a batch of one.
func splitEntry(e []byte) (batchPos, []byte, bool) {
	if e[0] == entryVersion1 {
		return batchPos{first: true}, e[entryHeaderLen:], true
	}
	r := reader{b: e[entryHeaderLen:], ok: true}
	f := r.uvarint()
	if !r.ok || f>>1 >= 1<<31 {
		return batchPos{}, nil, false
	}
	return batchPos{follow: f >> 1, first: f&1 == 1}, r.b, true
}

// plausibleEntry is a cheap structural check used before computing a
// checksum when scanning damaged bytes.
func plausibleEntry(e []byte) bool {
	if len(e) < entryHeaderLen || (e[0] != entryVersion && e[0] != entryVersion1) {
		return false
	}
	_, body, ok := splitEntry(e)
	if ok {
		_, ok = parseBody(body, nil)
	}
	return ok
}

// reader is a bounds-checked cursor over an entry body.
type reader struct {
	b  []byte
	ok bool
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n != uvarintLen(v) { // only the canonical encoding
		r.ok = false
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if !r.ok || n > uint64(len(r.b)) {
		r.ok = false
		r.b = nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	if n == 0 {
		return nil
	}
	return v
}

// parseBody parses an entry body into rec (if not nil).
func parseBody(b []byte, rec *Record) (ts int64, ok bool) {
	ts, n := binary.Varint(b)
	if n <= 0 || n != varintLen(ts) {
		return 0, false
	}
	r := reader{b: b[n:], ok: true}
	key := r.bytes()
	nh := r.uvarint()
	if !r.ok || nh > uint64(len(r.b))/2 { // each header takes at least 2 bytes
		return 0, false
	}
	var hs []Header
	if rec != nil && nh > 0 {
		hs = make([]Header, nh)
	}
	for i := uint64(0); i < nh; i++ {
		hk := r.bytes()
		hv := r.bytes()
		if hs != nil {
			hs[i] = Header{Key: string(hk), Value: hv}
		}
	}
	val := r.bytes()
	if !r.ok || len(r.b) != 0 {
		return 0, false
	}
	if rec != nil {
		rec.Timestamp = time.Unix(0, ts).UTC()
		rec.Key = key
		rec.Headers = hs
		rec.Value = val
	}
	return ts, true
}

// nextFrame parses the tidwall/wal frame at the start of b. It returns the
// entry and the frame's total size; complete is false when b holds only a
// prefix of the frame (need is then the frame's size if the length prefix
// is readable, else 0). bad is true when the length prefix is invalid.
func nextFrame(b []byte) (entry []byte, size int, complete bool, need int64, bad bool) {
	n, k := binary.Uvarint(b)
	if k < 0 {
		return nil, 0, false, 0, true
	}
	if k == 0 {
		if len(b) >= binary.MaxVarintLen64 {
			return nil, 0, false, 0, true
		}
		return nil, 0, false, 0, false
	}
	if n > uint64(len(b)-k) {
		if n > 1<<40 {
			return nil, 0, false, 0, true
		}
		return nil, 0, false, int64(k) + int64(n), false
	}
	return b[k : k+int(n)], k + int(n), true, 0, false
}
