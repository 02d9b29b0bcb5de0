package kafka

import (
	"net/url"
	"testing"
	"time"

	"github.com/brookmq/brook/pubsub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestURLOptions(t *testing.T) {
	seeds := func(t *testing.T, raw string) []string {
		t.Helper()
		return clientFor(t, raw).OptValue(kgo.SeedBrokers).([]string)
	}
	t.Setenv("KAFKA_BROKERS", "")
	assert.Equal(t, []string{"h1:9092", "h2:9093"}, seeds(t, "kafka://h1:9092,h2:9093"))
	assert.Equal(t, []string{DefaultBrokers}, seeds(t, "kafka://"))
	assert.Equal(t, []string{DefaultBrokers}, seeds(t, "kafka:"))
	t.Setenv("KAFKA_BROKERS", "a:1, b:2")
	assert.Equal(t, []string{"a:1", "b:2"}, seeds(t, "kafka://"))
	assert.Equal(t, []string{"c:3"}, seeds(t, "kafka://c:3"), "the URL's hosts win over the environment")

	cl := clientFor(t, "kafka://h:9092?client_id=app&acks=leader&linger=5ms&commit_interval=1s")
	assert.Equal(t, "app", cl.OptValue(kgo.ClientID))
	assert.Equal(t, 5*time.Millisecond, cl.OptValue(kgo.ProducerLinger))
	assert.Equal(t, time.Second, cl.OptValue(kgo.AutoCommitInterval))
	assert.Equal(t, kgo.LeaderAck(), cl.OptValue(kgo.RequiredAcks))
	assert.Equal(t, any(partitioner), cl.OptValue(kgo.RecordPartitioner))

	for _, bad := range []string{
		"kafka://h:9092?nope=1",
		"kafka://h:9092?acks=some",
		"kafka://h:9092?linger=soon",
		"kafka://h:9092?commit_interval=0s",
		"kafka://h:9092/path",
		"kafka://user:pw@h:9092",
		"kafka://,",
	} {
		u, err := url.Parse(bad)
		require.NoError(t, err, bad)
		_, err = urlOpts(u)
		assert.ErrorIs(t, err, pubsub.ErrBadURL, bad)
	}
}

// clientFor returns a client (closed with the test) built from raw's options.
func clientFor(t *testing.T, raw string) *kgo.Client {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	opts, err := urlOpts(u)
	require.NoError(t, err)
	cl, err := kgo.NewClient(opts...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

func TestOpenFailsWithoutBroker(t *testing.T) {
	u, err := url.Parse("kafka://127.0.0.1:1")
	require.NoError(t, err)
	ctx := testCtx(t)
	_, err = Opener{Opts: []kgo.Opt{kgo.RetryTimeout(time.Second)}}.Open(ctx, u)
	assert.Error(t, err)
}
