package storage

import (
	"bufio"
	"context"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const crashChildEnv = "BROOK_CRASH_CHILD_DIR"

// crashValue is the payload of the seq-th record of appender g of this
// process, in a batch of n records that starts with its record first.
func crashValue(g, seq, first, n int) []byte {
	return []byte(fmt.Sprintf("p%d-g%02d-b%08d/%02d-seq%08d-%s", os.Getpid(), g, first, n, seq, "0123456789abcdefghijklmnopqrstuvwxyz"[:seq%37]))
}

// checkWholeBatches requires that every batch of the log is there whole:
// as many records of it as its size, and no more (a batch is all or
// nothing, also across a crash).
func checkWholeBatches(t *testing.T, recs []Record, msg string) {
	t.Helper()
	count := map[string]int{}
	size := map[string]int{}
	for _, r := range recs {
		var pid, g, first, n int
		_, err := fmt.Sscanf(string(r.Value), "p%d-g%02d-b%08d/%02d-", &pid, &g, &first, &n)
		require.NoError(t, err, "value %q", r.Value)
		id := fmt.Sprintf("%d/%d/%d", pid, g, first)
		count[id]++
		size[id] = n
	}
	for id, c := range count {
		require.Equal(t, size[id], c, "batch %s has %d of its %d records, %s", id, c, size[id], msg)
	}
}

// crashChild appends with the default policy from several goroutines and
// prints "offset crc" for every acknowledged record, until it is killed.
func crashChild(dir string) {
	l, err := Open(dir, &Options{SegmentSize: 64 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	var out sync.Mutex
	for g := 0; g < 8; g++ {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			for seq := 0; ; {
				recs := make([]Record, 1+rng.IntN(20))
				batchFirst := seq
				for i := range recs {
					recs[i] = Record{Key: []byte{byte(g)}, Value: crashValue(g, seq, batchFirst, len(recs))}
					seq++
				}
				first, err := l.Append(context.Background(), recs)
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				var b []byte
				for i, r := range recs {
					b = fmt.Appendf(b, "%d %d\n", first+int64(i), crc32.ChecksumIEEE(r.Value))
				}
				out.Lock()
				os.Stdout.Write(b) // one write per batch: lines arrive whole
				out.Unlock()
			}
		}()
	}
	time.Sleep(time.Minute) // the parent kills us long before
	os.Exit(4)
}

// TestCrash runs a child that appends and prints each acknowledged offset,
// SIGKILLs it at a random moment, reopens the log and requires every
// acknowledged record intact, in order. BROOK_CRASH_ROUNDS sets the number
// of rounds (default 20), BROOK_SEED replays a run.
func TestCrash(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("short")
	}
	rounds := 20
	if s := os.Getenv("BROOK_CRASH_ROUNDS"); s != "" {
		var err error
		rounds, err = strconv.Atoi(s)
		require.NoError(t, err)
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("BROOK_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
	}
	t.Logf("BROOK_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	acked := map[int64]uint32{} // over all rounds
	for round := 0; round < rounds; round++ {
		n := crashRound(t, dir, time.Duration(rng.IntN(150_000))*time.Microsecond, acked)
		if rng.IntN(2) == 0 {
			losePower(t, dir, acked, rng)
		}
		l, err := Open(dir, nil)
		require.NoError(t, err, "round %d (BROOK_SEED=%d)", round, seed)
		recs := readAll(t, l, 0)
		require.Len(t, recs, int(l.NextOffset()))
		for i, r := range recs {
			require.Equal(t, int64(i), r.Offset)
			if want, ok := acked[r.Offset]; ok {
				require.Equal(t, want, crc32.ChecksumIEEE(r.Value), "offset %d, round %d (BROOK_SEED=%d)", r.Offset, round, seed)
			}
		}
		for off := range acked {
			require.Less(t, off, l.NextOffset(), "acknowledged offset %d lost, round %d (BROOK_SEED=%d)", off, round, seed)
		}
		checkWholeBatches(t, recs, fmt.Sprintf("round %d (BROOK_SEED=%d)", round, seed))
		rec := l.Recovery()
		t.Logf("round %d: %d acked this round, log holds %d, recovery: %+v", round, n, l.NextOffset(), rec)
		require.NoError(t, l.Close())
	}
	assert.NotEmpty(t, acked)
}

// crashRound runs the child for about d, kills it and records what it
// acknowledged. It returns the number of records acknowledged.
func crashRound(t *testing.T, dir string, d time.Duration, acked map[int64]uint32) int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	timer := time.AfterFunc(d, func() { cmd.Process.Signal(syscall.SIGKILL) })
	defer timer.Stop()
	n := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var off int64
		var crc uint32
		_, err := fmt.Sscanf(sc.Text(), "%d %d", &off, &crc)
		require.NoError(t, err, "line %q", sc.Text())
		_, dup := acked[off]
		require.False(t, dup, "offset %d acknowledged twice", off)
		acked[off] = crc
		n++
	}
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	require.True(t, ok, "child must be killed, got %v", err)
	require.Equal(t, syscall.SIGKILL, ee.Sys().(syscall.WaitStatus).Signal(), "child: %v", err)
	return n
}

// losePower simulates what a power loss may do, under SyncAlways, to what
// was written but not acknowledged: cut the tail segment anywhere after
// the last acknowledged record, maybe leaving zeros (a file extended whose
// data never reached the disk), or lose a segment file created by an
// unacknowledged batch.
func losePower(t *testing.T, dir string, acked map[int64]uint32, rng *rand.Rand) {
	maxAcked := int64(-1)
	for off := range acked {
		maxAcked = max(maxAcked, off)
	}
	segs := segFiles(t, dir)
	if len(segs) == 0 { // the child was killed before Open created one
		require.Empty(t, acked)
		return
	}
	tail := segs[len(segs)-1]
	base, _ := parseSegmentName(filepath.Base(tail))
	data, err := os.ReadFile(tail)
	require.NoError(t, err)
	var ends []int // end of each complete frame
	for p := 0; p < len(data); {
		_, size, complete, _, bad := nextFrame(data[p:])
		if !complete || bad {
			break
		}
		p += size
		ends = append(ends, p)
	}
	ackedEnd := 0
	if maxAcked >= base {
		require.Less(t, int(maxAcked-base), len(ends), "acknowledged offset %d not on disk", maxAcked)
		ackedEnd = ends[maxAcked-base]
	}
	if ackedEnd == 0 && len(segs) > 1 && rng.IntN(3) == 0 {
		require.NoError(t, os.Remove(tail)) // its directory entry never made it
		return
	}
	cut := ackedEnd + rng.IntN(len(data)-ackedEnd+1)
	data = data[:cut]
	if rng.IntN(2) == 0 {
		data = append(data, make([]byte, rng.IntN(4096))...)
	}
	require.NoError(t, os.WriteFile(tail, data, 0o600))
}
