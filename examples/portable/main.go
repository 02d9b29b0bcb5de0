// Command portable is seed 000's main.py in Go: one program that sends and
// consumes messages through "a message broker" chosen by a URL, with every
// backend registered in one pubsub.Registry. It runs on the embedded broker
// by default and, unchanged, on Kafka or Google Pub/Sub:
//
//	go run .                                       # mem://, a throwaway embedded broker
//	BROOK_URL=brook:///tmp/portable go run .       # an embedded broker on disk
//	BROOK_URL=kafka://localhost:9092 go run .      # a Kafka cluster
//	PUBSUB_EMULATOR_HOST=127.0.0.1:8085 BROOK_URL=gcppubsub://demo go run .
//
// Adding a broker is the seed's "add a class and a dict entry": implement
// driver.Backend, pass drivertest, and Register its Opener below.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/gcppubsub"
	"github.com/brookmq/brook/pubsub/kafka"
)

// registry is the seed's all_brokers.py: every broker this program knows,
// by URL scheme ("brook" and "mem" are built in).
func registry() *pubsub.Registry {
	reg := &pubsub.Registry{}
	reg.Register("kafka", kafka.Opener{})
	reg.Register("gcppubsub", gcppubsub.Opener{})
	return reg
}

func main() {
	n := flag.Int("n", 5, "how many messages to send and consume")
	topic := flag.String("topic", "topic", "the topic to send to and consume from")
	timeout := flag.Duration("timeout", 30*time.Second, "give up after this long")
	flag.Parse()
	url := os.Getenv("BROOK_URL")
	if url == "" {
		url = "mem://"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := run(ctx, registry(), url, *topic, *n, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "portable:", err)
		os.Exit(1)
	}
}

// run opens the broker url names, then sends n messages to topic and
// consumes them back in the group "portable", printing each to out.
func run(ctx context.Context, reg *pubsub.Registry, url, topic string, n int, out io.Writer) (err error) {
	c, err := reg.Open(ctx, url)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close()) }()

	// One partition: every backend has that, and the messages keep their order.
	if err := c.CreateTopic(ctx, topic, 1); err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	// Subscribe before sending: on Pub/Sub a new group only gets what is
	// published after it subscribed.
	sub, err := c.Subscribe(ctx, "portable", []string{topic}, pubsub.SubscribeOptions{})
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", topic, err)
	}
	defer func() { err = errors.Join(err, sub.Close()) }()

	for i := range n { // the seed's send_message('topic', message)
		msg := fmt.Sprintf("message %d via %s", i, url)
		if err := c.Send(ctx, topic, []byte(msg)); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		fmt.Fprintf(out, "sent     %q\n", msg)
	}
	for range n { // the seed's consume_message('topic')
		m, err := sub.Receive(ctx)
		if err != nil {
			return fmt.Errorf("consume: %w", err)
		}
		fmt.Fprintf(out, "consumed %q\n", m.Value)
	}
	return nil
}
