package main

import (
	"context"
	"errors"
	"net"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/kafkaserver"
)

// brookKafkaSystem is Brook served over the Kafka protocol by kafkaserver,
// in this process on 127.0.0.1, driven by the same kgo client and settings
// as kfake (see kafkaInstance): what the wire and the protocol cost against
// in-process Brook, and how Brook's storage compares with kfake's behind
// the same client.
//
// Durable mode is Brook's default policy (SyncAlways: every Produce
// request's records are fsynced before the response); not synced is
// SyncNever. kafkaserver serves idempotent producers with sequence checks,
// so kgo keeps its default of up to 5 produce requests in flight.
type brookKafkaSystem struct{}

func (brookKafkaSystem) name() string { return "brook-kafka" }

func (brookKafkaSystem) mode(w workload, _ Config) string {
	switch w {
	case produceDurable:
		return "kafkaserver, SyncAlways (default), kgo acks=all"
	case produceUnsynced:
		return "kafkaserver, SyncNever, kgo acks=all"
	case latencyDurable:
		return "kafkaserver, SyncAlways (default), kgo linger 0, acks=all"
	}
	return "kafkaserver, kgo direct partition consumption (no group)"
}

func (brookKafkaSystem) start(ctx context.Context, dir string, durable bool, c Config) (instance, error) {
	opts := &brook.Options{Sync: brook.SyncNever}
	if durable {
		opts = nil // the default policy
	}
	b, err := brook.Open(join(dir, "brook-kafka"), opts)
	if err != nil {
		return nil, err
	}
	if _, err := b.CreateNewTopic(topicName, c.Partitions); err != nil {
		return nil, errors.Join(err, b.Close())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, errors.Join(err, b.Close())
	}
	s := kafkaserver.New(b, nil)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	stop := func() error {
		err := s.Close()
		if serr := <-served; !errors.Is(serr, kafkaserver.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return errors.Join(err, b.Close())
	}
	return connectKafka(ctx, []string{ln.Addr().String()}, c.Partitions, stop)
}
