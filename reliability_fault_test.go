package brook

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brookmq/brook/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nextFault fails the next call of op in the directories ending with
// target (a partition's, such as "/topics/t/1") with err: instead of
// performing it, or after it when after is set.
func nextFault(op storagetest.Op, target string, err error, after bool) storagetest.Fault {
	return storagetest.Fault{Op: op, Path: target, Nth: 1, Err: err, After: after}
}

// TestReliabilityFaults injects a failing write or sync into one partition
// and checks that the producer gets a clear error, that the partition
// refuses writes until the broker is reopened while the others go on, and
// that nothing acknowledged is lost.
func TestReliabilityFaults(t *testing.T) {
	tests := []struct {
		name   string
		sync   SyncPolicy
		fault  func(target string) storagetest.Fault
		cause  error
		text   string // what the error says about the cause
		mayAdd bool   // the failed message may be on disk after reopening
	}{
		{name: "disk full refuses the write", fault: func(p string) storagetest.Fault { return nextFault(storagetest.OpWALWrite, p, syscall.ENOSPC, false) },
			cause: syscall.ENOSPC, text: "no space left on device"},
		{name: "EIO after the write", fault: func(p string) storagetest.Fault { return nextFault(storagetest.OpWALWrite, p, syscall.EIO, true) },
			cause: syscall.EIO, text: "input/output error", mayAdd: true},
		{name: "EIO on fsync", fault: func(p string) storagetest.Fault { return nextFault(storagetest.OpWALSync, p, syscall.EIO, true) },
			cause: syscall.EIO, text: "input/output error", mayAdd: true},
		{name: "disk full on fsync", fault: func(p string) storagetest.Fault { return nextFault(storagetest.OpWALSync, p, syscall.ENOSPC, false) },
			cause: syscall.ENOSPC, text: "no space left on device", mayAdd: true},
		{name: "EIO on background fsync", sync: SyncInterval, fault: func(p string) storagetest.Fault { return nextFault(storagetest.OpWALSync, p, syscall.EIO, true) },
			cause: syscall.EIO, text: "input/output error", mayAdd: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runFaultCase(t, tc.sync, tc.fault("/topics/t/1"), tc.cause, tc.text, tc.mayAdd)
		})
	}
}

func runFaultCase(t *testing.T, sync SyncPolicy, fault storagetest.Fault, cause error, text string, mayAdd bool) {
	const parts, before = 3, 10
	dir := t.TempDir()
	ffs := storagetest.New()
	b, err := Open(dir, &Options{fs: ffs, Sync: sync, SyncInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	mustTopic(t, b, "t", parts)
	ta := newTally()
	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("t"))
	stop := runConsumer(t, c, ta.handler("c", nil))
	p := b.CreateProducer("p")
	acked := make([][]string, parts)
	publish := func(part int, v string) error {
		m := CreateMessage("t", []byte(v), part)
		err := p.Publish("t", m)
		if err == nil {
			require.Equal(t, int64(len(acked[part])), m.Offset)
			acked[part] = append(acked[part], v)
		}
		return err
	}
	for i := 0; i < before; i++ {
		for part := 0; part < parts; part++ {
			require.NoError(t, publish(part, fmt.Sprintf("before-%d-%d", part, i)))
		}
	}

	// The fault: the next publish to partition 1 fails (under SyncInterval,
	// the first publish after the background fsync failed).
	ffs.Inject(fault)
	var failed error
	var failedValue string
	eventually(t, func() bool {
		failedValue = fmt.Sprintf("failing-%d", len(acked[1]))
		failed = publish(1, failedValue)
		return failed != nil
	}, "the fault reaches the producer")
	assert.ErrorIs(t, failed, ErrPartitionFailed)
	assert.ErrorIs(t, failed, cause, "the cause is visible to errors.Is")
	var perr *PartitionError
	if assert.ErrorAs(t, failed, &perr) {
		assert.Equal(t, "t", perr.Topic)
		assert.Equal(t, 1, perr.Partition)
	}
	assert.Contains(t, failed.Error(), text)
	assert.Contains(t, failed.Error(), "t/1")
	assert.Equal(t, 1, ffs.Fired())

	// Sticky: the partition refuses further writes without touching the
	// disk, although the file system would now accept them.
	counts := func() (writes, syncs int) {
		return ffs.Count(storagetest.OpWALWrite, "/topics/t/1"), ffs.Count(storagetest.OpWALSync, "/topics/t/1")
	}
	writes, syncs := counts()
	assert.ErrorIs(t, publish(1, "refused"), ErrPartitionFailed)
	asyncErr := make(chan error, 1)
	p.PublishAsync("t", CreateMessage("t", []byte("refused-async"), 1), func(_ *Message, err error) { asyncErr <- err })
	select {
	case err := <-asyncErr:
		assert.ErrorIs(t, err, ErrPartitionFailed)
		assert.ErrorIs(t, err, cause)
	case <-time.After(10 * time.Second):
		t.Fatal("PublishAsync on a failed partition never completed")
	}
	w2, s2 := counts()
	assert.Equal(t, writes, w2, "no write reached a failed partition")
	assert.Equal(t, syncs, s2, "no sync reached a failed partition")

	// The other partitions keep working, and so do the consumers; what was
	// acknowledged in partition 1 is still readable.
	for i := 0; i < before; i++ {
		require.NoError(t, publish(0, fmt.Sprintf("after-0-%d", i)))
		require.NoError(t, publish(2, fmt.Sprintf("after-2-%d", i)))
	}
	total := len(acked[0]) + len(acked[1]) + len(acked[2])
	eventually(t, func() bool { return ta.count() >= total }, "the consumer handles every acknowledged message")
	got := readAll(t, b, "t", 1)
	require.Len(t, got, len(acked[1]), "a failed partition serves only acknowledged records")
	require.NoError(t, stop())
	closeErr := b.Close()
	t.Logf("Close after the fault: %v", closeErr)

	// Reopened with the real file system: every acknowledged message is
	// there, in order; the failed one at most at the very end; writes work.
	b, err = Open(dir, nil)
	require.NoError(t, err, "the broker reopens after a disk fault")
	defer b.Close()
	for part := 0; part < parts; part++ {
		msgs := readAll(t, b, "t", part)
		extra := len(msgs) - len(acked[part])
		require.GreaterOrEqual(t, extra, 0, "partition %d lost acknowledged messages", part)
		for i, v := range acked[part] {
			assert.Equal(t, v, string(msgs[i].Value), "partition %d offset %d", part, i)
		}
		if part == 1 && mayAdd && extra == 1 {
			assert.Equal(t, failedValue, string(msgs[len(msgs)-1].Value), "only the failed message may follow")
			acked[1] = append(acked[1], failedValue)
			continue
		}
		assert.Zero(t, extra, "partition %d holds unacknowledged messages", part)
	}
	p = b.CreateProducer("p")
	m := CreateMessage("t", []byte("after-reopen"), 1)
	require.NoError(t, p.Publish("t", m))
	assert.Equal(t, int64(len(acked[1])), m.Offset, "partition 1 continues where its log ends")
	gs, err := b.GroupStats("g")
	require.NoError(t, err)
	for _, ps := range gs.Partitions {
		assert.LessOrEqual(t, ps.Committed, int64(len(acked[ps.Partition])+1), "%v committed past the data", ps.TopicPartition)
	}
}

// TestReliabilityFaultDuringGroupCommit fails one group commit of a busy
// partition: every publisher in that batch and after it gets the error,
// and what was acknowledged before is exactly a prefix of the log.
func TestReliabilityFaultDuringGroupCommit(t *testing.T) {
	dir := t.TempDir()
	ffs := storagetest.New()
	b, err := Open(dir, &Options{fs: ffs})
	require.NoError(t, err)
	mustTopic(t, b, "t", 1)
	var mu sync.Mutex
	acked := map[int64]string{}
	var errs []error
	record := func(m *Message, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			return
		}
		acked[m.Offset] = string(m.Value)
	}
	armed := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := b.CreateProducer("p")
			for i := 0; i < 60; i++ {
				if w == 0 && i == 20 {
					ffs.Inject(nextFault(storagetest.OpWALWrite, "/topics/t/0", syscall.ENOSPC, false))
					close(armed)
				}
				m := CreateMessage("t", fmt.Appendf(nil, "w%d-%d", w, i), 0)
				record(m, p.Publish("t", m))
			}
		}()
	}
	ap := b.CreateProducer("async")
	for i := 0; i < 300; i++ {
		ap.PublishAsync("t", CreateMessage("t", fmt.Appendf(nil, "a-%d", i), 0), record)
	}
	waitGroup(t, &wg, "the producers")
	flush(t, ap)
	waitDone(t, armed, time.Second, "the fault to be armed")
	assert.ErrorIs(t, b.Close(), ErrPartitionFailed, "Close reports the failed partition")

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, errs, "the fault reached some publishers")
	for _, err := range errs {
		assert.ErrorIs(t, err, ErrPartitionFailed)
		assert.ErrorIs(t, err, syscall.ENOSPC)
	}
	assert.Equal(t, 660, len(errs)+len(acked), "every publish got exactly one answer")
	b, err = Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	msgs := readAll(t, b, "t", 0)
	require.Len(t, msgs, len(acked), "a refused write leaves nothing behind")
	for off, v := range acked {
		assert.Equal(t, v, string(msgs[off].Value), "offset %d", off)
	}
}

// TestReliabilityFaultAtClose fails the final fsync of Close: Close reports
// it, and the reopened log still has every acknowledged message.
func TestReliabilityFaultAtClose(t *testing.T) {
	dir := t.TempDir()
	ffs := storagetest.New()
	b, err := Open(dir, &Options{fs: ffs, Sync: SyncNever})
	require.NoError(t, err)
	mustTopic(t, b, "t", 2)
	publishN(t, b, "t", 2, 40, "m")
	ffs.Inject(nextFault(storagetest.OpWALSync, "/topics/t/0", syscall.EIO, false))
	err = b.Close()
	assert.ErrorIs(t, err, syscall.EIO, "Close reports the failed fsync")
	assert.ErrorIs(t, err, ErrPartitionFailed, "Close says, in Brook's terms, that the partition failed")
	assert.Contains(t, err.Error(), "t/0", "and which one")
	b, err = Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	for part := 0; part < 2; part++ {
		assert.Len(t, readAll(t, b, "t", part), 20, "partition %d", part)
	}
}

// TestReliabilityFaultCreatingTopic fails the creation of one partition of
// a new topic: CreateTopic reports it, leaves nothing behind (no topic
// that appears after a restart, nothing that blocks a retry), and a retry
// once the disk is back succeeds.
func TestReliabilityFaultCreatingTopic(t *testing.T) {
	dir, b := openMkdirFault(t, "/topics/new/2", "old", 1)
	_, err := b.CreateTopic("new", TopicConfig{Partitions: 4})
	assert.ErrorIs(t, err, syscall.ENOSPC)
	assert.Contains(t, err.Error(), "new/2")
	names, err := b.Topics()
	require.NoError(t, err)
	assert.Equal(t, []string{"old"}, names)
	_, err = os.Stat(filepath.Join(dir, "topics", "new"))
	assert.ErrorIs(t, err, fs.ErrNotExist, "a failed create leaves no topic directory")

	_, err = b.CreateTopic("new", TopicConfig{Partitions: 4})
	require.NoError(t, err, "a retry succeeds once the fault is gone")
	checkAfterRetry(t, dir, b, "new", 4)
}

// openMkdirFault opens a broker on a new directory whose partition
// directory ending in target will fail to be created with ENOSPC, once,
// and creates topic with partitions.
func openMkdirFault(t *testing.T, target, topic string, partitions int) (string, *Broker) {
	dir := t.TempDir()
	ffs := storagetest.New()
	b, err := Open(dir, &Options{fs: ffs})
	require.NoError(t, err)
	mustTopic(t, b, topic, partitions)
	ffs.Inject(nextFault(storagetest.OpMkdir, target, syscall.ENOSPC, false))
	return dir, b
}

// checkAfterRetry publishes to the last of topic's partitions, closes b,
// and checks after a reopen that topic has them all and the message.
func checkAfterRetry(t *testing.T, dir string, b *Broker, topic string, partitions int) {
	last := partitions - 1
	require.NoError(t, b.CreateProducer("p").Publish(topic, CreateMessage(topic, []byte("x"), last)))
	require.NoError(t, b.Close())
	b, err := Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	tp, err := b.Topic(topic)
	require.NoError(t, err)
	assert.Equal(t, partitions, tp.Partitions())
	assert.Len(t, readAll(t, b, topic, last), 1)
}

// TestReliabilityFaultAddingPartitions: opening one of the new partitions
// fails. AddPartitions must leave the topic as it was, in memory and on
// disk, and a retry must succeed.
func TestReliabilityFaultAddingPartitions(t *testing.T) {
	dir, b := openMkdirFault(t, "/topics/t/3", "t", 2)
	err := b.AddPartitions("t", 5)
	assert.ErrorIs(t, err, syscall.ENOSPC)
	assert.Contains(t, err.Error(), "t/3")
	tp, err := b.Topic("t")
	require.NoError(t, err)
	assert.Equal(t, 2, tp.Partitions())
	assert.ErrorIs(t, b.CreateProducer("p").Publish("t", CreateMessage("t", nil, 2)), ErrInvalidPartition)
	require.NoError(t, b.Close())

	b, err = Open(dir, nil)
	require.NoError(t, err)
	tp, err = b.Topic("t")
	require.NoError(t, err)
	assert.Equal(t, 2, tp.Partitions(), "the metadata was not changed")
	require.NoError(t, b.AddPartitions("t", 5), "a retry succeeds")
	checkAfterRetry(t, dir, b, "t", 5)
}

// TestReliabilityCloseReportsFailedPartition: under SyncInterval a
// background fsync fails after a publish was acknowledged, and nothing is
// published afterwards. The acknowledged message may not be durable (after
// a failed fsync the kernel may drop the dirty pages), so Close, which
// promises to sync, must say so.
func TestReliabilityCloseReportsFailedPartition(t *testing.T) {
	ffs := storagetest.New()
	b, err := Open(t.TempDir(), &Options{fs: ffs, Sync: SyncInterval, SyncInterval: time.Millisecond})
	require.NoError(t, err)
	mustTopic(t, b, "t", 1)
	ffs.Inject(nextFault(storagetest.OpWALSync, "/topics/t/0", syscall.EIO, true))
	require.NoError(t, b.CreateProducer("p").Publish("t", CreateMessage("t", []byte("acknowledged, not durable"), 0)))
	eventually(t, func() bool { return ffs.Fired() == 1 }, "the background fsync fails")
	err = b.Close()
	assert.ErrorIs(t, err, ErrPartitionFailed)
	assert.ErrorIs(t, err, syscall.EIO)
}
