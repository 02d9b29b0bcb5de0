package clienttest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kgoClient returns a franz-go client with short timeouts, closed at the end.
func kgoClient(t *testing.T, e *env, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base := []kgo.Opt{
		kgo.SeedBrokers(e.addr), kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.SessionTimeout(2 * time.Second), kgo.HeartbeatInterval(100 * time.Millisecond),
		kgo.RebalanceTimeout(5 * time.Second), kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

func TestKgoProduceConsumeEveryCodec(t *testing.T) {
	e := start(t)
	e.topic(t, "codecs", 4)
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	ctx := ctxFor(t, time.Minute)
	ts := time.UnixMilli(1_700_000_000_123)
	var want []*kgo.Record
	for name, codec := range codecs {
		p := kgoClient(t, e, kgo.ProducerBatchCompression(codec), kgo.DefaultProduceTopic("codecs"))
		var recs []*kgo.Record
		for i, v := range numbered(name, 20) {
			r := &kgo.Record{Value: []byte(v), Timestamp: ts, Headers: []kgo.RecordHeader{{Key: "codec", Value: []byte(name)}}}
			if i%2 == 0 {
				r.Key = []byte(v) // keyed: murmur2 places it where brook.KeyPartition does
			}
			recs = append(recs, r)
		}
		require.NoError(t, p.ProduceSync(ctx, recs...).FirstErr(), name)
		for _, r := range recs {
			if r.Key != nil {
				assert.Equal(t, brook.KeyPartition(r.Key, 4), int(r.Partition), "key %s", r.Key)
			}
		}
		want = append(want, recs...)
	}
	c := kgoClient(t, e, kgo.ConsumeTopics("codecs"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[string]*kgo.Record{}
	for len(got) < len(want) {
		fs := c.PollFetches(ctx)
		require.NoError(t, ctx.Err())
		require.Empty(t, fs.Errors())
		fs.EachRecord(func(r *kgo.Record) { got[string(r.Value)] = r })
	}
	for _, w := range want {
		g := got[string(w.Value)]
		require.NotNil(t, g, string(w.Value))
		assert.Equal(t, w.Key, g.Key)
		assert.Equal(t, w.Partition, g.Partition)
		assert.Equal(t, w.Offset, g.Offset)
		assert.Equal(t, w.Headers, g.Headers)
		assert.Equal(t, ts.UnixMilli(), g.Timestamp.UnixMilli())
	}
}

// consumeGroup polls a group member until n distinct values were seen,
// committing what it polled.
func consumeGroup(ctx context.Context, t *testing.T, cl *kgo.Client, seen *values, n int) {
	t.Helper()
	for seen.len() < n {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "saw %d of %d", seen.len(), n)
		fs.EachRecord(func(r *kgo.Record) { seen.add(string(r.Value)) })
		require.NoError(t, cl.CommitUncommittedOffsets(ctx))
	}
}

func produceValues(ctx context.Context, t *testing.T, cl *kgo.Client, topic string, vals []string) {
	t.Helper()
	recs := make([]*kgo.Record, len(vals))
	for i, v := range vals {
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(v), Value: []byte(v)}
	}
	require.NoError(t, cl.ProduceSync(ctx, recs...).FirstErr())
}

func TestKgoGroupCommitAndResume(t *testing.T) {
	for _, tc := range []struct {
		name     string
		balancer kgo.GroupBalancer
	}{{"cooperative", kgo.CooperativeStickyBalancer()}, {"eager", kgo.RangeBalancer()}} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t)
			e.topic(t, "resume", 3)
			ctx := ctxFor(t, time.Minute)
			p := kgoClient(t, e)
			produceValues(ctx, t, p, "resume", numbered("first", 30))

			group := []kgo.Opt{kgo.ConsumerGroup("g"), kgo.ConsumeTopics("resume"), kgo.Balancers(tc.balancer),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit()}
			first := kgoClient(t, e, group...)
			seen := newValues()
			consumeGroup(ctx, t, first, seen, 30)
			first.Close()
			var total int64
			for _, off := range e.committed(t, "g") {
				total += off
			}
			assert.Equal(t, int64(30), total, "the wire commits are the group's committed offsets")

			produceValues(ctx, t, p, "resume", numbered("second", 10))
			second := kgoClient(t, e, group...)
			again := newValues()
			consumeGroup(ctx, t, second, again, 10)
			for v := range again.seen {
				assert.Contains(t, v, "second", "a resumed member starts at the committed offsets")
			}
		})
	}
}

func TestKgoKilledMemberIsReplaced(t *testing.T) {
	e := start(t)
	e.topic(t, "kill", 4)
	ctx := ctxFor(t, 90*time.Second)
	p := kgoClient(t, e)
	group := []kgo.Opt{kgo.ConsumerGroup("k"), kgo.ConsumeTopics("kill"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit()}
	seen := newValues()
	var d killableDialer
	doomed := kgoClient(t, e, append(group, kgo.Dialer(d.DialContext))...)
	survivor := kgoClient(t, e, group...)
	var wg sync.WaitGroup
	defer wg.Wait()
	pollCtx, stop := context.WithCancel(ctx)
	defer stop()
	for _, cl := range []*kgo.Client{doomed, survivor} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pollCtx.Err() == nil {
				fs := cl.PollFetches(pollCtx)
				fs.EachRecord(func(r *kgo.Record) { seen.add(string(r.Value)) })
				_ = cl.CommitUncommittedOffsets(pollCtx)
			}
		}()
	}
	produceValues(ctx, t, p, "kill", numbered("before", 40))
	seen.waitFor(ctx, t, 40)
	require.Eventually(t, func() bool {
		st, err := e.b.GroupStats("k")
		return err == nil && len(st.Members) == 2 && len(st.Members[0].Assigned) == 2
	}, 30*time.Second, 20*time.Millisecond, "two members share four partitions")
	d.kill()
	produceValues(ctx, t, p, "kill", numbered("after", 40))
	seen.waitFor(ctx, t, 80) // the survivor takes the partitions after the session timeout
	st, err := e.b.GroupStats("k")
	require.NoError(t, err)
	require.Len(t, st.Members, 1)
	assert.Len(t, st.Members[0].Assigned, 4)
}

func TestKgoMixedGroupWithBrookConsumer(t *testing.T) {
	e := start(t)
	e.topic(t, "mixed", 4)
	ctx := ctxFor(t, 90*time.Second)
	seen := newValues()
	var byLocal, byRemote atomic.Int64
	local := e.b.CreateConsumer("local", "mix")
	require.NoError(t, local.Subscribe("mixed"))
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- local.Run(runCtx, func(_ context.Context, m *brook.Message) error {
			seen.add(string(m.Value))
			byLocal.Add(1)
			return nil
		})
	}()
	defer func() { stop(); require.NoError(t, <-done); require.NoError(t, local.Close()) }()
	remote := kgoClient(t, e, kgo.ConsumerGroup("mix"), kgo.ConsumeTopics("mixed"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	go func() {
		for runCtx.Err() == nil {
			remote.PollFetches(runCtx).EachRecord(func(r *kgo.Record) { seen.add(string(r.Value)); byRemote.Add(1) })
		}
	}()
	require.Eventually(t, func() bool {
		st, err := e.b.GroupStats("mix")
		return err == nil && len(st.Members) == 2 && len(st.Members[0].Assigned) == 2 && len(st.Members[1].Assigned) == 2
	}, 30*time.Second, 20*time.Millisecond, "an in-process and a remote member split four partitions 2/2")
	p := kgoClient(t, e)
	produceValues(ctx, t, p, "mixed", numbered("m", 100))
	seen.waitFor(ctx, t, 100)
	assert.Positive(t, byLocal.Load())
	assert.Positive(t, byRemote.Load())
}
