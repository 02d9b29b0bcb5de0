package brook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"github.com/brookmq/brook/storage"
)

// offsetStore holds one group's committed offsets and its generation: in
// memory for the coordinator, and durably in a storage log of its own.
// Commits update memory; flush appends the offsets changed since the last
// flush (a delta, split into records of at most offsetsChunk bytes),
// fsynced (SyncAlways), so a flush costs in proportion to what changed.
// When the deltas written since the last snapshot outweigh it
// (compactFactor times its size, and at least compactMin bytes), a
// snapshot of every offset is written as one batch of records, the last
// one marked, and the segments before it are dropped: the log stays within
// a few times the size of one snapshot, and compaction's cost is amortized
// over the deltas. A snapshot torn by a crash has no last record and is
// ignored on replay; the deltas before it are still in the log.
type offsetStore struct {
	log    *storage.Log
	logger *slog.Logger

	flushMu    sync.Mutex // orders flushes: records reach the log in commit order
	sinceBytes int64      // delta bytes since the last snapshot; guarded by flushMu
	snapBytes  int64      // the last snapshot's size; guarded by flushMu

	mu        sync.Mutex
	committed map[TopicPartition]int64
	dirty     map[TopicPartition]struct{}
	gen       int64 // the group's generation as last noted
	nextID    int64 // the group's member counter as last noted
	genDirty  bool  // gen or nextID changed since the last flush
	// undropped are topics whose offsets were dropped from memory but
	// whose drop record failed to be written (a full disk): every later
	// drop of them writes it again, so that it cannot pass for done.
	undropped map[string]bool
}

const (
	compactFactor = 4
	compactMin    = 64 << 10
)

func openOffsets(dir string, logger *slog.Logger, fs storage.FS) (*offsetStore, error) {
	l, err := storage.Open(dir, &storage.Options{SegmentSize: 1 << 20, Sync: storage.SyncAlways, Logger: logger, FS: fs})
	if err != nil {
		return nil, offsetsError(dir, err)
	}
	s := &offsetStore{log: l, logger: logger, committed: make(map[TopicPartition]int64), dirty: make(map[TopicPartition]struct{})}
	if err := s.replay(); err != nil {
		l.Close()
		return nil, fmt.Errorf("%w: committed offsets %s: %v", ErrCorrupt, dir, err)
	}
	return s, nil
}

// replay rebuilds the state from the log: a complete snapshot replaces it,
// a delta updates it, a drop removes a topic's offsets.
func (s *offsetStore) replay() error {
	var pending map[TopicPartition]int64 // a snapshot being read
	for off := s.log.FirstOffset(); off < s.log.NextOffset(); {
		recs, err := s.log.Read(off, 1000, 4<<20)
		if err != nil {
			return err
		}
		for _, r := range recs {
			rec, err := decodeOffsets(r.Value)
			if err != nil {
				return fmt.Errorf("record %d: %w", r.Offset, err)
			}
			s.gen, s.nextID = max(s.gen, rec.gen), max(s.nextID, rec.nextID)
			size := int64(len(r.Value))
			switch rec.kind {
			case offsetsSnapshotV1:
				pending = nil
				clear(s.committed)
				s.sinceBytes, s.snapBytes = 0, size
			case offsetsSnapshot:
				if pending == nil {
					pending, s.snapBytes = make(map[TopicPartition]int64), 0
				}
				for tp, o := range rec.entries {
					pending[tp] = o
				}
				s.snapBytes += size
				if rec.last {
					s.committed, pending, s.sinceBytes = pending, nil, 0
				}
				continue
			case offsetsDrop:
				for tp := range s.committed {
					if tp.Topic == rec.topic {
						delete(s.committed, tp)
					}
				}
			}
			pending = nil // a snapshot torn by a crash, followed by later records
			for tp, o := range rec.entries {
				s.committed[tp] = o
			}
			s.sinceBytes += size
		}
		off = recs[len(recs)-1].Offset + 1
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

// noteGeneration records the group's generation and member counter, to be
// written with the next flush.
func (s *offsetStore) noteGeneration(gen, nextID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen > s.gen || nextID > s.nextID {
		s.gen, s.nextID = max(s.gen, gen), max(s.nextID, nextID)
		s.genDirty = true
	}
}

// generation returns the generation and member counter as stored.
func (s *offsetStore) generation() (gen, nextID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen, s.nextID
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

// dropTopic forgets a deleted topic's offsets, durably (one small record),
// so that a topic created again under the name starts from its beginning.
func (s *offsetStore) dropTopic(topic string) error {
	return s.dropTopics(func(t string) bool { return t == topic })
}

// dropTopics forgets, durably, the offsets of every topic for which drop
// returns true.
func (s *offsetStore) dropTopics(drop func(topic string) bool) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	topics := make(map[string]bool)
	for t := range s.undropped {
		topics[t] = drop(t)
	}
	for tp := range s.committed {
		if topics[tp.Topic] || drop(tp.Topic) {
			topics[tp.Topic] = true
			delete(s.committed, tp)
			delete(s.dirty, tp)
		}
	}
	s.mu.Unlock()
	recs := make([]storage.Record, 0, len(topics))
	for t, ok := range topics {
		if ok {
			recs = append(recs, storage.Record{Value: encodeDrop(t)})
		}
	}
	if len(recs) == 0 {
		return nil
	}
	err := s.append(recs)
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, ok := range topics {
		switch {
		case !ok:
		case err == nil:
			delete(s.undropped, t)
		case s.undropped == nil:
			s.undropped = map[string]bool{t: true}
		default:
			s.undropped[t] = true
		}
	}
	return err
}

// undroppedTopics returns the topics whose drop is not durable yet.
func (s *offsetStore) undroppedTopics() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.undropped))
}

// flush durably writes the offsets (and the generation) changed since the
// last flush, and compacts the log when the deltas outweigh its snapshot.
func (s *offsetStore) flush() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	if len(s.dirty) == 0 && !s.genDirty {
		s.mu.Unlock()
		return nil
	}
	entries := make(map[TopicPartition]int64, len(s.dirty))
	for tp := range s.dirty {
		entries[tp] = s.committed[tp]
	}
	clear(s.dirty)
	gen, nextID, genDirty := s.gen, s.nextID, s.genDirty
	s.genDirty = false
	s.mu.Unlock()
	recs := encodeRecords(offsetsDelta, gen, nextID, entries)
	if err := s.append(recs); err != nil {
		s.mu.Lock()
		for tp := range entries {
			if _, ok := s.committed[tp]; ok {
				s.dirty[tp] = struct{}{}
			}
		}
		s.genDirty = s.genDirty || genDirty
		s.mu.Unlock()
		return err
	}
	for _, r := range recs {
		s.sinceBytes += int64(len(r.Value))
	}
	if s.sinceBytes >= max(compactFactor*s.snapBytes, compactMin) {
		return s.snapshotLocked()
	}
	return nil
}

func (s *offsetStore) snapshot() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	return s.snapshotLocked()
}

// snapshotLocked writes every offset as one batch of records and drops the
// segments wholly before it. The caller holds flushMu.
func (s *offsetStore) snapshotLocked() error {
	s.mu.Lock()
	entries := make(map[TopicPartition]int64, len(s.committed))
	for tp, o := range s.committed {
		entries[tp] = o
	}
	clear(s.dirty)
	gen, nextID := s.gen, s.nextID
	s.genDirty = false
	s.mu.Unlock()
	at := s.log.NextOffset()
	recs := encodeRecords(offsetsSnapshot, gen, nextID, entries)
	if err := s.append(recs); err != nil {
		return err
	}
	s.sinceBytes, s.snapBytes = 0, 0
	for _, r := range recs {
		s.snapBytes += int64(len(r.Value))
	}
	_, err := s.log.TruncateFront(at)
	return err
}

func (s *offsetStore) append(recs []storage.Record) error {
	_, err := s.log.Append(context.Background(), recs)
	return err
}

func (s *offsetStore) close() error {
	return errors.Join(s.flush(), s.log.Close())
}
