package brook

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/brookmq/brook/storage"
)

// offsetStore holds one group's committed offsets: in memory for the
// coordinator, and durably in a storage log of its own. Commits update
// memory; flush appends one record with every offset changed since the last
// flush, fsynced (SyncAlways). Every snapshotEvery records a snapshot of all
// offsets is written and the segments before it are dropped, so the log does
// not grow without bound.
type offsetStore struct {
	log    *storage.Log
	logger *slog.Logger

	flushMu       sync.Mutex // orders flushes: records reach the log in commit order
	sinceSnapshot int        // records since the last snapshot; guarded by flushMu

	mu        sync.Mutex
	committed map[TopicPartition]int64
	dirty     map[TopicPartition]struct{}
}

const (
	offsetsDelta    = 0 // record kinds
	offsetsSnapshot = 1
	snapshotEvery   = 1000
)

func openOffsets(dir string, logger *slog.Logger, fs storage.FS) (*offsetStore, error) {
	l, err := storage.Open(dir, &storage.Options{SegmentSize: 256 << 10, Sync: storage.SyncAlways, Logger: logger, FS: fs})
	if err != nil {
		return nil, fmt.Errorf("brook: open committed offsets %s: %w", dir, err)
	}
	s := &offsetStore{log: l, logger: logger, committed: make(map[TopicPartition]int64), dirty: make(map[TopicPartition]struct{})}
	if err := s.replay(); err != nil {
		l.Close()
		return nil, fmt.Errorf("%w: committed offsets %s: %v", ErrCorrupt, dir, err)
	}
	return s, nil
}

// replay rebuilds the map from the log: a snapshot replaces the state, a
// delta updates it.
func (s *offsetStore) replay() error {
	for off := s.log.FirstOffset(); off < s.log.NextOffset(); {
		recs, err := s.log.Read(off, 1000, 4<<20)
		if err != nil {
			return err
		}
		for _, r := range recs {
			kind, entries, err := decodeOffsets(r.Value)
			if err != nil {
				return fmt.Errorf("record %d: %w", r.Offset, err)
			}
			if kind == offsetsSnapshot {
				clear(s.committed)
				s.sinceSnapshot = 0
			}
			for tp, o := range entries {
				s.committed[tp] = o
			}
			s.sinceSnapshot++
			off = r.Offset + 1
		}
	}
	return nil
}

func (s *offsetStore) get(tp TopicPartition) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.committed[tp]
	return o, ok
}

func (s *offsetStore) set(tp TopicPartition, offset int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.committed[tp]; ok && old == offset {
		return
	}
	s.committed[tp] = offset
	s.dirty[tp] = struct{}{}
}

// all returns a copy of every committed offset.
func (s *offsetStore) all() map[TopicPartition]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[TopicPartition]int64, len(s.committed))
	for tp, o := range s.committed {
		m[tp] = o
	}
	return m
}

// dropTopic forgets a deleted topic's offsets, durably, so that a topic
// created again under the name starts from its beginning.
func (s *offsetStore) dropTopic(topic string) {
	s.mu.Lock()
	found := false
	for tp := range s.committed {
		if tp.Topic == topic {
			delete(s.committed, tp)
			delete(s.dirty, tp)
			found = true
		}
	}
	s.mu.Unlock()
	if found {
		if err := s.snapshot(); err != nil {
			s.logger.Error("brook: write offsets snapshot", "err", err)
		}
	}
}

// flush durably writes the offsets changed since the last flush.
func (s *offsetStore) flush() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	if len(s.dirty) == 0 {
		s.mu.Unlock()
		return nil
	}
	entries := make(map[TopicPartition]int64, len(s.dirty))
	for tp := range s.dirty {
		entries[tp] = s.committed[tp]
	}
	clear(s.dirty)
	s.mu.Unlock()
	if err := s.write(offsetsDelta, entries); err != nil {
		s.mu.Lock()
		for tp := range entries {
			s.dirty[tp] = struct{}{}
		}
		s.mu.Unlock()
		return err
	}
	if s.sinceSnapshot >= snapshotEvery {
		return s.snapshotLocked()
	}
	return nil
}

func (s *offsetStore) snapshot() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	return s.snapshotLocked()
}

// snapshotLocked writes every offset as one record and drops the segments
// wholly before it. The caller holds flushMu.
func (s *offsetStore) snapshotLocked() error {
	s.mu.Lock()
	entries := make(map[TopicPartition]int64, len(s.committed))
	for tp, o := range s.committed {
		entries[tp] = o
	}
	clear(s.dirty)
	s.mu.Unlock()
	at := s.log.NextOffset()
	if err := s.write(offsetsSnapshot, entries); err != nil {
		return err
	}
	s.sinceSnapshot = 1
	_, err := s.log.TruncateFront(at)
	return err
}

func (s *offsetStore) write(kind byte, entries map[TopicPartition]int64) error {
	_, err := s.log.Append(context.Background(), []storage.Record{{Value: encodeOffsets(kind, entries)}})
	if err == nil {
		s.sinceSnapshot++
	}
	return err
}

func (s *offsetStore) close() error {
	return errors.Join(s.flush(), s.log.Close())
}

// encodeOffsets lays out a record: kind byte, uvarint count, then per entry
// uvarint topic length, topic, uvarint partition, varint offset; entries
// sorted so that the encoding is deterministic.
func encodeOffsets(kind byte, entries map[TopicPartition]int64) []byte {
	tps := make([]TopicPartition, 0, len(entries))
	for tp := range entries {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool { return compareTopicPartition(tps[i], tps[j]) < 0 })
	buf := []byte{kind}
	buf = binary.AppendUvarint(buf, uint64(len(tps)))
	for _, tp := range tps {
		buf = binary.AppendUvarint(buf, uint64(len(tp.Topic)))
		buf = append(buf, tp.Topic...)
		buf = binary.AppendUvarint(buf, uint64(tp.Partition))
		buf = binary.AppendVarint(buf, entries[tp])
	}
	return buf
}

var errBadOffsets = errors.New("malformed offsets record")

// decodeOffsets parses encodeOffsets' layout; it never panics.
func decodeOffsets(b []byte) (byte, map[TopicPartition]int64, error) {
	if len(b) < 1 || b[0] > offsetsSnapshot {
		return 0, nil, errBadOffsets
	}
	kind, b := b[0], b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return 0, nil, errBadOffsets
	}
	b = b[k:]
	m := make(map[TopicPartition]int64, n)
	for i := uint64(0); i < n; i++ {
		tl, k := binary.Uvarint(b)
		if k <= 0 || tl > uint64(len(b)-k) {
			return 0, nil, errBadOffsets
		}
		topic := string(b[k : k+int(tl)])
		b = b[k+int(tl):]
		p, k := binary.Uvarint(b)
		if k <= 0 || p > MaxPartitions {
			return 0, nil, errBadOffsets
		}
		b = b[k:]
		o, k := binary.Varint(b)
		if k <= 0 || o < 0 || !validName(topic) {
			return 0, nil, errBadOffsets
		}
		b = b[k:]
		m[TopicPartition{Topic: topic, Partition: int(p)}] = o
	}
	if len(b) != 0 {
		return 0, nil, errBadOffsets
	}
	return kind, m, nil
}
