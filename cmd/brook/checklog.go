package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/storage"
)

// checkTarget is one log to check.
type checkTarget struct {
	rel       string // directory relative to the data directory
	topic     string
	partition int // -1 for a group's offsets
	group     string
	problem   string // found before opening (for example a missing directory)
	status    string // the status that problem implies
}

// listTargets returns the logs to check: the partitions of the named
// topics, or of every topic and every group's offsets when none is named.
// The partitions of a topic are those its topic.json counts.
func listTargets(dir string, topics []string) ([]checkTarget, error) {
	all := len(topics) == 0
	if all {
		var err error
		if topics, err = subdirs(filepath.Join(dir, "topics")); err != nil {
			return nil, err
		}
	}
	var targets []checkTarget
	for _, name := range topics {
		if all && !brook.ValidName(name) {
			continue // reported by checkOpen, as Open refuses it
		}
		ts, err := topicTargets(dir, name)
		if err != nil {
			return nil, err
		}
		targets = append(targets, ts...)
	}
	if !all {
		return targets, nil
	}
	groups, err := subdirs(filepath.Join(dir, "groups"))
	for _, g := range groups {
		targets = append(targets, checkTarget{rel: filepath.Join("groups", g), group: g, partition: -1})
	}
	return targets, err
}

// topicTargets returns the partitions of one topic. An unreadable
// topic.json is reported against the partition directories found.
func topicTargets(dir, name string) ([]checkTarget, error) {
	tdir := filepath.Join(dir, "topics", name)
	if !brook.ValidName(name) {
		return nil, fmt.Errorf("%w: %q", brook.ErrInvalidTopicName, name)
	}
	if _, err := os.Stat(tdir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q", brook.ErrUnknownTopic, name)
	}
	target := func(p int) checkTarget {
		return checkTarget{rel: filepath.Join("topics", name, strconv.Itoa(p)), topic: name, partition: p}
	}
	var ts []checkTarget
	n, metaErr := topicPartitions(tdir)
	if metaErr != nil {
		found, err := subdirs(tdir)
		if err != nil {
			return nil, err
		}
		for _, d := range found {
			if p, err := strconv.Atoi(d); err == nil && p >= 0 {
				ts = append(ts, target(p))
			}
		}
		bad := checkTarget{rel: filepath.Join("topics", name, "topic.json"), topic: name, partition: -1,
			problem: metaErr.Error(), status: statusCorrupt}
		return append([]checkTarget{bad}, ts...), nil
	}
	for p := range n {
		ts = append(ts, target(p))
	}
	return ts, nil
}

// topicPartitions reads a topic's partition count from its topic.json.
func topicPartitions(tdir string) (int, error) {
	data, err := os.ReadFile(filepath.Join(tdir, "topic.json"))
	if err != nil {
		return 0, err
	}
	var meta struct {
		Partitions int `json:"partitions"`
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return 0, fmt.Errorf("topic.json: %w", err)
	}
	if meta.Partitions < 1 || meta.Partitions > brook.MaxPartitions {
		return 0, fmt.Errorf("topic.json: partition count %d out of range", meta.Partitions)
	}
	return meta.Partitions, nil
}

// subdirs returns the names of the directories in dir, sorted; none if dir
// does not exist.
func subdirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, err
}

// checkLog opens one log (read-only, or else repairing a torn tail), then reads every
// record back. It returns an error only when the log is locked: a running
// broker holds the data directory, and checking must stop.
func checkLog(root string, t checkTarget, readOnly bool) (checkResult, error) {
	res := checkResult{Log: t.rel, Topic: t.topic, Group: t.group, Status: statusOK}
	if t.partition >= 0 {
		res.Partition = &t.partition
	}
	if t.problem != "" {
		res.Status, res.Problems = t.status, []string{t.problem}
		return res, nil
	}
	dir := filepath.Join(root, t.rel)
	if _, err := os.Stat(dir); err != nil {
		res.Status, res.Problems = statusMissing, []string{err.Error()}
		return res, nil
	}
	l, err := storage.Open(dir, &storage.Options{Sync: storage.SyncNever, ReadOnly: readOnly})
	switch {
	case errors.Is(err, storage.ErrLocked):
		return res, err
	case err != nil:
		res.Status, res.Problems = statusError, []string{err.Error()}
		if errors.Is(err, storage.ErrCorrupt) {
			res.Status = statusCorrupt
		}
		return res, nil
	}
	if rec := l.Recovery(); rec.TruncatedBytes > 0 || rec.TruncatedRecords > 0 {
		res.Status = statusRepaired
		res.Repair = &repairInfo{TruncatedRecords: rec.TruncatedRecords, TruncatedBytes: rec.TruncatedBytes,
			SavedTo: rec.SavedTo, Reason: rec.Reason}
	}
	res.FirstOffset, res.NextOffset, res.Bytes = l.FirstOffset(), l.NextOffset(), l.Size()
	verifyRecords(l, &res)
	if err := l.Close(); err != nil {
		res.Status, res.Problems = statusError, append(res.Problems, "close: "+err.Error())
	}
	return res, nil
}

// verifyRecords reads every record of l, counting those that read back
// whole and in order. It reads one segment at a time, because Read returns
// nothing when it meets damage: a damaged segment is reported and skipped,
// and the report covers the rest of the log.
func verifyRecords(l *storage.Log, res *checkResult) {
	starts, err := segmentStarts(l.Dir())
	if err != nil {
		res.Status, res.Problems = statusError, append(res.Problems, err.Error())
		return
	}
	next := l.NextOffset()
	for off := l.FirstOffset(); off < next; {
		end := next // the start of the next segment, or the end of the log
		if i := sort.Search(len(starts), func(i int) bool { return starts[i] > off }); i < len(starts) {
			end = min(starts[i], next)
		}
		recs, err := l.Read(off, int(min(end-off, 10000)), 8<<20)
		if err != nil {
			res.Problems = append(res.Problems, err.Error())
			res.Status = statusCorrupt
			if !errors.Is(err, storage.ErrCorrupt) {
				res.Status = statusError
				return
			}
			off = end
			continue
		}
		if len(recs) == 0 {
			res.Problems = append(res.Problems, fmt.Sprintf("no record at offset %d, before the end %d", off, next))
			res.Status = statusCorrupt
			return
		}
		for _, r := range recs {
			if r.Offset != off {
				res.Problems = append(res.Problems, fmt.Sprintf("offset %d follows %d", r.Offset, off-1))
				res.Status = statusCorrupt
			}
			off = r.Offset + 1
			res.Records++
		}
	}
}

// segmentStarts returns the first offsets of the segments of the log in
// dir, in order. Segment files are named by the 20-digit WAL index of their
// first record, which is its offset plus one (see the storage package's
// documentation).
func segmentStarts(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var starts []int64
	for _, e := range ents { // sorted by name, so by index
		if len(e.Name()) != 20 || e.IsDir() {
			continue
		}
		if idx, err := strconv.ParseInt(e.Name(), 10, 64); err == nil {
			starts = append(starts, idx-1)
		}
	}
	return starts, nil
}
