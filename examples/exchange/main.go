// Command exchange is seed 001's two programs on Brook's exchanges: a
// publisher that types messages into an exchange, and a subscriber that
// prints a queue. It declares a direct exchange "topic" (the seed's name)
// with the queues "topic1" and "topic2", bound by their own names, and a
// fanout exchange "broadcast" with the queues "audit" and "mirror":
//
//	stdin ──"key: text"──▶ topic (direct) ──key topic1──▶ topic1
//	                    │                 └─key topic2──▶ topic2
//	                    └▶ broadcast (fanout) ──────────▶ audit, mirror
//
// A line "topic2: hello" goes with routing key topic2; a line with no
// "key:" prefix uses the seed's key, topic1. A key no queue is bound to is
// reported as unroutable (a Mandatory publish) on the direct exchange.
//
// Usage:
//
//	go run ./examples/exchange [-url URL]                 # both programs in one process, until EOF
//	go run ./examples/exchange [-url URL] publish         # the publisher: lines from stdin
//	go run ./examples/exchange [-url URL] subscribe [-queue topic1] [-idle 2s]
//
// The URL is any pubsub backend with end offsets: brook://./exchange-data
// (the default), mem://, or kafka://... through a program that registers it.
// On brook:// the two programs run one after the other (the data directory
// takes one process at a time); what the publisher sent waits in the
// queues, durably:
//
//	echo "topic2: hello" | go run ./examples/exchange publish
//	go run ./examples/exchange subscribe -queue topic2 -idle 1s
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/exchange"
	"github.com/brookmq/brook/pubsub"
)

// The topology the example declares.
const (
	directExchange = "topic"
	fanoutExchange = "broadcast"
	defaultKey     = "topic1"
)

var (
	directQueues = []string{"topic1", "topic2"} // each bound by its own name
	fanoutQueues = []string{"audit", "mirror"}
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "exchange:", err)
		os.Exit(1)
	}
}

// run parses args and runs the demo, the publisher or the subscriber.
func run(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("exchange", flag.ContinueOnError)
	fs.SetOutput(out)
	url := fs.String("url", "brook://./exchange-data", "pubsub backend URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cmd, rest := "demo", fs.Args()
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	client, err := pubsub.Open(ctx, *url)
	if err != nil {
		return err
	}
	defer client.Close()
	conn, err := exchange.Open(ctx, client)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := declare(ctx, conn); err != nil {
		return err
	}
	switch cmd {
	case "demo":
		return demo(ctx, conn, in, out)
	case "publish":
		_, err := publishLines(ctx, conn, in, out, nil)
		return err
	case "subscribe":
		sf := flag.NewFlagSet("subscribe", flag.ContinueOnError)
		sf.SetOutput(out)
		queue := sf.String("queue", defaultKey, "the queue to print")
		idle := sf.Duration("idle", 0, "exit after this long without a message (0: run until interrupted)")
		if err := sf.Parse(rest); err != nil {
			return err
		}
		return subscribe(ctx, conn, *queue, *idle, out)
	}
	return fmt.Errorf("unknown command %q (want publish or subscribe)", cmd)
}

// declare declares the exchanges and queues; on a second run it finds them
// there and changes nothing.
func declare(ctx context.Context, conn *exchange.Conn) error {
	if err := conn.ExchangeDeclare(ctx, directExchange, exchange.Direct, exchange.ExchangeOptions{}); err != nil {
		return err
	}
	if err := conn.ExchangeDeclare(ctx, fanoutExchange, exchange.Fanout, exchange.ExchangeOptions{}); err != nil {
		return err
	}
	for _, q := range directQueues {
		if err := conn.QueueDeclare(ctx, q, exchange.QueueOptions{}); err != nil {
			return err
		}
		if err := conn.QueueBind(ctx, q, q, directExchange); err != nil {
			return err
		}
	}
	for _, q := range fanoutQueues {
		if err := conn.QueueDeclare(ctx, q, exchange.QueueOptions{}); err != nil {
			return err
		}
		if err := conn.QueueBind(ctx, q, "", fanoutExchange); err != nil {
			return err
		}
	}
	return nil
}

// publishLines publishes each line of in to both exchanges, with headers,
// and returns how many deliveries that makes, over all queues.
func publishLines(ctx context.Context, conn *exchange.Conn, in io.Reader, out io.Writer, headers []brook.Header) (int, error) {
	deliveries := 0
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		key, text := defaultKey, strings.TrimSpace(sc.Text())
		if k, t, ok := strings.Cut(text, ":"); ok && !strings.ContainsAny(k, " \t") {
			key, text = k, strings.TrimSpace(t)
		}
		if text == "" {
			continue
		}
		err := conn.Publish(ctx, directExchange, key, exchange.Publishing{Body: []byte(text), Headers: headers, Mandatory: true})
		switch {
		case errors.Is(err, exchange.ErrUnroutable):
			fmt.Fprintf(out, "no queue is bound to %q on %s: not sent there\n", key, directExchange)
		case err != nil:
			return deliveries, err
		default:
			deliveries++
		}
		if err := conn.Publish(ctx, fanoutExchange, key, exchange.Publishing{Body: []byte(text), Headers: headers}); err != nil {
			return deliveries, err
		}
		deliveries += len(fanoutQueues)
	}
	return deliveries, sc.Err()
}

// runHeader marks the messages of one demo run, so that it waits for its
// own and not for what an earlier publish left in the queues.
const runHeader = "example.run"

// printer prints what queues deliver and counts the messages of run.
type printer struct {
	mu    sync.Mutex
	out   io.Writer
	run   string
	n     int
	count chan struct{} // a token per delivery
}

func (p *printer) handler(queue string) brook.Handler {
	return func(_ context.Context, m *brook.Message) error {
		p.mu.Lock()
		fmt.Fprintf(p.out, "[%s] %s/%s: %s\n", queue, exchange.ExchangeName(m), exchange.RoutingKey(m), m.Value)
		if v, _ := m.Header(runHeader); string(v) == p.run {
			p.n++
		}
		p.mu.Unlock()
		select {
		case p.count <- struct{}{}:
		default:
		}
		return nil
	}
}

// demo runs a subscriber for every queue and the publisher in one process,
// and returns once everything typed has been printed.
func demo(ctx context.Context, conn *exchange.Conn, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	p := &printer{out: out, run: run, count: make(chan struct{}, 1)}
	var wg sync.WaitGroup
	errs := make(chan error, len(directQueues)+len(fanoutQueues))
	for _, q := range append(append([]string{}, directQueues...), fanoutQueues...) {
		wg.Go(func() {
			if err := conn.Consume(ctx, q, "demo-"+q, p.handler(q)); err != nil {
				errs <- err
			}
		})
	}
	defer wg.Wait()
	defer cancel()
	// Earlier messages may still wait in the queues of a brook://
	// directory: they are printed too, but only this run's are awaited.
	want, err := publishLines(ctx, conn, in, out, []brook.Header{{Key: runHeader, Value: []byte(run)}})
	if err != nil {
		return err
	}
	for p.printed() < want {
		select {
		case <-p.count:
		case err := <-errs:
			return err
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

func (p *printer) printed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// subscribe prints queue until ctx ends or, with idle > 0, until no
// message has come for that long since the queue's partitions were
// assigned to it.
func subscribe(ctx context.Context, conn *exchange.Conn, queue string, idle time.Duration, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	assigned := make(chan struct{}, 1)
	opts := exchange.QueueOptions{Consumer: pubsub.SubscribeOptions{OnAssigned: func([]brook.TopicPartition) {
		select {
		case assigned <- struct{}{}:
		default:
		}
	}}}
	if err := conn.QueueDeclare(ctx, queue, opts); err != nil {
		return err
	}
	p := &printer{out: out, run: "-", count: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- conn.Consume(ctx, queue, "subscriber", p.handler(queue)) }()
	if idle <= 0 {
		return <-done
	}
	var timeout <-chan time.Time // nil until assigned
	for {
		select {
		case <-assigned:
			timeout = time.After(idle)
		case <-p.count:
			timeout = time.After(idle)
		case <-timeout:
			cancel()
			return <-done
		case err := <-done:
			return err
		}
	}
}
