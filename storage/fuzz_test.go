package storage

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzDecodeEntry checks that the decoder never panics and that whatever
// it accepts re-encodes to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	for _, r := range []Record{
		{},
		{Timestamp: time.Unix(0, -5), Key: []byte("k"), Value: []byte("v")},
		{Timestamp: time.Unix(1700000000, 1), Headers: []Header{{Key: "a", Value: []byte("b")}, {Key: "", Value: nil}}, Value: bytes.Repeat([]byte("x"), 300)},
	} {
		f.Add(appendEntry(nil, &r))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0})
	// A format 1 entry (no batch field): key "k", value "v".
	f.Add([]byte{0x1, 0x2e, 0xd0, 0x64, 0xc8, 0x9, 0x1, 0x6b, 0x0, 0x1, 0x76})
	r := Record{Value: []byte("v")}
	f.Add(appendEntryTS(nil, &r, 7, batchPos{follow: 3, first: true}))
	f.Fuzz(func(t *testing.T, e []byte) {
		var r Record
		ts, bp, reason := decode(e, &r, true)
		if reason != "" {
			return
		}
		assert.Equal(t, ts, r.Timestamp.UnixNano())
		assert.True(t, plausibleEntry(e))
		if e[0] == entryVersion1 {
			assert.Equal(t, batchPos{first: true}, bp, "a format 1 entry is a batch of one")
			return
		}
		assert.Equal(t, len(e), encodedSize(&r)-maxBatchField+uvarintLen(bp.field()))
		assert.Equal(t, e, appendEntryTS(nil, &r, ts, bp))
	})
}

// FuzzRecover truncates and patches the last segment of a good log, then
// opens it. Open must not panic; it either fails with ErrCorrupt or gives
// a log whose records are all valid and which keeps every record that
// ended before the first damaged byte.
func FuzzRecover(f *testing.F) {
	f.Add(uint16(0xffff), []byte{}, uint16(0))
	f.Add(uint16(200), []byte{}, uint16(0))
	f.Add(uint16(0xffff), make([]byte, 64), uint16(0xffff))
	f.Add(uint16(0xffff), []byte{0xff, 0xff, 0xff}, uint16(60))
	f.Add(uint16(0xffff), []byte{0x5a}, uint16(33))
	f.Fuzz(func(t *testing.T, cut uint16, patch []byte, at uint16) {
		dir := t.TempDir()
		l, err := Open(dir, &Options{SegmentSize: 1 << 20})
		require.NoError(t, err)
		for i := 0; i < 10; i++ {
			appendN(t, l, i, 1)
		}
		require.NoError(t, l.Close())
		path := filepath.Join(dir, segmentName(0))
		ends := frameStarts(t, path)[1:]
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		damage := min(int(cut), len(data))
		data = data[:damage]
		if len(patch) > 0 {
			p := int(at) % (len(data) + 1)
			data = append(data[:p], append(patch, data[min(p+len(patch), len(data)):]...)...)
			damage = min(damage, p)
		}
		require.NoError(t, os.WriteFile(path, data, 0o600))

		l, err = Open(dir, nil)
		if err != nil {
			require.True(t, errors.Is(err, ErrCorrupt), "%v", err)
			return
		}
		defer l.Close()
		intact := 0
		for intact < len(ends) && ends[intact] <= damage {
			intact++
		}
		require.GreaterOrEqual(t, l.NextOffset(), int64(intact))
		recs := readAll(t, l, 0)
		requireRecs(t, recs[:intact], 0)
		_, err = l.Append(context.Background(), []Record{rec(0)})
		require.NoError(t, err)
	})
}
