package brook

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/brookmq/brook/storage"
)

// RepairResult describes what RepairPartition did; the zero value means the
// partition had no damage and was left unchanged.
type RepairResult struct {
	// Damage says what was wrong and where (segment and offset); "" when
	// nothing was.
	Damage string
	// CutAt is the partition's next offset after the repair: the records
	// from there on were removed.
	CutAt int64
	// DroppedRecords is how many offsets the partition no longer holds,
	// from CutAt to its old end (records a missing segment file had already
	// lost included).
	DroppedRecords int64
	// SavedTo lists the files, beside the partition's segments, that keep
	// every byte removed (corrupt-*.bin). Brook never reads or removes them.
	SavedTo []string
}

// RepairOptions configures RepairPartition. The zero value (or nil) means
// defaults.
type RepairOptions struct {
	// Logger receives the storage layer's report of the cut (Warn).
	// RepairPartition prints nothing. Default: discard.
	Logger *slog.Logger
}

// RepairPartition cuts partition partition of topic in the data directory
// dir at its first damage (see ErrPartitionFailed; Check lists the damaged
// partitions): the explicit operator action behind `brook check --repair
// TOPIC/PARTITION`, and the only way Brook drops records that are not a
// torn tail. Every byte removed is kept beside the log
// (RepairResult.SavedTo), and RepairResult says how many records were
// dropped. After it the partition opens healthy, ends at CutAt and takes
// publishes again; a group's committed offset past CutAt is moved back to
// it when the broker opens. A partition without damage is left unchanged
// and the zero RepairResult returned.
//
// The data directory must not be open: RepairPartition takes its lock and
// returns an ErrLocked error naming the process that holds it. It returns
// ErrNotDataDir, ErrInvalidTopicName, ErrUnknownTopic or
// ErrInvalidPartition for a partition that is not there, and ErrCorrupt
// for a topic whose metadata is damaged or a partition whose directory is
// missing (nothing to cut: it must be restored from a backup).
func RepairPartition(dir, topic string, partition int, opts *RepairOptions) (RepairResult, error) {
	var o RepairOptions
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := CheckDataDir(dir); err != nil {
		return RepairResult{}, err
	}
	if err := checkTopicName(topic); err != nil {
		return RepairResult{}, err
	}
	lf, err := lockDir(dir)
	if err != nil {
		return RepairResult{}, err
	}
	defer lf.Close()
	tdir := filepath.Join(dir, "topics", topic)
	if _, err := os.Lstat(tdir); errors.Is(err, fs.ErrNotExist) {
		return RepairResult{}, &TopicError{Topic: topic, Err: ErrUnknownTopic}
	}
	meta, err := readTopicMeta(tdir, topic)
	if err != nil {
		return RepairResult{}, &TopicError{Topic: topic, Err: err}
	}
	if partition < 0 || partition >= meta.Partitions {
		return RepairResult{}, &PartitionError{Topic: topic, Partition: partition, Partitions: meta.Partitions, Err: ErrInvalidPartition}
	}
	pdir := filepath.Join(tdir, strconv.Itoa(partition))
	if err := checkEntry(pdir, true); errors.Is(err, fs.ErrNotExist) {
		// Repair cuts damage inside a log; it cannot recreate a lost one.
		return RepairResult{}, &PartitionError{Topic: topic, Partition: partition,
			Err: fmt.Errorf("%w: partition directory %s is missing; there is nothing to cut: restore it from a backup, or delete the topic", ErrCorrupt, pdir)}
	} else if err != nil {
		return RepairResult{}, storageError(topic, partition, err)
	}
	res, err := storage.Repair(pdir, &storage.Options{Logger: o.Logger})
	if err != nil {
		return RepairResult{}, storageError(topic, partition, err)
	}
	out := RepairResult{CutAt: res.CutAt, DroppedRecords: res.DroppedRecords, SavedTo: res.SavedTo}
	if res.Damage != nil {
		out.Damage = res.Damage.Error()
	}
	return out, nil
}
