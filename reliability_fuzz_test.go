package brook

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for the root package's decoders and validators; each has a
// committed seed corpus in testdata/fuzz/<name>. FuzzKeyPartition is in
// partitioner_test.go. scripts/test.sh runs each for a few seconds.

// FuzzDecodeOffsets checks that decodeOffsets never panics, accepts only
// records whose every entry is valid (a safe topic name, a partition in
// range, an offset not negative), and that what it accepts survives an
// encode-decode round trip unchanged.
func FuzzDecodeOffsets(f *testing.F) {
	f.Add(encodeOffsetsV1(offsetsDeltaV1, map[TopicPartition]int64{{Topic: "t", Partition: 0}: 5}))
	f.Add(encodeOffsetsV1(offsetsSnapshotV1, map[TopicPartition]int64{
		{Topic: "stock-price-update", Partition: 7}: 1 << 40, {Topic: "a", Partition: MaxPartitions}: 0}))
	f.Add(encodeOffsetsV1(offsetsSnapshotV1, nil))
	f.Add(encodeRecords(offsetsDelta, 7, 3, map[TopicPartition]int64{{Topic: "t", Partition: 0}: 5})[0].Value)
	f.Add(encodeRecords(offsetsSnapshot, 1, 1, map[TopicPartition]int64{
		{Topic: "stock-price-update", Partition: 7}: 1 << 40, {Topic: "a", Partition: MaxPartitions}: 0})[0].Value)
	f.Add(encodeDrop("orders"))
	f.Add([]byte{})
	f.Add([]byte{2, 0})
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeOffsets(b)
		if err != nil {
			if !errors.Is(err, errBadOffsets) || rec.entries != nil {
				t.Fatalf("decodeOffsets(%q) = %v, %v: want errBadOffsets and no entries", b, rec.entries, err)
			}
			return
		}
		for tp, off := range rec.entries {
			if !validName(tp.Topic) || tp.Partition < 0 || tp.Partition > MaxPartitions || off < 0 {
				t.Fatalf("decodeOffsets(%q) accepted %v = %d", b, tp, off)
			}
		}
		var again []byte
		switch rec.kind {
		case offsetsDeltaV1, offsetsSnapshotV1:
			again = encodeOffsetsV1(rec.kind, rec.entries)
		case offsetsDrop:
			again = encodeDrop(rec.topic)
		default:
			recs := encodeRecords(rec.kind, rec.gen, rec.nextID, rec.entries)
			if len(recs) != 1 {
				t.Fatalf("one record of %q encodes to %d", b, len(recs))
			}
			again = recs[0].Value
			if rec.kind == offsetsSnapshot && !rec.last {
				again[1] = 0
			}
		}
		rec2, err := decodeOffsets(again)
		if err != nil || rec2.kind != rec.kind || rec2.last != rec.last || rec2.gen != rec.gen ||
			rec2.nextID != rec.nextID || rec2.topic != rec.topic || !maps.Equal(rec.entries, rec2.entries) {
			t.Fatalf("round trip of %q: %+v %v, want %+v", b, rec2, err, rec)
		}
	})
}

// nameRule is Kafka's topic naming rule, written independently of
// validName as the fuzz oracle.
var nameRule = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// FuzzValidName checks validName against Kafka's rule, and that every name
// it accepts is one plain path element: joined to a data directory it
// names a direct child, never the directory itself, its parent, or
// anything outside.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"stock-price-update", "", ".", "..", "...", "a/b", "../x", `a\b`,
		strings.Repeat("x", 249), strings.Repeat("x", 250), "a\x00", "prix€", ".hidden", "-", "_"} {
		f.Add(s)
	}
	root := filepath.Join(string(filepath.Separator), "data", "topics")
	f.Fuzz(func(t *testing.T, s string) {
		ok := validName(s)
		if want := nameRule.MatchString(s) && s != "." && s != ".."; ok != want {
			t.Fatalf("validName(%q) = %v, Kafka's rule says %v", s, ok, want)
		}
		if !ok {
			return
		}
		p := filepath.Join(root, s)
		if filepath.Dir(p) != root || filepath.Base(p) != s || !filepath.IsLocal(s) {
			t.Fatalf("valid name %q leaves %s: %s", s, root, p)
		}
	})
}

// FuzzTopicMeta writes arbitrary bytes as a topic's topic.json and loads
// the topic as Open does: it must either load a topic whose configuration
// is valid and is what the file says, or fail with ErrCorrupt, naming the
// file; it must never panic and never fail otherwise.
func FuzzTopicMeta(f *testing.F) {
	valid, err := json.Marshal(topicMeta{Version: topicMetaVersion, Name: "f", Partitions: 2,
		RetentionAge: time.Hour, RetentionBytes: 1 << 30, MaxMessageBytes: 512, Sync: SyncNever, Created: time.Unix(1, 0).UTC()})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	for _, s := range []string{`{`, `null`, `[]`, `{}`, `{"version":1,"name":"f","partitions":1}`,
		`{"version":2,"name":"f","partitions":1}`, `{"version":1,"name":"g","partitions":1}`,
		`{"version":1,"name":"f","partitions":0}`, `{"version":1,"name":"f","partitions":1,"sync":255}`,
		`{"version":1,"name":"f","partitions":1,"retention_age_ns":-1}`,
		`{"version":1,"name":"f","partitions":1,"max_message_bytes":4611686018427387904}`,
		`{"version":1,"name":"f","partitions":1.5}`, `{"version":1,"name":"f","partitions":1,"name":"f"}`} {
		f.Add([]byte(s))
	}
	b, err := Open(f.TempDir(), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { b.Close() })
	dir := filepath.Join(b.dir, "topics", "f")
	f.Fuzz(func(t *testing.T, data []byte) {
		var probe struct{ Partitions int }
		if json.Unmarshal(data, &probe) == nil && probe.Partitions > 4 {
			t.Skip("valid metadata with many partitions: opening them is slow, and validation is tested below that")
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for p := range 5 { // partition directories, as a create leaves them
			if err := os.MkdirAll(filepath.Join(dir, strconv.Itoa(p)), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "topic.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		tp, err := loadTopic(b, "f")
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "topic.json") {
				t.Fatalf("loading %q: %v; want ErrCorrupt naming topic.json", data, err)
			}
			return
		}
		defer tp.close()
		var meta topicMeta
		if err := json.Unmarshal(data, &meta); err != nil {
			t.Fatalf("loaded %q, which is not JSON: %v", data, err)
		}
		cfg := tp.Config()
		if cfg.Partitions != meta.Partitions || tp.meta.MaxMessageBytes != meta.MaxMessageBytes ||
			cfg.RetentionAge != meta.RetentionAge || cfg.RetentionBytes != meta.RetentionBytes {
			t.Fatalf("loaded %q as %+v", data, cfg)
		}
		if err := cfg.validate(); err != nil {
			t.Fatalf("loaded %q with an invalid configuration: %v", data, err)
		}
	})
}
