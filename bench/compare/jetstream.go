package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// jsPullBatch is how many messages the consumer asks for per pull request
// (nats.go's default is 500); the client pulls the next batch when half of
// one is left, so pulls overlap with processing.
const jsPullBatch = 2000

// jsMaxQueued is how many messages nats-server queues for one stream
// before it answers publishes with "too many requests" (its default).
const jsMaxQueued = 100_000

// jetStreamSystem is NATS JetStream: a nats-server embedded in this
// process, listening on localhost, driven by nats.go's jetstream package.
// It has one stream with Partitions subjects (compare.0, compare.1, ...)
// in place of a topic's partitions: a JetStream stream is one ordered log,
// not a set of partitions.
//
// Durable mode is the server option SyncAlways (sync_interval: always in a
// configuration file): the file store fsyncs its block file after every
// message it stores. Not synced is the file store's default, an fsync
// every 2 minutes.
type jetStreamSystem struct{}

func (jetStreamSystem) name() string { return "jetstream" }

func (jetStreamSystem) mode(w workload, _ Config) string {
	switch w {
	case produceDurable:
		return "file store, sync_always (fsync per message), PublishAsync"
	case produceUnsynced:
		return "file store, default sync (every 2 min), PublishAsync"
	case latencyDurable:
		return "" // not measured: sync_always makes it a figure of the disk
	}
	return fmt.Sprintf("pull consumer, AckNone, Consume in batches of %d", jsPullBatch)
}

func (jetStreamSystem) start(ctx context.Context, dir string, durable bool, c Config) (instance, error) {
	if c.Partitions*c.Window >= jsMaxQueued {
		return nil, fmt.Errorf("partitions × window = %d messages in flight; the server queues at most %d per stream",
			c.Partitions*c.Window, jsMaxQueued)
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "compare",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		NoLog:      true,
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   join(dir, "jetstream"),
		SyncAlways: durable,
	})
	if err != nil {
		return nil, err
	}
	srv.Start()
	in := &jsInstance{srv: srv, parts: c.Partitions}
	if !srv.ReadyForConnections(10 * time.Second) {
		return nil, errors.Join(errors.New("nats-server did not start"), in.close())
	}
	if in.nc, err = nats.Connect(srv.ClientURL()); err != nil {
		return nil, errors.Join(err, in.close())
	}
	js, err := jetstream.New(in.nc)
	if err == nil {
		in.stream, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:     topicName,
			Subjects: []string{topicName + ".>"},
			Storage:  jetstream.FileStorage,
			Replicas: 1,
		})
	}
	if err != nil {
		return nil, errors.Join(err, in.close())
	}
	return in, nil
}

// jsInstance is one embedded server, the connection that set up the
// stream (and consumes it), and the stream.
type jsInstance struct {
	srv    *server.Server
	nc     *nats.Conn
	stream jetstream.Stream
	parts  int
}

func (in *jsInstance) close() error {
	if in.nc != nil {
		in.nc.Close()
	}
	in.srv.Shutdown()
	in.srv.WaitForShutdown()
	return nil
}

// produce runs one goroutine per subject, each with its own connection
// (15-20% faster here than sharing one) and JetStream context, whose
// PublishAsyncMaxPending is the window: PublishAsync blocks while that
// many acknowledgements are outstanding. The total window (Partitions ×
// Window) must stay under jsMaxQueued.
func (in *jsInstance) produce(ctx context.Context, p producePlan) (int64, time.Duration, error) {
	pubs := make([]*jsPublisher, p.parts)
	defer func() {
		for _, pub := range pubs {
			if pub != nil {
				pub.close()
			}
		}
	}()
	for part := range pubs { // connect before the clock starts
		var err error
		if pubs[part], err = newJSPublisher(in.srv.ClientURL(), p.window); err != nil {
			return 0, 0, err
		}
	}
	var acked atomic.Int64
	errs := make([]error, p.parts)
	var wg sync.WaitGroup
	start := time.Now()
	for part, pub := range pubs {
		wg.Go(func() {
			n, err := pub.publish(ctx, p, fmt.Sprintf("%s.%d", p.topic, part), p.share(part))
			acked.Add(n)
			errs[part] = err
		})
	}
	wg.Wait()
	return acked.Load(), time.Since(start), errors.Join(errs...)
}

// jsPublisher is one publishing goroutine's connection and context.
type jsPublisher struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	failed   atomic.Int64
	firstErr atomic.Pointer[error]
}

func newJSPublisher(url string, window int) (*jsPublisher, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, err
	}
	pub := &jsPublisher{nc: nc}
	pub.js, err = jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(window),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) {
			pub.failed.Add(1)
			pub.firstErr.CompareAndSwap(nil, &err)
		}))
	if err != nil {
		nc.Close()
		return nil, err
	}
	return pub, nil
}

func (pub *jsPublisher) close() {
	pub.js.CleanupPublisher()
	pub.nc.Close()
}

// publish sends n messages to subject (fewer if the plan is over) and
// waits for their acknowledgements; it returns how many were stored.
func (pub *jsPublisher) publish(ctx context.Context, p producePlan, subject string, n int) (int64, error) {
	sent := 0
	for sent < n && !p.over(ctx) {
		_, err := pub.js.PublishAsync(subject, p.value)
		if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			continue // the window stayed full for 200 ms (a slow fsync, a busy machine): try again
		}
		if err != nil {
			return 0, err
		}
		sent++
	}
	select {
	case <-pub.js.PublishAsyncComplete():
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if e := pub.firstErr.Load(); e != nil {
		return 0, *e
	}
	return int64(sent) - pub.failed.Load(), nil
}

// consume creates an ephemeral pull consumer over the whole stream and
// reads it with Consume, which keeps pull requests of jsPullBatch messages
// outstanding. AckNone: like a Kafka or Brook consumer reading a log, it
// acknowledges nothing per message.
func (in *jsInstance) consume(ctx context.Context, expect int64) (time.Duration, error) {
	cons, err := in.stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		AckPolicy:     jetstream.AckNonePolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return 0, err
	}
	defer func() { _ = in.stream.DeleteConsumer(context.Background(), cons.CachedInfo().Name) }()
	var seen int64 // only the Consume callback's goroutine touches it until done closes
	done := make(chan struct{})
	start := time.Now()
	cc, err := cons.Consume(func(jetstream.Msg) {
		seen++
		if seen == expect {
			close(done)
		}
	}, jetstream.PullMaxMessages(jsPullBatch))
	if err != nil {
		return 0, err
	}
	defer func() { cc.Stop(); <-cc.Closed() }()
	select {
	case <-done:
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
