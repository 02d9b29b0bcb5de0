package kafkaserver

import (
	"bufio"
	"encoding/binary"
	"io"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The largest buffers of a connection are reused through one pool shared
// by the server's connections, so that an idle connection holds none:
//
//   - Produce request frames (a kgo client sends up to 1 MiB per
//     partition): allocating each one zeroed costs more than decoding it.
//     A Produce's frame is returned when every append of the request is
//     acknowledged; by then the log holds its own copy of every record
//     (brook.Message fields alias the frame until then). The frames of
//     every other request are allocated: their decoded bodies may keep
//     slices of the frame (a group member's metadata, say) for as long as
//     they like.
//   - Large Fetch responses, encoded into a buffer sized for them up front
//     rather than grown by append (which copied a 8 MiB response about
//     five times over) and returned once written.

// maxPooledFrame bounds the buffers kept for reuse.
const maxPooledFrame = 16 << 20

// framePool holds *[]byte buffers.
var framePool sync.Pool

// getBuffer returns a pooled buffer of capacity at least n, empty.
func getBuffer(n int) *[]byte {
	if bp, ok := framePool.Get().(*[]byte); ok && cap(*bp) >= n {
		*bp = (*bp)[:0]
		return bp
	}
	b := make([]byte, 0, n)
	return &b
}

// putBuffer returns a buffer to the pool, unless it is too large to keep.
func putBuffer(bp *[]byte) {
	if cap(*bp) <= maxPooledFrame {
		framePool.Put(bp)
	}
}

// responseSizeHint is about the encoded size of resp when it is a Fetch
// response (its record batches and some room for the fields around them),
// else 0.
func responseSizeHint(resp kmsg.Response) int {
	f, ok := resp.(*kmsg.FetchResponse)
	if !ok {
		return 0
	}
	n := 256
	for i := range f.Topics {
		n += 64 + len(f.Topics[i].Topic)
		for j := range f.Topics[i].Partitions {
			n += 128 + len(f.Topics[i].Partitions[j].RecordBatches)
		}
	}
	return n + n/64
}

// readFrame reads one size-prefixed frame of at most max bytes. The frame
// of a Produce request comes from framePool; pooled says so, and the
// caller returns it with releaseFrame once nothing refers to it.
func readFrame(r *bufio.Reader, max int) (frame []byte, pooled bool, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, false, err
	}
	n := int32(binary.BigEndian.Uint32(hdr[:]))
	if n < 8 || int64(n) > int64(max) {
		return nil, false, errFrame
	}
	if key, err := r.Peek(2); err == nil && binary.BigEndian.Uint16(key) == uint16(produceAPI.key) && n <= maxPooledFrame {
		frame, pooled = (*getBuffer(int(n)))[:n], true
	} else {
		frame = make([]byte, n)
	}
	if _, err := io.ReadFull(r, frame); err != nil {
		return nil, false, err
	}
	return frame, pooled, nil
}

// releaseFrame returns a pooled frame for reuse.
func releaseFrame(frame []byte) { putBuffer(&frame) }
