//go:build unix

package brook

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReliabilityPowerLoss simulates power losses of the whole broker. A
// power loss keeps only what was fsynced, and a directory entry only once
// its directory was fsynced; a SIGKILL (TestReliabilityCrash) keeps the
// page cache too, so it cannot show a missing fsync.
//
// The test binary runs itself as a child that opens the broker on the data
// directory with a recording file system (plRecorder, installed through
// the storage FS seam and the broker's metadata seam, metaFS) and runs
// everything at once: producers on a SyncAlways topic and on a SyncInterval
// topic (Publish and PublishBatch), a consumer group committing
// automatically, a ManualCommit group committing with Commit, a third
// topic created and deleted again and again, and retention dropping
// segments. It prints every acknowledged publish (A), every commit that
// Commit acknowledged (C), and, after each fsync that returned:
//
//	F <file> <length>        the file is durable up to length
//	D <dir> <entries...>     the directory's entries are durable (listed before the fsync)
//	R <old> <new> <copy|->   a rename (and a hard-linked copy of the file it replaced)
//	X <file> <copy>          a removal (and a hard-linked copy of the file)
//
// tidwall/wal fsyncs on its own (it creates and rolls segment files with
// package os): its fsyncs are inferred. When a write rolls the log, wal's
// cycle() has fsynced the sealed segment at its final size before creating
// the next, so after every write each segment but the newest is reported
// durable at its size; after every storage fsync of the tail (WALSync) the
// tail is reported at its size.
//
// The parent kills the child at a random moment, then makes the data
// directory what the power loss may leave (plDisk.powerCut): renames not
// made durable are undone, entries created since their directory's last
// fsync are removed, removals not made durable are undone from the copies,
// and every file is cut back to its durable length, sometimes keeping a
// random part of what followed or zeros in its place. Then it reopens and
// checks:
//
//   - the open never fails;
//   - SyncAlways: every acknowledged publish is there at its offset (unless
//     retention dropped it), every commit Commit acknowledged holds, and
//     committed offsets never point past the data;
//   - SyncInterval: an acknowledged publish may be lost only if it was
//     acknowledged at most one SyncInterval (plus plLossSlack for a loaded
//     machine) before the partition's last acknowledgement (not the kill:
//     see verifyPowerLoss); committed offsets may then point
//     past the data, and the group's load moves them back to the end of
//     the partition, with the warning "brook: committed offset past the
//     end of its partition (its tail was lost); moved back to the end" and
//     GroupPartitionStats.ClampedFrom (the test requires both);
//   - every batch is whole or absent (except one cut at the front by
//     retention), in every topic, and what a round found stays.
//
// What it cannot model:
//
//   - tidwall/wal's real fsync calls: its writes are not seen, only
//     inferred from the segment files after each write. A wal that rolled
//     without fsyncing would not be caught, and wal.Open's own creation of
//     a first segment is only durable through storage's directory fsync.
//
//   - the order in which a kernel writes back unsynced data: a file's
//     unsynced tail is cut at one random point (or zeroed), never written
//     back with holes in the middle, and unsynced overwrites below the
//     durable length are not undone (Brook only appends, and rewrites
//     files through a new file and a rename).
//
//   - a truncation not yet fsynced is taken as done: the bytes it removed
//     are not brought back.
//
//   - renames are atomic, and durable once either directory is fsynced (a
//     journaled file system: ext4, XFS), not the stricter POSIX reading in
//     which the source's removal and the target's creation are separate.
//
//   - removals the broker makes outside both seams (os.RemoveAll of the
//     staging directory tmp/, of a deleted topic's or group's directory,
//     of a temporary file) are not undone: their files are gone; all of
//     them are inside tmp/ (which Open empties) or follow a durable rename.
//
//   - the machine is cleanly shut down between rounds: the directory as
//     the parent's own check left it is taken as durable.
//
//   - file systems that lose a file's size or content after an fsync
//     returned, or that corrupt data (that is TestCrash's and the
//     corruption tests' business).
//
//     go test -race -run '^TestReliabilityPowerLoss$' .                          # 32 rounds
//     BROOK_POWERLOSS_ROUNDS=300 go test -race -run '^TestReliabilityPowerLoss$' .
//     BROOK_SEED=123 ...                                                          # replay a seed's choices
func TestReliabilityPowerLoss(t *testing.T) {
	if dir := os.Getenv(plChildDirEnv); dir != "" {
		powerLossChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	rounds := envInt(t, "BROOK_POWERLOSS_ROUNDS", 32)
	seed := reliabilitySeed(t)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	base := t.TempDir()
	dir, shadow := filepath.Join(base, "data"), filepath.Join(base, "shadow")
	require.NoError(t, os.Mkdir(dir, 0o700))
	st := &plState{known: map[TopicPartition]map[int64]string{}}
	start := time.Now()
	for round := 0; round < rounds; round++ {
		require.NoError(t, os.RemoveAll(shadow))
		require.NoError(t, os.Mkdir(shadow, 0o700))
		disk := newPLDisk(t, dir)
		lines := runPLChild(t, dir, shadow, round, seed, rng)
		rr := plRound{round: round, commits: map[TopicPartition]int64{}}
		for _, line := range lines {
			f := strings.Fields(line)
			switch {
			case len(f) == 0 || f[0] == "OPEN":
			case f[0] == "A" && len(f) == 6:
				rr.acks = append(rr.acks, parsePLAck(t, f))
			case f[0] == "C" && len(f) == 4:
				p, err1 := strconv.Atoi(f[2])
				off, err2 := strconv.ParseInt(f[3], 10, 64)
				require.NoError(t, errors.Join(err1, err2), "line %q", line)
				tp := TopicPartition{Topic: f[1], Partition: p}
				rr.commits[tp] = max(rr.commits[tp], off)
			default:
				disk.apply(t, f)
			}
		}
		disk.powerCut(t, rng)
		st.cut.add(disk.st)
		verifyPowerLoss(t, dir, &rr, st)
		if t.Failed() {
			t.Fatalf("round %d failed (BROOK_SEED=%d)", round, seed)
		}
	}
	t.Logf("%d rounds in %v: %d acknowledged publishes (%d under SyncInterval, %d of them lost, acknowledged at most %v before their partition's last), %d acknowledged commits; committed offsets past the data %d times (SyncInterval only, moved back at load); %d tails repaired; power cuts: %+v",
		rounds, time.Since(start).Round(time.Millisecond), st.acks, st.intervalAcks, st.lost, st.maxLossAge.Round(time.Millisecond),
		st.commits, st.pastData, st.repairs, st.cut)
}

const (
	plChildDirEnv    = "BROOK_POWERLOSS_CHILD_DIR"
	plChildShadowEnv = "BROOK_POWERLOSS_CHILD_SHADOW"
	plChildRoundEnv  = "BROOK_POWERLOSS_CHILD_ROUND"
	plChildSeedEnv   = "BROOK_POWERLOSS_CHILD_SEED"

	plAlways   = "pl-always"   // SyncAlways
	plInterval = "pl-interval" // SyncInterval
	plSide     = "pl-side"     // created and deleted
	plAuto     = "pl-auto"     // a group committing automatically
	plManual   = "pl-manual"   // a group committing with Commit

	plSyncInterval = 25 * time.Millisecond
	// plLossSlack is how late, on a loaded machine, the background fsync
	// of a SyncInterval partition may complete after its interval.
	plLossSlack = 300 * time.Millisecond
)

// plAck is one acknowledged publish.
type plAck struct {
	tp     TopicPartition
	offset int64
	at     time.Time
	value  string
}

func parsePLAck(t *testing.T, f []string) plAck {
	p, err1 := strconv.Atoi(f[2])
	off, err2 := strconv.ParseInt(f[3], 10, 64)
	ns, err3 := strconv.ParseInt(f[4], 10, 64)
	require.NoError(t, errors.Join(err1, err2, err3), "line %q", f)
	return plAck{tp: TopicPartition{Topic: f[1], Partition: p}, offset: off, at: time.Unix(0, ns), value: f[5]}
}

// plRound is what the child of one round reported.
type plRound struct {
	round   int
	acks    []plAck
	commits map[TopicPartition]int64 // the highest acknowledged by Commit
}

// plState is what the parent knows across rounds.
type plState struct {
	known map[TopicPartition]map[int64]string // the data as the last check found it
	// totals for the report
	acks, intervalAcks, lost, commits, pastData, repairs int
	maxLossAge                                           time.Duration
	cut                                                  plCutStats
}

func (s *plCutStats) add(o plCutStats) {
	s.filesCut += o.filesCut
	s.bytesCut += o.bytesCut
	s.entriesDropped += o.entriesDropped
	s.renamesUndone += o.renamesUndone
	s.removalsUndone += o.removalsUndone
	s.zeroTails += o.zeroTails
	s.partialTails += o.partialTails
}

// runPLChild starts a child on dir, kills it at a random moment (long
// enough after OPEN for several SyncInterval fsyncs and retention runs)
// and returns what it printed.
func runPLChild(t *testing.T, dir, shadow string, round int, seed int64, rng *rand.Rand) []string {
	t.Helper()
	lines, _ := killedChild{
		test: "TestReliabilityPowerLoss",
		env: []string{plChildDirEnv + "=" + dir, plChildShadowEnv + "=" + shadow,
			plChildRoundEnv + "=" + strconv.Itoa(round), plChildSeedEnv + "=" + strconv.FormatInt(seed, 10)},
		maxDelay: 700 * time.Millisecond,
	}.run(t, round, rng)
	return lines
}

// verifyPowerLoss reopens dir after the power cut and checks what the round
// acknowledged and what earlier rounds left.
func verifyPowerLoss(t *testing.T, dir string, rr *plRound, st *plState) {
	t.Helper()
	logs := newCountingHandler()
	b, err := Open(dir, &Options{Logger: slog.New(logs)})
	require.NoError(t, err, "round %d: the broker must always reopen after a power loss", rr.round)
	defer func() { require.NoError(t, b.Close()) }()
	st.repairs += logs.count("brook: repaired partition tail")

	names, err := b.Topics()
	require.NoError(t, err)
	data := map[TopicPartition]map[int64]string{}
	first := map[TopicPartition]int64{}
	for _, topic := range []string{plAlways, plInterval, plSide} {
		if !contains(names, topic) {
			// Never created (killed first), or the side topic deleted.
			if topic != plSide {
				for _, a := range rr.acks {
					require.NotEqual(t, topic, a.tp.Topic, "round %d: %s, with acknowledged publishes, lost", rr.round, topic)
				}
				for tp := range st.known {
					require.NotEqual(t, topic, tp.Topic, "round %d: %s, there after an earlier round, lost", rr.round, topic)
				}
			}
			continue
		}
		tp, err := b.Topic(topic)
		require.NoError(t, err)
		for p, ps := range tp.Stats().Partitions {
			key := TopicPartition{Topic: topic, Partition: p}
			msgs := readAll(t, b, topic, p) // readable and contiguous
			if topic == plSide {
				continue
			}
			data[key], first[key] = checkPLPartition(t, rr.round, key, msgs, ps.FirstOffset), ps.FirstOffset
		}
	}
	for tp, old := range st.known { // what a check found stays
		for off, v := range old {
			if off >= first[tp] {
				assert.Equal(t, v, data[tp][off], "round %d: %v@%d, there after an earlier round, changed", rr.round, tp, off)
			}
		}
	}
	// The loss window is measured back from the last acknowledgement of
	// the same partition the child reported, not from the kill: a fsync
	// holds the log's lock, so a slow one (a loaded disk) stops the
	// partition's acknowledgements while it runs, and a child whose stdout
	// is full (the parent reading slowly) stalls in a report, holding the
	// lock too. A syncer that stopped would still be caught: what it left
	// unsynced would span far more than one interval of acknowledgements.
	lastAck := map[TopicPartition]time.Time{}
	for _, a := range rr.acks {
		if a.at.After(lastAck[a.tp]) {
			lastAck[a.tp] = a.at
		}
	}
	for _, a := range rr.acks {
		st.acks++
		if a.tp.Topic == plInterval {
			st.intervalAcks++
		}
		if a.offset < first[a.tp] {
			continue // retention dropped it
		}
		v, ok := data[a.tp][a.offset]
		if ok {
			assert.Equal(t, a.value, v, "round %d: acknowledged %v@%d", rr.round, a.tp, a.offset)
			continue
		}
		if a.tp.Topic == plAlways {
			t.Errorf("round %d: acknowledged %s at %v@%d (SyncAlways) lost", rr.round, a.value, a.tp, a.offset)
			continue
		}
		st.lost++
		age := lastAck[a.tp].Sub(a.at)
		st.maxLossAge = max(st.maxLossAge, age)
		assert.LessOrEqual(t, age, plSyncInterval+plLossSlack, "round %d: %s at %v@%d (SyncInterval) lost, acknowledged %v before the partition's last acknowledgement", rr.round, a.value, a.tp, a.offset, age)
	}
	st.known = data
	checkPLCommits(t, b, logs, rr, data, first, st)
}

// checkPLPartition checks one partition's messages: every batch whole
// (or cut at the front by retention), each producer's messages in order.
// It returns the partition's content by offset.
func checkPLPartition(t *testing.T, round int, tp TopicPartition, msgs []*Message, first int64) map[int64]string {
	content := make(map[int64]string, len(msgs))
	type batch struct {
		n, got int
		lowest int64
	}
	batches := map[string]*batch{}
	lastSeq := map[string]int{}
	for _, m := range msgs {
		v := string(m.Value)
		content[m.Offset] = v
		if id, rest, ok := strings.Cut(v, "/"); ok { // r<round>.<producer>.<first>/<n>.<i>
			nstr, _, _ := strings.Cut(rest, ".")
			n, err := strconv.Atoi(nstr)
			require.NoError(t, err, "value %q", v)
			bt := batches[id]
			if bt == nil {
				bt = &batch{n: n, lowest: m.Offset}
				batches[id] = bt
			}
			bt.got++
			continue
		}
		key, seq := crashPayloadKey(t, v)
		if last, ok := lastSeq[key]; ok && seq <= last {
			t.Errorf("round %d: %v: %s after seq %d of the same producer", round, tp, v, last)
		}
		lastSeq[key] = seq
	}
	for id, bt := range batches {
		if bt.got != bt.n && !(bt.got < bt.n && bt.lowest == first) {
			t.Errorf("round %d: %v: batch %s has %d of its %d messages", round, tp, id, bt.got, bt.n)
		}
	}
	return content
}

// checkPLCommits checks the groups' committed offsets: none points past
// the data, and the commits Commit acknowledged hold. Under SyncInterval a
// lost tail may leave a committed offset past the data: the group's load
// moves it back to the end, logs a warning and shows what it was in
// GroupPartitionStats.ClampedFrom, which then is what must hold. Under
// SyncAlways that never happens.
func checkPLCommits(t *testing.T, b *Broker, logs *countingHandler, rr *plRound, data map[TopicPartition]map[int64]string, first map[TopicPartition]int64, st *plState) {
	t.Helper()
	next := func(tp TopicPartition) int64 { return first[tp] + int64(len(data[tp])) }
	clamps := 0
	for _, g := range []string{plAuto, plManual} {
		gs, err := b.GroupStats(g)
		if errors.Is(err, ErrUnknownGroup) {
			if g == plManual {
				assert.Empty(t, rr.commits, "round %d: group %s, with acknowledged commits, lost", rr.round, g)
			}
			continue
		}
		require.NoError(t, err)
		committed := map[TopicPartition]int64{}
		for _, ps := range gs.Partitions {
			committed[ps.TopicPartition] = ps.Committed
			assert.LessOrEqual(t, ps.Committed, next(ps.TopicPartition), "round %d: %s: %v committed past the data", rr.round, g, ps.TopicPartition)
			if ps.ClampedFrom < 0 {
				continue
			}
			if ps.Topic == plAlways {
				t.Errorf("round %d: %s: %v committed at %d, past the data (%d)", rr.round, g, ps.TopicPartition, ps.ClampedFrom, ps.Committed)
				continue
			}
			clamps++
			st.pastData++
			committed[ps.TopicPartition] = ps.ClampedFrom
		}
		if g != plManual {
			continue
		}
		for tp, off := range rr.commits {
			st.commits++
			assert.GreaterOrEqual(t, committed[tp], off, "round %d: %v: commit of %d acknowledged, lost", rr.round, tp, off)
		}
	}
	assert.Equal(t, clamps, logs.count("brook: committed offset past the end of its partition (its tail was lost); moved back to the end"),
		"round %d: each committed offset moved back is logged", rr.round)
}
