// Package exchangecmd is the body of the exchange example (seed 001's two
// programs on Brook's exchanges), shared by the command in the root module
// (examples/exchange: mem:// and brook://) and the one in the nested module
// examples/portable (examples/portable/exchange, which registers the Kafka
// backend, so that the publisher and the subscribers run as separate
// processes through `brook serve`). A command is one line:
//
//	func main() { exchangecmd.Command{}.Main() }
//
// It declares a direct exchange "topic" (the seed's name) with the queues
// "topic1" and "topic2", bound by their own names, and a fanout exchange
// "broadcast" with the queues "audit" and "mirror":
//
//	stdin ──"key: text"──▶ topic (direct) ──key topic1──▶ topic1
//	                    │                 └─key topic2──▶ topic2
//	                    └▶ broadcast (fanout) ──────────▶ audit, mirror
//
// A line "topic2: hello" goes with routing key topic2; a line with no
// "key:" prefix uses the seed's key, topic1. A key no queue is bound to is
// reported as unroutable (a Mandatory publish) on the direct exchange.
//
// The commands (the first argument after the flags):
//
//	[-url URL]                                        both programs in one process, until EOF
//	[-url URL] publish                                the publisher: lines from stdin
//	[-url URL] subscribe [-queue topic1] [-idle 2s]   the subscriber: prints one queue
//
// Every command declares the whole topology first (a second declaration
// changes nothing), so the programs may start in any order: a queue holds
// what was published since it was bound, whether its subscriber ran or not.
// Run prints only to the writer it is given; Main, to the standard output
// and error.
package exchangecmd

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

// DefaultURL is the backend a Command opens when -url is not given: a data
// directory in the working directory, kept between runs.
const DefaultURL = "brook://./exchange-data"

// Command is one build of the example: the backends it knows and its
// default -url.
type Command struct {
	// Registry opens -url. Default: a zero pubsub.Registry, which knows
	// brook:// and mem://.
	Registry *pubsub.Registry
	// DefaultURL is -url's default. Default: DefaultURL.
	DefaultURL string
}

// Main runs the command line in os.Args until EOF on stdin, SIGINT or
// SIGTERM, as a command's main does, and exits with status 1 on error.
func (c Command) Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := c.Run(ctx, os.Args[1:], os.Stdin, os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "exchange:", err)
		os.Exit(1)
	}
}

// Run parses args (flags, then a command: publish, subscribe, or none for
// both programs in one process) and runs it until it is done or ctx ends.
func (c Command) Run(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	reg, def := c.Registry, c.DefaultURL
	if reg == nil {
		reg = &pubsub.Registry{}
	}
	if def == "" {
		def = DefaultURL
	}
	fs := flag.NewFlagSet("exchange", flag.ContinueOnError)
	fs.SetOutput(out)
	url := fs.String("url", def, "pubsub backend URL (registered: "+strings.Join(reg.Schemes(), ", ")+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cmd, rest := "demo", fs.Args()
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	client, err := reg.Open(ctx, *url)
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
