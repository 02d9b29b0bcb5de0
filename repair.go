package brook

import (
	"fmt"
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

// RepairPartition cuts partition partition of topic in the data directory
// dataDir at its first damage (see ErrPartitionFailed): the explicit
// operator action behind `brook check --repair TOPIC/PARTITION`, and the
// only way Brook drops records that are not a torn tail. Every byte removed
// is kept beside the log (RepairResult.SavedTo). After it the partition
// opens healthy, ends at CutAt and takes publishes again; a group's
// committed offset past CutAt is moved back to it when the broker opens.
//
// The data directory must not be open: RepairPartition takes its lock and
// returns an ErrLocked error while a Broker holds it. It returns
// ErrNotDataDir, ErrUnknownTopic or ErrInvalidPartition for a partition
// that is not there.
func RepairPartition(dataDir, topic string, partition int) (RepairResult, error) {
	if _, err := os.Stat(filepath.Join(dataDir, markerName)); err != nil {
		return RepairResult{}, fmt.Errorf("%w: %s", ErrNotDataDir, dataDir)
	}
	if err := checkTopicName(topic); err != nil {
		return RepairResult{}, err
	}
	lf, err := lockDir(dataDir)
	if err != nil {
		return RepairResult{}, err
	}
	defer lf.Close()
	tdir := filepath.Join(dataDir, "topics", topic)
	if _, err := os.Stat(filepath.Join(tdir, "topic.json")); err != nil {
		return RepairResult{}, &TopicError{Topic: topic, Err: ErrUnknownTopic}
	}
	pdir := filepath.Join(tdir, strconv.Itoa(partition))
	if fi, err := os.Stat(pdir); partition < 0 || err != nil || !fi.IsDir() {
		return RepairResult{}, &PartitionError{Topic: topic, Partition: partition, Err: ErrInvalidPartition}
	}
	res, err := storage.Repair(pdir, nil)
	if err != nil {
		return RepairResult{}, storageError(topic, partition, err)
	}
	out := RepairResult{CutAt: res.CutAt, DroppedRecords: res.DroppedRecords, SavedTo: res.SavedTo}
	if res.Damage != nil {
		out.Damage = res.Damage.Error()
	}
	return out, nil
}
