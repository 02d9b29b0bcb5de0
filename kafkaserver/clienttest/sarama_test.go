package clienttest

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func saramaConfig(d *killableDialer) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.ClientID = "sarama-test"
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 50 * time.Millisecond
	cfg.Consumer.MaxWaitTime = 200 * time.Millisecond
	cfg.Consumer.Group.Session.Timeout = 2 * time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	cfg.Consumer.Group.Rebalance.Timeout = 5 * time.Second
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	if d != nil {
		cfg.Net.Proxy.Enable = true
		cfg.Net.Proxy.Dialer = saramaDialer{d}
	}
	return cfg
}

type saramaDialer struct{ d *killableDialer }

func (s saramaDialer) Dial(network, addr string) (net.Conn, error) {
	return s.d.DialContext(context.Background(), network, addr)
}

func TestSaramaProduceConsumeEveryCodec(t *testing.T) {
	e := start(t)
	e.topic(t, "codecs", 3)
	codecs := map[string]sarama.CompressionCodec{
		"none": sarama.CompressionNone, "gzip": sarama.CompressionGZIP, "snappy": sarama.CompressionSnappy,
		"lz4": sarama.CompressionLZ4, "zstd": sarama.CompressionZSTD,
	}
	total := 0
	for name, codec := range codecs {
		cfg := saramaConfig(nil)
		cfg.Producer.Compression = codec
		p, err := sarama.NewSyncProducer([]string{e.addr}, cfg)
		require.NoError(t, err)
		var msgs []*sarama.ProducerMessage
		for i, v := range numbered(name, 10) {
			m := &sarama.ProducerMessage{Topic: "codecs", Value: sarama.StringEncoder(v),
				Headers: []sarama.RecordHeader{{Key: []byte("codec"), Value: []byte(name)}}}
			if i%2 == 0 {
				m.Key = sarama.StringEncoder(v)
			}
			msgs = append(msgs, m)
		}
		require.NoError(t, p.SendMessages(msgs), name)
		require.NoError(t, p.Close())
		total += len(msgs)
	}
	c, err := sarama.NewConsumer([]string{e.addr}, saramaConfig(nil))
	require.NoError(t, err)
	defer c.Close()
	seen := newValues()
	ctx := ctxFor(t, time.Minute)
	for p := range int32(3) {
		pc, err := c.ConsumePartition("codecs", p, sarama.OffsetOldest)
		require.NoError(t, err)
		defer pc.Close()
		go func() {
			for m := range pc.Messages() {
				if assert.Len(t, m.Headers, 1) {
					assert.Equal(t, "codec", string(m.Headers[0].Key))
				}
				seen.add(string(m.Value))
			}
		}()
	}
	seen.waitFor(ctx, t, total)
}

// saramaMember consumes group g, adding values to seen and marking them.
type saramaMember struct{ seen *values }

func (saramaMember) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (saramaMember) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (m saramaMember) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for msg := range c.Messages() {
		m.seen.add(string(msg.Value))
		s.MarkMessage(msg, "")
	}
	return nil
}

// runSarama runs a sarama group member until ctx ends; wait waits for it.
func runSarama(ctx context.Context, t *testing.T, e *env, group, topic string, d *killableDialer, seen *values) (wait func()) {
	t.Helper()
	g, err := sarama.NewConsumerGroup([]string{e.addr}, group, saramaConfig(d))
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			_ = g.Consume(ctx, []string{topic}, saramaMember{seen})
		}
	}()
	return func() { wg.Wait(); g.Close() }
}

func saramaProduce(t *testing.T, e *env, topic string, vals []string) {
	t.Helper()
	p, err := sarama.NewSyncProducer([]string{e.addr}, saramaConfig(nil))
	require.NoError(t, err)
	defer p.Close()
	var msgs []*sarama.ProducerMessage
	for _, v := range vals {
		msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(v), Value: sarama.StringEncoder(v)})
	}
	require.NoError(t, p.SendMessages(msgs))
}

func TestSaramaGroupCommitAndResume(t *testing.T) {
	e := start(t)
	e.topic(t, "resume", 3)
	saramaProduce(t, e, "resume", numbered("first", 30))
	ctx := ctxFor(t, time.Minute)
	seen := newValues()
	runCtx, stop := context.WithCancel(ctx)
	wait := runSarama(runCtx, t, e, "sg", "resume", nil, seen)
	seen.waitFor(ctx, t, 30)
	require.Eventually(t, func() bool {
		var total int64
		for _, off := range e.committed(t, "sg") {
			total += off
		}
		return total == 30
	}, 20*time.Second, 20*time.Millisecond, "sarama's commits reach the group")
	stop()
	wait()

	saramaProduce(t, e, "resume", numbered("second", 10))
	again := newValues()
	runCtx, stop = context.WithCancel(ctx)
	wait = runSarama(runCtx, t, e, "sg", "resume", nil, again)
	defer func() { stop(); wait() }()
	again.waitFor(ctx, t, 10)
	for v := range again.seen {
		assert.Contains(t, v, "second")
	}
}

func TestSaramaKilledMemberIsReplaced(t *testing.T) {
	e := start(t)
	e.topic(t, "kill", 4)
	ctx := ctxFor(t, 90*time.Second)
	seen := newValues()
	runCtx, stop := context.WithCancel(ctx)
	var d killableDialer
	waitDoomed := runSarama(runCtx, t, e, "sk", "kill", &d, seen)
	waitSurvivor := runSarama(runCtx, t, e, "sk", "kill", nil, seen)
	defer func() { stop(); waitSurvivor(); waitDoomed() }()
	require.Eventually(t, func() bool {
		st, err := e.b.GroupStats("sk")
		return err == nil && len(st.Members) == 2 && len(st.Members[0].Assigned) == 2 && len(st.Members[1].Assigned) == 2
	}, 30*time.Second, 20*time.Millisecond, "two sarama members share four partitions")
	saramaProduce(t, e, "kill", numbered("before", 40))
	seen.waitFor(ctx, t, 40)
	d.kill()
	saramaProduce(t, e, "kill", numbered("after", 40))
	seen.waitFor(ctx, t, 80)
	st, err := e.b.GroupStats("sk")
	require.NoError(t, err)
	require.Len(t, st.Members, 1)
	assert.Len(t, st.Members[0].Assigned, 4)
}
