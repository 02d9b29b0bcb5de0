package kafkaserver

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Kafka's compression codecs, as numbered in a batch's attributes.
const (
	codecNone   = 0
	codecGzip   = 1
	codecSnappy = 2
	codecLZ4    = 3
	codecZstd   = 4
)

// decoders holds the decompressors shared by a server's connections.
type decoders struct {
	zstd *zstd.Decoder // DecodeAll is safe for concurrent use
}

func newDecoders() *decoders {
	z, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		panic(err) // only bad options fail, and these are constant
	}
	return &decoders{zstd: z}
}

func (d *decoders) close() { d.zstd.Close() }

// xerialMagic starts snappy data framed the way the Java client frames it.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// decompress returns the records of a batch, decompressed, refusing output
// larger than max bytes.
func (d *decoders) decompress(b []byte, codec, max int) ([]byte, error) {
	var (
		out []byte
		err error
	)
	switch codec {
	case codecNone:
		return b, nil
	case codecGzip:
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(b)); err == nil {
			out, err = readLimited(zr, max)
		}
	case codecSnappy:
		out, err = unsnappy(b, max)
	case codecLZ4:
		out, err = readLimited(lz4.NewReader(bytes.NewReader(b)), max)
	case codecZstd:
		out, err = d.zstd.DecodeAll(b, nil)
	default:
		return nil, fmt.Errorf("%w: unknown codec %d", errBatch, codec)
	}
	if err == nil && len(out) > max {
		err = fmt.Errorf("decompressed size above %d bytes", max)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: codec %d: %v", errBatch, codec, err)
	}
	return out, nil
}

func readLimited(r io.Reader, max int) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err == nil && len(out) > max {
		err = fmt.Errorf("decompressed size above %d bytes", max)
	}
	return out, err
}

// unsnappy decodes raw snappy or the xerial framing: the magic, two int32
// versions, then chunks of an int32 length and a snappy block.
func unsnappy(b []byte, max int) ([]byte, error) {
	if !bytes.HasPrefix(b, xerialMagic) {
		return snappyBlock(nil, b, max)
	}
	if len(b) < 16 {
		return nil, fmt.Errorf("short xerial header")
	}
	b = b[16:]
	var out []byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("short xerial chunk")
		}
		n := binary.BigEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			return nil, fmt.Errorf("xerial chunk past the data")
		}
		var err error
		if out, err = snappyBlock(out, b[4:4+n], max-len(out)); err != nil {
			return nil, err
		}
		b = b[4+n:]
	}
	return out, nil
}

// snappyBlock appends the decoding of one snappy block to dst.
func snappyBlock(dst, block []byte, max int) ([]byte, error) {
	n, err := s2.DecodedLen(block)
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("decompressed size above the limit")
	}
	out, err := s2.Decode(nil, block)
	if err != nil {
		return nil, err
	}
	return append(dst, out...), nil
}
