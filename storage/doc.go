// Package storage is one durable, append-only log of records for one
// partition: append a batch (group-committed), read from an offset, first
// and next offset, wait for new records, sync, drop old segments
// (retention), close. It knows nothing of topics or consumer groups.
//
// Segment files are managed by github.com/tidwall/wal (v1.2.1); this
// package owns the record encoding and its checksum, group commit, the
// fsync of files and directories, torn-tail repair, and reading, which it
// does itself with pread rather than through the wal.
//
// All methods of a Log are safe for concurrent use.
//
// # On-disk format
//
// A log is one directory (mode 0700) holding:
//
//   - segment files (mode 0600), named by the 20-digit, zero-padded WAL
//     index of their first entry (offset = WAL index - 1, so offset 0 is in
//     00000000000000000001). A segment is sealed when it reaches
//     Options.SegmentSize bytes; the last one is the tail.
//   - LOCK, an empty file locked with flock(2) while the log is open.
//   - corrupt-<unixnano>.bin, bytes that recovery cut from a torn tail,
//     kept for inspection and never read or removed by the log.
//
// A segment file is a sequence of tidwall/wal binary frames, one per
// record: uvarint(len(entry)) followed by the entry. An entry is:
//
//	version    1 byte, currently 2
//	crc        4 bytes, little-endian CRC-32C (Castagnoli) of the version
//	           byte followed by everything after the crc
//	batch      uvarint: follow<<1 | first, where follow is how many
//	           records of the same Append batch come after this one and
//	           first is 1 on the batch's first record
//	body:
//	  timestamp  varint (zig-zag) of Timestamp.UnixNano()
//	  key        uvarint length, bytes
//	  headers    uvarint count; for each: uvarint length, key bytes,
//	             uvarint length, value bytes
//	  value      uvarint length, bytes
//
// The body must be consumed exactly. Zero bytes, the usual leftovers of a
// power loss, never form a valid entry (an empty entry is invalid).
//
// Format 1, written before batch boundaries were recorded, is the same
// without the batch field; its entries are read as batches of one, so a
// log written by an older release opens and reads unchanged, and new
// appends to it are format 2. An older release does not know format 2: it
// reports a format-2 sealed segment as corrupt (ErrCorrupt) and would cut
// a tail segment's format-2 entries as a torn tail. Do not open a log
// with a release older than the one that wrote it.
//
// # Durability
//
// Every policy acknowledges a batch (Append returns, AppendAsync's done is
// called, NextOffset advances, readers see it) only after the batch's
// write(2) succeeded. What can be lost:
//
//   - SyncAlways (default): each group commit is fsynced, and so is the
//     directory when the commit created a segment file, before it is
//     acknowledged. A process crash or a power loss loses nothing
//     acknowledged. A batch not yet acknowledged may be lost, or (after
//     the write succeeded but before the fsync finished) may survive.
//   - SyncInterval: a process crash loses nothing acknowledged (the data is
//     in the kernel's page cache). A power loss or kernel crash loses at
//     most what was acknowledged in the last SyncInterval (plus the time an
//     fsync takes).
//   - SyncNever: a process crash loses nothing acknowledged. A power loss
//     loses whatever the kernel had not written back, which can be
//     anything since the last Sync or Close, or the last sealed segment
//     (tidwall/wal fsyncs a segment when it seals it).
//
// In every case what survives is a prefix of the log made of whole
// batches: appends are written in offset order by one goroutine, recovery
// cuts a torn tail, and every entry says how many records of its Append
// batch follow it, so recovery also cuts back to the start of a batch
// whose last record is missing, even when the batch spans a segment roll
// (the later segment is then removed and the earlier one cut). A batch
// is kept whole or not at all, as Kafka keeps a record batch.
//
// # Recovery
//
// Open reads and verifies every entry of the tail segment. At the first
// invalid one (truncated frame, bad length, unknown version, checksum
// mismatch, malformed body) it scans the rest of the file for any entry
// that is valid. If none exists, the damage is a torn tail: the bytes from
// the invalid entry on are saved to corrupt-<unixnano>.bin, the segment is
// truncated and fsynced, and Recovery and the Logger report it. If a valid
// entry follows, the damage is in the middle of the log and Open fails with
// a *CorruptError naming the segment and offset (with Options.OpenDamaged
// it opens the log failed instead: that error is its Damage, appends are
// refused, the segments before serve reads): data is never thrown away to
// make the log open, and never served.
//
// Sealed segments are verified when first read (one sequential scan, which
// also builds their sparse index); a damaged entry there, or a segment
// holding fewer entries than the next segment's name implies (what a
// missing segment file leaves), makes Read and OffsetForTime return a
// *CorruptError for that segment, while the segments before it stay
// readable. The first such damage a reader meets is remembered (Damage):
// from then on Append and AppendAsync refuse every batch with it, so that
// the log never keeps growing past a hole. Reopening does not clear it (a
// reader finds it again); Repair, the explicit operator action, does: it
// cuts the log at the first damage, saving every byte it removes to
// corrupt-*.bin files beside the log, and reports how many records were
// dropped. Nothing that is not a torn tail is ever dropped without it.
//
// A write or fsync error makes the log failed (ErrFailed, wrapping the
// cause): tidwall/wal's handle may be inconsistent after a failed write,
// so every later append and Sync fails until the log is closed and opened
// again, which recovers it like a crash. Nothing acknowledged before the
// failure is lost. The batch whose write failed was not acknowledged; it
// may or may not be present after reopening.
//
// # Caveats
//
//   - A power loss during an unacknowledged write, on a file system that
//     writes pages back out of order, can leave a hole followed by valid
//     entries at the tail. Open then refuses the log (ErrCorrupt) rather
//     than guess; Repair cuts it at the hole.
//   - Retention (TruncateFront) removes whole sealed segments only.
//   - Timestamps are stored as Unix nanoseconds: the time zone is not kept
//     and only the years 1678 to 2262 round-trip.
//
// # Memory
//
// One open log costs, roughly, with S = Options.SegmentSize and e the
// average encoded record size plus one or two bytes of framing:
//
//   - tidwall/wal keeps the whole tail segment in memory (up to S plus one
//     record, in a buffer grown by doubling, and 16 bytes of position per
//     entry) and the previous, sealed segment likewise: about
//     2 × S × (1 + 16/e);
//   - the wal's batch buffer: up to about 1 MiB, or the size of the
//     largest single Append;
//   - the tail cache: Options.CacheBytes, plus up to four recycled
//     group-commit buffers;
//   - the sparse index: 8 bytes per 64 records on disk, and one open file
//     descriptor per segment that has been read.
//
// Measured with 100-byte records after writing 3.5 segments (heap in use,
// default CacheBytes): 3.2 MiB with S = 1 MiB, 8.3 MiB with S = 4 MiB (the
// default), 32.5 MiB with S = 16 MiB. It grows with the number of open
// partitions, not with the amount of data.
//
// # Concurrency
//
// Appends are group-committed: every queued append (Append and AppendAsync
// from any number of goroutines, up to about 1 MiB or 16384 records per
// commit) is encoded into one wal.Batch, written with one WriteBatch and
// fsynced once (SyncAlways); then the new records are published
// (NextOffset, Notify, the cache) and every caller is acknowledged.
// Commits are serialized by one mutex, which is also the only way to the
// wal. Each Log has one writer goroutine that commits what is queued,
// runs the background fsync of SyncInterval and calls AppendAsync's done
// functions (in commit order, with no lock held, as soon as their commit
// is done: before the writer takes the next one). A synchronous Append
// that finds no commit in progress does the commit itself, for whatever
// is queued, instead of waking the writer: that saves two goroutine
// switches per commit and never runs a done callback. Zero timestamps
// are set when a commit is encoded, with one clock read per commit.
//
// Under SyncAlways, when the previous commit acknowledged several
// synchronous callers, the next committer first waits, for at most
// min(200µs, half the previous fsync), until as many requests are queued:
// the callers just acknowledged are usually about to append again, and
// catching them saves them an fsync. There is no such wait under the other
// policies or for a single appender.
//
// Each Log commits and fsyncs on its own, so the fsyncs of different logs
// (partitions) are in flight at once and the file system overlaps them:
// on ext4, eight files fsynced together took each about 1.4 times a lone
// fsync at the median, while fsyncing them one after another took about
// seven times one. A process-wide round that writes every log with pending work
// and then fsyncs them all together was measured and not kept: a round
// lasts as long as its slowest fsync, and fsync latency has a long tail, so
// every caller waited for about the worst of eight (about four lone fsyncs)
// instead of its own log's, and durable throughput fell. One syncfs(2) for
// all of them was no faster either, and it flushes everything else on the
// file system. BenchmarkSyncAppendMany and internal/bench's
// BenchmarkFsyncFiles measure this.
//
// Readers never call into the wal: recent records come from an in-memory
// cache of recent group commits, older ones from the segment files with
// pread, positioned by a sparse index of every 64th entry. So readers
// lagging in different segments proceed in parallel, and neither they nor
// retention hold up appends (a reader holds the log's read lock only to
// take a snapshot, never during I/O or decoding). Every entry read from a
// file is checked against its checksum; entries served from the cache are
// not, since the cache holds the bytes this process encoded and handed to
// the wal, not bytes read back. ReadInto lets a consumer reuse its slice
// of records from one call to the next.
package storage
