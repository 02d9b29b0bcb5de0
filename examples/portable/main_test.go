package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
)

// check runs the program on url and checks that it consumed what it sent.
func check(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, registry(), url, "topic", 5, &out))
	for i := range 5 {
		msg := fmt.Sprintf("%q", fmt.Sprintf("message %d via %s", i, url))
		assert.Contains(t, out.String(), "sent     "+msg)
		assert.Contains(t, out.String(), "consumed "+msg)
	}
	assert.Equal(t, 10, strings.Count(out.String(), "\n"))
}

func TestMem(t *testing.T) { check(t, "mem://") }

func TestBrookDir(t *testing.T) {
	url := "brook://" + t.TempDir()
	check(t, url)
	check(t, url) // a second run on the same directory: the group resumes after the first run's messages
}

// TestKafka runs the program on kfake, a Kafka cluster inside the test
// process on 127.0.0.1.
func TestKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	require.NoError(t, err)
	defer c.Close()
	check(t, "kafka://"+strings.Join(c.ListenAddrs(), ","))
}

// TestGooglePubSub runs the program on pstest, Pub/Sub's fake, reached the
// way a user reaches the emulator: PUBSUB_EMULATOR_HOST.
func TestGooglePubSub(t *testing.T) {
	srv := pstest.NewServerWithAddress("127.0.0.1:0")
	defer func() { _ = srv.Close() }()
	t.Setenv("PUBSUB_EMULATOR_HOST", srv.Addr)
	check(t, "gcppubsub://demo")
}

func TestUnknownScheme(t *testing.T) {
	err := run(context.Background(), registry(), "nats://x", "topic", 1, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gcppubsub")
	assert.Contains(t, err.Error(), "kafka")
}
