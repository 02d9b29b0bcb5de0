package brook

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/brookmq/brook/storage"
)

// CheckOptions configures Check. The zero value (or nil) checks the whole
// data directory read-only.
type CheckOptions struct {
	// Topics limits the check to the partitions and metadata of these
	// topics; groups, stray files and the validation Open does of the
	// whole directory are then left out. A topic named that does not
	// exist is an error (ErrUnknownTopic). Default: the whole directory.
	Topics []string

	// RepairTails makes Check do what every Open does before it checks:
	// cut a torn tail (a crash in the middle of a write) back to the last
	// whole batch, keeping the cut bytes as corrupt-*.bin beside the log,
	// and report it in LogCheck.TailRepair. Check then takes the data
	// directory's lock (an ErrLocked error names the holder) and writes.
	// Damage before the tail is never repaired by Check: that is
	// RepairPartition. Default: false (read-only).
	RepairTails bool

	// Logger receives the storage layer's warnings (repairs, damage).
	// Check prints nothing. Default: discard.
	Logger *slog.Logger
}

// Check verifies the data directory dir the way kafka-dump-log or bbolt's
// Tx.Check do: it reads back every record of every partition and of every
// group's committed offsets, verifying checksums, offsets and batch
// framing, decodes every topic's metadata and every group's offsets, and
// reports per log what it found, every problem included: reading goes on
// past damage to the next segment. It also runs the validation Open does
// and says in OpenError whether Open would fail, so that its report and
// Open agree.
//
// By default Check is read-only, after bbolt's ReadOnly: it creates,
// writes and locks nothing, and works while a program holds the directory
// (a tail being written is read up to its last complete batch). With
// CheckOptions.RepairTails it cuts torn tails as Open would, under the
// lock.
//
// The error is for a directory Check cannot check at all: not a Brook data
// directory (ErrNotDataDir, ErrCorrupt for a damaged marker,
// ErrUnexpectedFile), a topic named in CheckOptions.Topics that is invalid
// (ErrInvalidTopicName) or absent (ErrUnknownTopic), the lock held
// (ErrLocked, RepairTails only), or the file system's error listing the
// directory. Damage is in the report, never the error.
func Check(dir string, opts *CheckOptions) (*CheckReport, error) {
	var o CheckOptions
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := CheckDataDir(dir); err != nil {
		return nil, err
	}
	if o.RepairTails {
		lf, err := lockDir(dir)
		if err != nil {
			return nil, err
		}
		defer lf.Close()
	}
	c := &checker{dir: dir, opts: o, rep: &CheckReport{Dir: dir}}
	if len(o.Topics) > 0 {
		for _, name := range o.Topics {
			if err := c.namedTopic(name); err != nil {
				return nil, err
			}
		}
		return c.rep, nil
	}
	if err := c.rootStray(); err != nil {
		return nil, err
	}
	if err := c.allTopics(); err != nil {
		return nil, err
	}
	if err := c.groups(); err != nil {
		return nil, err
	}
	c.notePastEnd()
	c.rep.OpenError = openError(dir, o.Logger)
	return c.rep, nil
}

// checker holds the state of one Check.
type checker struct {
	dir  string
	opts CheckOptions
	rep  *CheckReport
}

// rel returns the path of elem inside the data directory, relative to it.
func rel(elem ...string) string { return filepath.Join(elem...) }

// namedTopic checks a topic of CheckOptions.Topics.
func (c *checker) namedTopic(name string) error {
	if err := checkTopicName(name); err != nil {
		return err
	}
	if _, err := os.Lstat(filepath.Join(c.dir, "topics", name)); errors.Is(err, fs.ErrNotExist) {
		return &TopicError{Topic: name, Err: ErrUnknownTopic}
	}
	return c.topic(name)
}

// rootStray lists what the data directory holds beside Brook's layout.
func (c *checker) rootStray() error {
	ents, err := readDirIfExists(c.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if n := e.Name(); n != markerName && n != "LOCK" && !slices.Contains(dataSubdirs, n) {
			c.rep.Stray = append(c.rep.Stray, n)
		}
	}
	return nil
}

// allTopics checks every topic in topics/.
func (c *checker) allTopics() error {
	ents, err := readDirIfExists(filepath.Join(c.dir, "topics"))
	if err != nil {
		return err
	}
	for _, e := range ents {
		path := rel("topics", e.Name())
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			c.add(LogCheck{Path: path, Topic: e.Name(), Partition: -1, Status: CheckCorrupt,
				Problems: []string{checkMode(filepath.Join(c.dir, path), e.Type(), true).Error()}})
		case !e.IsDir():
			c.rep.Stray = append(c.rep.Stray, path)
		case !validName(e.Name()):
			c.add(LogCheck{Path: path, Partition: -1, Status: CheckCorrupt, Problems: []string{fmt.Sprintf(
				"%v: %s is not a valid topic name, and Open refuses a directory that is not a topic", ErrCorrupt, filepath.Join(c.dir, path))}})
		default:
			if err := c.topic(e.Name()); err != nil {
				return err
			}
		}
	}
	return nil
}

// topic checks a topic's metadata and its partitions. With unreadable
// metadata, the partition directories found are checked.
func (c *checker) topic(name string) error {
	tdir := filepath.Join(c.dir, "topics", name)
	if err := checkEntry(tdir, true); err != nil {
		c.add(LogCheck{Path: rel("topics", name), Topic: name, Partition: -1, Status: CheckCorrupt, Problems: []string{err.Error()}})
		return nil
	}
	ents, err := os.ReadDir(tdir)
	if err != nil {
		return fmt.Errorf("brook: check %s: %w", tdir, err)
	}
	var dirs []int // the partition directories found
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		switch {
		case err == nil && p >= 0 && strconv.Itoa(p) == e.Name() && (e.IsDir() || e.Type()&fs.ModeSymlink != 0):
			dirs = append(dirs, p)
		case e.Name() != "topic.json":
			c.rep.Stray = append(c.rep.Stray, rel("topics", name, e.Name()))
		}
	}
	slices.Sort(dirs)
	meta, err := readTopicMeta(tdir, name)
	if err != nil {
		c.add(LogCheck{Path: rel("topics", name, "topic.json"), Topic: name, Partition: -1,
			Status: statusOf(err), Problems: []string{err.Error()}})
		for _, p := range dirs {
			c.add(c.partition(name, p))
		}
		return nil
	}
	for p := range meta.Partitions {
		c.add(c.partition(name, p))
	}
	for _, p := range dirs {
		if p >= meta.Partitions {
			c.rep.Stray = append(c.rep.Stray, rel("topics", name, strconv.Itoa(p)))
		}
	}
	return nil
}

// partition checks one partition's log.
func (c *checker) partition(topic string, p int) LogCheck {
	res := LogCheck{Path: rel("topics", topic, strconv.Itoa(p)), Topic: topic, Partition: p, Status: CheckOK}
	l, ok := c.openLog(&res, filepath.Join(c.dir, res.Path), true)
	if !ok {
		return res
	}
	verifyLog(l, &res)
	if err := l.Close(); err != nil {
		res.problem(CheckError, "close: "+err.Error())
	}
	return res
}

// groups checks every group's committed offsets.
func (c *checker) groups() error {
	ents, err := readDirIfExists(filepath.Join(c.dir, "groups"))
	if err != nil {
		return err
	}
	for _, e := range ents {
		path := rel("groups", e.Name())
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			c.add(LogCheck{Path: path, Group: e.Name(), Partition: -1, Status: CheckCorrupt,
				Problems: []string{checkMode(filepath.Join(c.dir, path), e.Type(), true).Error()}})
		case !e.IsDir() || !validName(e.Name()):
			c.rep.Stray = append(c.rep.Stray, path)
		default:
			c.add(c.group(e.Name()))
		}
	}
	return nil
}

// notePastEnd notes each committed offset past its partition's end.
func (c *checker) notePastEnd() {
	ends := make(map[TopicPartition]int64)
	for _, l := range c.rep.Logs {
		if l.Topic != "" && l.Partition >= 0 && !l.Status.Damaged() {
			ends[TopicPartition{Topic: l.Topic, Partition: l.Partition}] = l.NextOffset
		}
	}
	for i := range c.rep.Logs {
		g := &c.rep.Logs[i]
		for _, tp := range slices.SortedFunc(maps.Keys(g.Committed), compareTopicPartition) {
			if end, ok := ends[tp]; ok && g.Committed[tp] > end {
				g.Notes = append(g.Notes, fmt.Sprintf("committed offset %d of %s is past its end %d; the group moves it back to %d when it loads",
					g.Committed[tp], tp, end, end))
			}
		}
	}
}

// group checks a group's committed offsets: the log's records, then their
// replay as the group loads them.
func (c *checker) group(id string) LogCheck {
	res := LogCheck{Path: rel("groups", id), Group: id, Partition: -1, Status: CheckOK}
	l, ok := c.openLog(&res, filepath.Join(c.dir, res.Path), false)
	if !ok {
		return res
	}
	defer l.Close()
	verifyLog(l, &res)
	if res.Status.Damaged() {
		return res
	}
	s := &offsetStore{log: l, logger: c.opts.Logger, committed: make(map[TopicPartition]int64), dirty: make(map[TopicPartition]struct{})}
	if err := s.replay(); err != nil {
		res.problem(CheckCorrupt, fmt.Sprintf("the group fails to load: %v: committed offsets %s: %v", ErrCorrupt, res.Path, err))
		return res
	}
	res.Committed = s.all()
	return res
}

// openLog opens the log in dir for res (read-only unless RepairTails),
// noting a repaired tail. It reports false, with res's problem set, when
// the log cannot be opened.
func (c *checker) openLog(res *LogCheck, dir string, partition bool) (*storage.Log, bool) {
	err := checkEntry(dir, true)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if partition {
			res.problem(CheckMissing, fmt.Sprintf("%v: partition directory %s is missing", ErrCorrupt, dir))
		} else {
			res.problem(CheckMissing, err.Error())
		}
		return nil, false
	case err != nil:
		res.problem(CheckCorrupt, err.Error())
		return nil, false
	}
	l, err := storage.Open(dir, &storage.Options{Sync: storage.SyncNever, ReadOnly: !c.opts.RepairTails,
		OpenDamaged: partition, Logger: c.opts.Logger})
	if err != nil {
		res.problem(statusOf(err), err.Error())
		return nil, false
	}
	if rec := l.Recovery(); rec.TruncatedBytes > 0 || rec.TruncatedRecords > 0 {
		res.Status = CheckRepaired
		res.TailRepair = &TailRepair{TruncatedRecords: rec.TruncatedRecords, TruncatedBytes: rec.TruncatedBytes,
			SavedTo: rec.SavedTo, Reason: rec.Reason}
	}
	res.FirstOffset, res.NextOffset, res.Bytes = l.FirstOffset(), l.NextOffset(), l.Size()
	return l, true
}

// add appends res to the report.
func (c *checker) add(res LogCheck) { c.rep.Logs = append(c.rep.Logs, res) }

// problem notes a problem and the status it implies; a status already
// damaged stays as it is.
func (res *LogCheck) problem(status CheckStatus, p string) {
	res.Problems = append(res.Problems, p)
	if !res.Status.Damaged() {
		res.Status = status
	}
}

// statusOf returns the status an error implies.
func statusOf(err error) CheckStatus {
	if errors.Is(err, ErrCorrupt) || errors.Is(err, storage.ErrCorrupt) ||
		errors.Is(err, ErrUnexpectedFile) || errors.Is(err, storage.ErrUnexpectedFile) {
		return CheckCorrupt
	}
	return CheckError
}

// openError returns what a read-only Open of dir returns (the validation
// every Open does), nil when it succeeds.
func openError(dir string, logger *slog.Logger) error {
	b, err := Open(dir, &Options{ReadOnly: true, Logger: logger})
	if err != nil {
		return err
	}
	return b.Close()
}

// readDirIfExists is os.ReadDir, with no entries for a missing directory.
func readDirIfExists(dir string) ([]fs.DirEntry, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("brook: check %s: %w", dir, err)
	}
	return ents, nil
}

// verifyLog reads every record of l, counting those that read back whole
// and in order. It reads one segment at a time, because a read returns
// nothing past damage: a damaged segment is reported and skipped, and the
// report covers the rest of the log.
func verifyLog(l *storage.Log, res *LogCheck) {
	if err := l.Damage(); err != nil { // found by Open (OpenDamaged)
		res.damage(err)
	}
	starts := l.SegmentOffsets()
	next := l.NextOffset()
	for off := l.FirstOffset(); off < next; {
		end := next // the start of the next segment, or the end of the log
		if i := firstAfter(starts, off); i < len(starts) {
			end = min(starts[i], next)
		}
		recs, err := l.Read(off, int(min(end-off, 10000)), 8<<20)
		if err != nil {
			if !errors.Is(err, storage.ErrCorrupt) {
				res.problem(CheckError, err.Error())
				return
			}
			res.damage(err)
			off = end
			continue
		}
		if len(recs) == 0 {
			res.problem(CheckCorrupt, fmt.Sprintf("no record at offset %d, before the end %d", off, next))
			return
		}
		for _, r := range recs {
			if r.Offset != off {
				res.problem(CheckCorrupt, fmt.Sprintf("offset %d follows %d", r.Offset, off-1))
			}
			off = r.Offset + 1
			res.Records++
		}
	}
}

// firstAfter returns the index of the first element of sorted greater than
// v, or len(sorted).
func firstAfter(sorted []int64, v int64) int {
	i, found := slices.BinarySearch(sorted, v)
	if found {
		i++
	}
	return i
}

// damage notes a *storage.CorruptError (once per place).
func (res *LogCheck) damage(err error) {
	var ce *storage.CorruptError
	if !errors.As(err, &ce) {
		res.problem(CheckCorrupt, err.Error())
		return
	}
	d := Damage{Segment: ce.Segment, Offset: ce.Offset, Reason: ce.Reason}
	if slices.Contains(res.Damage, d) {
		return
	}
	res.Damage = append(res.Damage, d)
	res.problem(CheckCorrupt, err.Error())
}
