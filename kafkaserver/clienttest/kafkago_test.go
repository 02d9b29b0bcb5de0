package clienttest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func kafkagoWriter(e *env, topic string, codec compress.Compression) *kafka.Writer {
	return &kafka.Writer{Addr: kafka.TCP(e.addr), Topic: topic, Balancer: &kafka.Murmur2Balancer{},
		Compression: codec, BatchTimeout: 10 * time.Millisecond, RequiredAcks: kafka.RequireAll}
}

func TestKafkaGoProduceConsumeEveryCodec(t *testing.T) {
	e := start(t)
	e.topic(t, "codecs", 3)
	ctx := ctxFor(t, time.Minute)
	codecs := map[string]compress.Compression{
		"none": 0, "gzip": kafka.Gzip, "snappy": kafka.Snappy, "lz4": kafka.Lz4, "zstd": kafka.Zstd,
	}
	total := 0
	for name, codec := range codecs {
		w := kafkagoWriter(e, "codecs", codec)
		var msgs []kafka.Message
		for i, v := range numbered(name, 10) {
			m := kafka.Message{Value: []byte(v), Headers: []kafka.Header{{Key: "codec", Value: []byte(name)}}}
			if i%2 == 0 {
				m.Key = []byte(v)
			}
			msgs = append(msgs, m)
		}
		require.NoError(t, w.WriteMessages(ctx, msgs...), name)
		require.NoError(t, w.Close())
		total += len(msgs)
	}
	seen := newValues()
	for p := range 3 {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{e.addr}, Topic: "codecs", Partition: p, MaxWait: 200 * time.Millisecond})
		require.NoError(t, r.SetOffset(kafka.FirstOffset))
		defer r.Close()
		go func() {
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					return
				}
				if m.Key != nil {
					assert.Equal(t, brook.KeyPartition(m.Key, 3), m.Partition, "Murmur2Balancer places keys where brook.KeyPartition does")
				}
				assert.Len(t, m.Headers, 1)
				seen.add(string(m.Value))
			}
		}()
	}
	seen.waitFor(ctx, t, total)
}

// runKafkaGo runs a kafka-go group reader until ctx ends, committing each
// message; wait stops it.
func runKafkaGo(ctx context.Context, e *env, group, topic string, d *killableDialer, seen *values) (wait func()) {
	cfg := kafka.ReaderConfig{Brokers: []string{e.addr}, GroupID: group, Topic: topic,
		StartOffset: kafka.FirstOffset, MaxWait: 200 * time.Millisecond,
		SessionTimeout: 2 * time.Second, HeartbeatInterval: 100 * time.Millisecond,
		RebalanceTimeout: 5 * time.Second, JoinGroupBackoff: 100 * time.Millisecond,
		ReadBackoffMin: 50 * time.Millisecond, ReadBackoffMax: 100 * time.Millisecond}
	if d != nil {
		cfg.Dialer = &kafka.Dialer{Timeout: 5 * time.Second, DialFunc: d.DialContext}
	}
	r := kafka.NewReader(cfg)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			m, err := r.FetchMessage(ctx)
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
				return
			}
			if err != nil {
				continue
			}
			seen.add(string(m.Value))
			_ = r.CommitMessages(ctx, m)
		}
	}()
	return func() { wg.Wait(); r.Close() }
}

func kafkagoProduce(t *testing.T, e *env, topic string, vals []string) {
	t.Helper()
	w := kafkagoWriter(e, topic, 0)
	defer w.Close()
	msgs := make([]kafka.Message, len(vals))
	for i, v := range vals {
		msgs[i] = kafka.Message{Key: []byte(v), Value: []byte(v)}
	}
	require.NoError(t, w.WriteMessages(ctxFor(t, 30*time.Second), msgs...))
}

func TestKafkaGoGroupCommitAndResume(t *testing.T) {
	e := start(t)
	e.topic(t, "resume", 3)
	kafkagoProduce(t, e, "resume", numbered("first", 30))
	ctx := ctxFor(t, time.Minute)
	seen := newValues()
	runCtx, stop := context.WithCancel(ctx)
	wait := runKafkaGo(runCtx, e, "kg", "resume", nil, seen)
	seen.waitFor(ctx, t, 30)
	require.Eventually(t, func() bool {
		var total int64
		for _, off := range e.committed(t, "kg") {
			total += off
		}
		return total == 30
	}, 20*time.Second, 20*time.Millisecond, "kafka-go's commits reach the group")
	stop()
	wait()

	kafkagoProduce(t, e, "resume", numbered("second", 10))
	again := newValues()
	runCtx, stop = context.WithCancel(ctx)
	wait = runKafkaGo(runCtx, e, "kg", "resume", nil, again)
	defer func() { stop(); wait() }()
	again.waitFor(ctx, t, 10)
	for v := range again.seen {
		assert.Contains(t, v, "second")
	}
}

func TestKafkaGoKilledMemberIsReplaced(t *testing.T) {
	e := start(t)
	e.topic(t, "kill", 4)
	ctx := ctxFor(t, 90*time.Second)
	seen := newValues()
	runCtx, stop := context.WithCancel(ctx)
	var d killableDialer
	waitDoomed := runKafkaGo(runCtx, e, "kk", "kill", &d, seen)
	waitSurvivor := runKafkaGo(runCtx, e, "kk", "kill", nil, seen)
	defer func() { stop(); waitSurvivor(); waitDoomed() }()
	require.Eventually(t, func() bool {
		st, err := e.b.GroupStats("kk")
		return err == nil && len(st.Members) == 2 && len(st.Members[0].Assigned) == 2 && len(st.Members[1].Assigned) == 2
	}, 30*time.Second, 20*time.Millisecond, "two kafka-go members share four partitions")
	kafkagoProduce(t, e, "kill", numbered("before", 40))
	seen.waitFor(ctx, t, 40)
	d.kill()
	kafkagoProduce(t, e, "kill", numbered("after", 40))
	seen.waitFor(ctx, t, 80)
	st, err := e.b.GroupStats("kk")
	require.NoError(t, err)
	require.Len(t, st.Members, 1)
	assert.Len(t, st.Members[0].Assigned, 4)
}
