package brook

// CheckStatus says what Check found in one log.
type CheckStatus string

// The statuses of a LogCheck. Every status but CheckOK and
// CheckRepaired is damage.
const (
	CheckOK       CheckStatus = "ok"       // every record read back and verified
	CheckRepaired CheckStatus = "repaired" // a torn tail was cut (RepairTails); the rest verified
	CheckCorrupt  CheckStatus = "corrupt"  // damage: a bad record, a bad metadata file, a link
	CheckMissing  CheckStatus = "missing"  // a partition directory that topic.json counts is absent
	CheckError    CheckStatus = "error"    // the log could not be read for another reason (permissions, I/O)
)

// Damaged reports whether s is damage (neither ok nor repaired).
func (s CheckStatus) Damaged() bool { return s != CheckOK && s != CheckRepaired }

// LogCheck is what Check found in one log of the data directory: a
// topic's partition, a group's committed offsets, or a topic's metadata
// file (Partition -1 and no Group).
type LogCheck struct {
	// Path is the log's directory (or file), relative to the data
	// directory: "topics/orders/0", "groups/billing",
	// "topics/orders/topic.json".
	Path string
	// Topic and Partition name a topic's partition; Partition is -1 for
	// a group's offsets or a topic's metadata file.
	Topic     string
	Partition int
	// Group names a group's committed offsets.
	Group string

	Status CheckStatus
	// Records is how many records were read back whole, in order, with
	// valid checksums.
	Records int64
	// Bytes is the log's size on disk.
	Bytes int64
	// FirstOffset and NextOffset are the log's first and next offset as
	// Open sees them.
	FirstOffset, NextOffset int64
	// Damage lists each damaged place found (segment and offset). Reading
	// goes on at the next segment, so a log can have several.
	Damage []Damage
	// TailRepair is the torn tail cut under CheckOptions.RepairTails, nil
	// when none was.
	TailRepair *TailRepair
	// Committed is a group's committed offsets, as the group loads them.
	Committed map[TopicPartition]int64
	// Problems says, one sentence each, everything wrong with the log
	// (the Damage included).
	Problems []string
	// Notes says what is not damage but worth knowing: a group's
	// committed offset past its partition's end (after an unsynced tail
	// was lost), which the group moves back to the end when it loads.
	Notes []string
}

// Damage is one damaged place in a log: the segment file and the first
// offset that cannot be read, and why.
type Damage struct {
	Segment string // path of the segment file
	Offset  int64
	Reason  string
}

// TailRepair is a torn tail cut under CheckOptions.RepairTails (what Open
// does on every start).
type TailRepair struct {
	TruncatedRecords int    // an estimate: the frames cut
	TruncatedBytes   int64  // bytes cut from the last segment
	SavedTo          string // the corrupt-*.bin file holding them
	Reason           string // what was wrong, where
}

// CheckReport is what Check found in a data directory.
type CheckReport struct {
	// Dir is the data directory checked.
	Dir string
	// Logs are the logs checked: the partitions of each topic in name
	// order (its metadata file first when it is damaged), then the groups.
	Logs []LogCheck
	// Stray lists what is in the data directory that Brook did not write
	// and leaves alone, relative to Dir: a file beside Brook's layout, in
	// topics/ or in a topic's directory, a partition directory past the
	// topic's count, an entry of groups/ that is not a valid group id. It
	// is not damage.
	Stray []string
	// OpenError is the error Open returns for this directory (read-only
	// or not), nil when Open succeeds; Healthy is false while it is set.
	// A partition damaged so that Open still succeeds (it fails alone,
	// see ErrPartitionFailed) is in Logs only. It is not set when
	// CheckOptions.Topics is.
	OpenError error
}

// Healthy reports whether nothing is damaged and Open succeeds.
func (r *CheckReport) Healthy() bool { return r.OpenError == nil && r.Damaged() == 0 }

// Damaged returns how many logs are damaged.
func (r *CheckReport) Damaged() int {
	n := 0
	for _, l := range r.Logs {
		if l.Status.Damaged() {
			n++
		}
	}
	return n
}
