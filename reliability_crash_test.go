package brook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The whole-broker crash test. The test binary runs itself as a child
// (crashChildDirEnv names the data directory) that opens a broker with the
// default durability policy, publishes from several producers (Publish and
// PublishAsync) to a multi-partition topic while a consumer group handles
// and commits, and prints every acknowledged publish and every handled
// message. The parent kills it with SIGKILL at a random moment, reopens
// the directory and checks the data, the committed offsets and a resuming
// consumer; then it starts the next round on the same directory.
//
//	go test -race -run '^TestReliabilityCrash$' .                        # 20 rounds
//	BROOK_CRASH_ROUNDS=200 go test -race -run '^TestReliabilityCrash$' .
//	BROOK_SEED=123 ...                                                   # replay a seed
const (
	crashChildDirEnv   = "BROOK_CRASH_CHILD_DIR"
	crashChildRoundEnv = "BROOK_CRASH_CHILD_ROUND"
	crashChildSeedEnv  = "BROOK_CRASH_CHILD_SEED"

	crashTopic      = "crash"
	crashSideTopic  = "side"
	crashGroup      = "crash-g"
	crashSideGroup  = "side-g"
	crashPartitions = 4
	crashSyncQuota  = 120 // messages per synchronous producer and round
	crashAsyncQuota = 240 // messages of the asynchronous producer per round
)

// crashPos is a message's place in the log.
type crashPos struct {
	partition int
	offset    int64
}

// crashState is what the parent knows across rounds.
type crashState struct {
	acked   map[crashPos]string // acknowledged publishes
	handled map[crashPos]string // messages some consumer handled (child or parent)
	// totals for the report
	acks, redelivered, repairs, killedBeforeOpen int
}

func TestReliabilityCrash(t *testing.T) {
	if dir := os.Getenv(crashChildDirEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	rounds := envInt(t, "BROOK_CRASH_ROUNDS", 20)
	seed := reliabilitySeed(t)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	dir := t.TempDir()
	st := &crashState{acked: map[crashPos]string{}, handled: map[crashPos]string{}}
	start := time.Now()
	for round := 0; round < rounds; round++ {
		lines := runCrashChild(t, dir, round, seed, rng, st)
		verifyAfterCrash(t, dir, round, lines, st)
		if t.Failed() {
			t.Fatalf("round %d failed (seed %d)", round, seed)
		}
	}
	t.Logf("%d rounds in %v: %d acknowledged publishes, all present; %d messages redelivered after a crash (at-least-once); %d partition tails repaired; %d kills before Open finished",
		rounds, time.Since(start).Round(time.Millisecond), st.acks, st.redelivered, st.repairs, st.killedBeforeOpen)
}

// runCrashChild starts a child on dir, kills it at a random moment and
// returns what it printed.
func runCrashChild(t *testing.T, dir string, round int, seed int64, rng *rand.Rand, st *crashState) []string {
	t.Helper()
	lines, opened := killedChild{
		test: "TestReliabilityCrash",
		env: []string{crashChildDirEnv + "=" + dir,
			crashChildRoundEnv + "=" + strconv.Itoa(round),
			crashChildSeedEnv + "=" + strconv.FormatInt(seed, 10)},
		maxDelay: 400 * time.Millisecond,
	}.run(t, round, rng)
	if !opened {
		st.killedBeforeOpen++
	}
	return lines
}

// verifyAfterCrash reopens dir and checks everything the child reported.
func verifyAfterCrash(t *testing.T, dir string, round int, lines []string, st *crashState) {
	t.Helper()
	logs := newCountingHandler()
	b, err := Open(dir, &Options{Logger: slog.New(logs)})
	require.NoError(t, err, "round %d: the broker must always reopen after a crash", round)
	defer func() { require.NoError(t, b.Close()) }()
	st.repairs += logs.count("brook: repaired partition tail")

	// What the child said.
	for _, line := range lines {
		f := strings.Fields(line)
		switch {
		case len(f) == 4 && (f[0] == "A" || f[0] == "H"):
			p, err1 := strconv.Atoi(f[1])
			off, err2 := strconv.ParseInt(f[2], 10, 64)
			require.NoError(t, errors.Join(err1, err2), "line %q", line)
			pos := crashPos{p, off}
			if f[0] == "A" {
				if prev, dup := st.acked[pos]; dup {
					t.Errorf("round %d: %s/%d@%d acknowledged twice: %s and %s", round, crashTopic, p, off, prev, f[3])
				}
				st.acked[pos] = f[3]
				st.acks++
			} else {
				st.handled[pos] = f[3]
			}
		case line == "OPEN":
		default:
			t.Errorf("round %d: child reported %q", round, line)
		}
	}

	names, err := b.Topics()
	require.NoError(t, err)
	if len(st.acked) == 0 && !contains(names, crashTopic) {
		return // killed before the topic was created
	}
	require.Contains(t, names, crashTopic, "round %d", round)
	if contains(names, crashSideTopic) {
		tp, err := b.Topic(crashSideTopic)
		require.NoError(t, err)
		for p := 0; p < tp.Partitions(); p++ {
			readAll(t, b, crashSideTopic, p) // readable, contiguous
		}
	}
	// The side group's offsets belong to the side topic as it is now: none
	// survives a deletion, none points past the data.
	if gs, err := b.GroupStats(crashSideGroup); err == nil {
		for _, ps := range gs.Partitions {
			assert.LessOrEqual(t, ps.Committed, ps.End, "round %d: %v committed past the data", round, ps.TopicPartition)
		}
	} else {
		require.ErrorIs(t, err, ErrUnknownGroup)
	}

	// Every acknowledged publish is present exactly once, at its offset,
	// and each producer's messages are in order in each partition.
	next := make([]int64, crashPartitions)
	logged := map[string]crashPos{}
	for p := 0; p < crashPartitions; p++ {
		msgs := readAll(t, b, crashTopic, p)
		next[p] = int64(len(msgs))
		lastSeq := map[string]int{}
		for _, m := range msgs {
			v := string(m.Value)
			pos := crashPos{p, m.Offset}
			if prev, dup := logged[v]; dup {
				t.Errorf("round %d: %s stored twice: %v and %v", round, v, prev, pos)
			}
			logged[v] = pos
			key, seq := crashPayloadKey(t, v)
			if last, ok := lastSeq[key]; ok && seq <= last {
				t.Errorf("round %d: partition %d: %s after seq %d of the same producer", round, p, v, last)
			}
			lastSeq[key] = seq
			if h, ok := st.handled[pos]; ok && h != v {
				t.Errorf("round %d: %v handled as %s but stored as %s", round, pos, h, v)
			}
		}
	}
	for pos, v := range st.acked {
		got, ok := logged[v]
		if !assert.True(t, ok, "round %d: acknowledged %s at %v is lost", round, v, pos) {
			continue
		}
		assert.Equal(t, pos, got, "round %d: acknowledged %s moved", round, v)
	}

	// Committed offsets never point past the data, and everything below
	// them was handled (the commit follows the handler).
	gs, err := b.GroupStats(crashGroup)
	if errors.Is(err, ErrUnknownGroup) {
		// Killed before its consumer joined: the group has no offsets yet.
		require.Empty(t, st.handled, "round %d: messages handled by a group that does not exist", round)
		err = nil
	}
	require.NoError(t, err)
	committed := make([]int64, crashPartitions)
	for _, ps := range gs.Partitions {
		if ps.Topic != crashTopic {
			continue
		}
		committed[ps.Partition] = max(ps.Committed, 0)
		assert.LessOrEqual(t, ps.Committed, next[ps.Partition], "round %d: %v committed past the data", round, ps.TopicPartition)
		for off := int64(0); off < ps.Committed; off++ {
			if _, ok := st.handled[crashPos{ps.Partition, off}]; !ok {
				t.Errorf("round %d: %v@%d committed but never handled", round, ps.TopicPartition, off)
				break
			}
		}
	}

	// A consumer of the same group resumes exactly at the committed
	// offsets and gets everything from there on, in order.
	resumeAfterCrash(t, b, round, committed, next, st)
}

// resumeAfterCrash consumes the group from its committed offsets to the end.
func resumeAfterCrash(t *testing.T, b *Broker, round int, committed, next []int64, st *crashState) {
	t.Helper()
	var mu sync.Mutex
	got := make([][]int64, crashPartitions)
	for p := range got {
		got[p] = []int64{}
	}
	c := b.CreateConsumer("verifier", crashGroup)
	require.NoError(t, c.Subscribe(crashTopic))
	stop := runConsumer(t, c, func(_ context.Context, m *Message) error {
		mu.Lock()
		defer mu.Unlock()
		got[m.Partition] = append(got[m.Partition], m.Offset)
		pos := crashPos{m.Partition, m.Offset}
		if _, ok := st.handled[pos]; ok {
			st.redelivered++
		}
		st.handled[pos] = string(m.Value)
		return nil
	})
	eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for p := range got {
			if int64(len(got[p])) < next[p]-committed[p] {
				return false
			}
		}
		return true
	}, "round %d: the resumed consumer gets everything from the committed offsets", round)
	require.NoError(t, stop())
	require.NoError(t, c.Close())
	mu.Lock()
	defer mu.Unlock()
	for p := range got {
		want := make([]int64, 0, next[p]-committed[p])
		for off := committed[p]; off < next[p]; off++ {
			want = append(want, off)
		}
		assert.Equal(t, want, got[p], "round %d: partition %d resumes at committed offset %d, in order, once", round, p, committed[p])
	}
}

// crashPayloadKey splits a payload "r<round>.<producer>.<seq>" into its
// producer key and sequence number.
func crashPayloadKey(t *testing.T, v string) (string, int) {
	i := strings.LastIndexByte(v, '.')
	seq, err := strconv.Atoi(v[i+1:])
	if i < 0 || err != nil {
		t.Fatalf("malformed payload %q", v)
	}
	return v[:i], seq
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// crashChild is the process that gets killed. It never returns: the parent
// kills it, or it exits with an error code the parent reports.
func crashChild(dir string) {
	round, _ := strconv.Atoi(os.Getenv(crashChildRoundEnv))
	seed, _ := strconv.ParseInt(os.Getenv(crashChildSeedEnv), 10, 64)
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stdout, "ERR "+format+"\n", args...)
		os.Exit(3)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(round)+1))
	opts := &Options{} // the default durability policy: SyncAlways
	if rng.IntN(2) == 0 {
		opts.CommitInterval = 5 * time.Millisecond // more offset flushes to crash into
	}
	b, err := Open(dir, opts)
	if err != nil {
		fail("open: %v", err)
	}
	fmt.Fprintln(os.Stdout, "OPEN")
	if _, err := b.CreateNewTopic(crashTopic, crashPartitions); err != nil {
		fail("create topic: %v", err)
	}
	handler := func(_ context.Context, m *Message) error {
		fmt.Fprintf(os.Stdout, "H %d %d %s\n", m.Partition, m.Offset, m.Value)
		return nil
	}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		c := b.CreateConsumer(fmt.Sprintf("c%d", i), crashGroup)
		if err := c.Subscribe(crashTopic); err != nil {
			fail("subscribe: %v", err)
		}
		go func() {
			if err := c.Run(ctx, handler); err != nil {
				fail("run: %v", err)
			}
		}()
	}
	go crashChurnMember(b, rng.Uint64(), handler, fail)
	for i := 0; i < 2; i++ {
		go crashSyncProducer(b, round, i, rng.Uint64(), fail)
	}
	go crashAsyncProducer(b, round, rng.Uint64(), fail)
	go crashSideTopicChurn(b, rng.Uint64(), fail)
	time.Sleep(time.Minute) // the parent kills this process long before
	fail("not killed")
}

// crashChurnMember joins and leaves the group again and again, so that
// kills also land in rebalances and hand-overs. Each run is a new consumer
// chosen at random: automatic or manual commits (Commit after each
// message), ended by its context or by two Close calls at once.
func crashChurnMember(b *Broker, seed uint64, h Handler, fail func(string, ...any)) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := 0; ; i++ {
		manual := rng.IntN(2) == 0
		c := b.CreateConsumerWith(fmt.Sprintf("churn%d", i), crashGroup, ConsumerOptions{ManualCommit: manual})
		if err := c.Subscribe(crashTopic); err != nil {
			fail("subscribe: %v", err)
		}
		run := h
		if manual {
			run = func(ctx context.Context, m *Message) error {
				_ = h(ctx, m)
				if err := c.Commit(ctx, m); err != nil && ctx.Err() == nil && !errors.Is(err, ErrFenced) {
					fail("commit: %v", err)
				}
				return nil
			}
		}
		d := time.Duration(10+rng.IntN(90)) * time.Millisecond
		if rng.IntN(2) == 0 {
			ctx, cancel := context.WithTimeout(context.Background(), d)
			if err := c.Run(ctx, run); err != nil {
				fail("run: %v", err)
			}
			cancel()
		} else {
			time.AfterFunc(d, func() { go c.Close(); c.Close() })
			if err := c.Run(context.Background(), run); err != nil && !errors.Is(err, ErrClosed) {
				fail("run: %v", err)
			}
		}
		_ = c.Close()
	}
}

func crashPartition(rng *rand.Rand, m *Message) {
	switch rng.IntN(4) {
	case 0:
		m.Partition = PartitionRoundRobin
	case 1:
		m.Partition, m.Key = PartitionByKey, []byte{byte(rng.IntN(256))}
	default:
		m.Partition = rng.IntN(crashPartitions)
	}
}

func crashSyncProducer(b *Broker, round, id int, seed uint64, fail func(string, ...any)) {
	rng := rand.New(rand.NewPCG(seed, 2))
	p := b.CreateProducer(fmt.Sprintf("s%d", id))
	for i := 0; i < crashSyncQuota; i++ {
		m := &Message{Topic: crashTopic, Value: fmt.Appendf(nil, "r%d.s%d.%d", round, id, i)}
		crashPartition(rng, m)
		if err := p.Publish(crashTopic, m); err != nil {
			fail("publish: %v", err)
		}
		fmt.Fprintf(os.Stdout, "A %d %d %s\n", m.Partition, m.Offset, m.Value)
	}
}

func crashAsyncProducer(b *Broker, round int, seed uint64, fail func(string, ...any)) {
	rng := rand.New(rand.NewPCG(seed, 3))
	p := b.CreateProducer("a0")
	inflight := make(chan struct{}, 64)
	for i := 0; i < crashAsyncQuota; i++ {
		m := &Message{Topic: crashTopic, Value: fmt.Appendf(nil, "r%d.a0.%d", round, i)}
		crashPartition(rng, m)
		inflight <- struct{}{}
		p.PublishAsync(crashTopic, m, func(m *Message, err error) {
			if err != nil {
				fail("publish async: %v", err)
			}
			fmt.Fprintf(os.Stdout, "A %d %d %s\n", m.Partition, m.Offset, m.Value)
			<-inflight
		})
	}
}

// crashSideTopicChurn deletes and re-creates a second topic a few times at
// random moments, while a group with manual commits reads it, so that kills
// land in topic creation and deletion too, and in commits racing them.
// After each deletion it commits a message the group handled before it:
// that commit must be fenced.
func crashSideTopicChurn(b *Broker, seed uint64, fail func(string, ...any)) {
	rng := rand.New(rand.NewPCG(seed, 4))
	var c *Consumer
	var last atomic.Pointer[Message] // the last message the side group handled
	for i := 0; i < 3; i++ {
		time.Sleep(time.Duration(rng.IntN(100)) * time.Millisecond)
		old := last.Load() // of the topic as it is now, deleted below, or of one deleted before
		if _, err := b.Topic(crashSideTopic); err == nil {
			_ = b.DeleteTopic(crashSideTopic)
		}
		if rng.IntN(3) > 0 {
			if _, err := b.CreateNewTopic(crashSideTopic, 2); err == nil {
				p := b.CreateProducer("side")
				for i := 0; i < 20; i++ {
					_ = p.Publish(crashSideTopic, CreateMessage(crashSideTopic, []byte("x"), i%2))
				}
			}
		}
		if old != nil {
			if err := c.Commit(context.Background(), old); err == nil {
				fail("a message of a deleted incarnation was committed: %s/%d@%d", old.Topic, old.Partition, old.Offset)
			}
		}
		if c != nil || !contains(must(b.Topics()), crashSideTopic) {
			continue
		}
		c = b.CreateConsumerWith("side", crashSideGroup, ConsumerOptions{ManualCommit: true})
		if c.Subscribe(crashSideTopic) != nil {
			c = nil
			continue
		}
		go func() {
			_ = c.Run(context.Background(), func(ctx context.Context, m *Message) error {
				if err := c.Commit(ctx, m); err != nil && ctx.Err() == nil && !errors.Is(err, ErrFenced) {
					fail("side commit: %v", err)
				}
				last.Store(m)
				return nil
			})
		}()
	}
}

func must[T any](v T, _ error) T { return v }
