package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/brookmq/brook"
)

// produceFlags are the flags of `produce`.
type produceFlags struct {
	partition int
	key       string
	keySep    string
	headers   []string
}

// maxInFlight bounds the messages published but not yet acknowledged, so
// that a large input is streamed rather than held in memory.
const maxInFlight = 4096

func newProduceCmd(a *app) *cobra.Command {
	var f produceFlags
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Publish standard input to a topic, one message a line",
		Long: "produce publishes each line of standard input as one message. Messages go to\n" +
			"--partition if given, else by key (--key or --key-sep) as Kafka places keys, else\n" +
			"round-robin. It prints how many messages were produced to standard error.",
		Example: "  seq 1 100 | brook produce numbers\n" +
			"  printf 'AAPL:191.2\\nMSFT:402.7\\n' | brook produce prices --key-sep :\n" +
			"  echo hello | brook produce greetings --partition 2 --header source=cli",
		Args: args(cobra.ExactArgs(1)),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("partition") {
				f.partition = brook.PartitionByKey // round-robin when there is no key
			} else if f.partition < 0 {
				return usagef("--partition must be 0 or more, not %d", f.partition)
			}
			if f.key != "" && f.keySep != "" {
				return usagef("--key and --key-sep cannot be used together")
			}
			headers, err := parseHeaders(f.headers)
			if err != nil {
				return err
			}
			return a.withBroker(false, func(b *brook.Broker) error {
				return a.produce(b, args[0], f, headers)
			})
		}),
	}
	fl := cmd.Flags()
	fl.IntVarP(&f.partition, "partition", "p", 0, "publish every message to this partition")
	fl.StringVarP(&f.key, "key", "k", "", "the key of every message")
	fl.StringVarP(&f.keySep, "key-sep", "K", "", "split each line at the first SEP into key and value")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, "add a header KEY=VALUE to every message (repeatable)")
	return cmd
}

// parseHeaders parses KEY=VALUE header flags.
func parseHeaders(hs []string) ([]brook.Header, error) {
	var out []brook.Header
	for _, h := range hs {
		k, v, ok := strings.Cut(h, "=")
		if !ok || k == "" {
			return nil, usagef("--header %q: want KEY=VALUE", h)
		}
		out = append(out, brook.Header{Key: k, Value: []byte(v)})
	}
	return out, nil
}

// produce publishes stdin's lines to topic and reports the count.
func (a *app) produce(b *brook.Broker, topic string, f produceFlags, headers []brook.Header) error {
	t, err := b.Topic(topic)
	if err != nil {
		return err
	}
	if f.partition >= t.Partitions() {
		return &brook.PartitionError{Topic: topic, Partition: f.partition, Partitions: t.Partitions(), Err: brook.ErrInvalidPartition}
	}
	pub := newPublisher(b.CreateProducer("brook-cli"))
	readErr := a.readLines(t.Config().MaxMessageBytes+len(f.keySep), func(n int, line []byte) error {
		m := &brook.Message{Topic: topic, Partition: f.partition, Value: line, Headers: headers}
		if f.key != "" {
			m.Key = []byte(f.key)
		}
		if f.keySep != "" {
			k, v, ok := bytes.Cut(line, []byte(f.keySep))
			if !ok {
				return fmt.Errorf("line %d has no key separator %q: with --key-sep every line is KEY%sVALUE", n, f.keySep, f.keySep)
			}
			m.Key, m.Value = k, v
		}
		return pub.publish(topic, m, n)
	})
	pubErr := pub.close()
	fmt.Fprintf(a.stderr, "%s produced to %s\n", plural(pub.count(), "message"), topic)
	if pubErr != nil && readErr != nil && !errors.Is(readErr, pubErr) {
		return errors.Join(pubErr, readErr)
	}
	if pubErr != nil {
		return pubErr
	}
	return readErr
}

// readLines calls fn with each line of stdin (without its newline) and its
// number, until stdin ends, fn fails, or the context ends (an interrupt:
// what was published stays published). A line longer than maxLine bytes is an
// error. Stdin is read on its own goroutine so that an interrupt is seen
// while a terminal is waiting for input; after an interrupt that goroutine
// may stay blocked in a read until the process exits.
func (a *app) readLines(maxLine int, fn func(n int, line []byte) error) error {
	lines := make(chan []byte)
	scanErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(a.stdin)
		sc.Buffer(make([]byte, 0, min(64<<10, maxLine+1)), maxLine+1) // tokens must be shorter than the max
		sc.Split(scanLF)
		for sc.Scan() {
			select {
			case lines <- bytes.Clone(sc.Bytes()):
			case <-stop:
				return
			}
		}
		scanErr <- sc.Err()
	}()
	for n := 1; ; n++ {
		select {
		case <-a.ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				return lineError(<-scanErr, n, maxLine)
			}
			if err := fn(n, line); err != nil {
				return err
			}
		}
	}
}

// scanLF is bufio.ScanLines without its dropping of a "\r" before the
// "\n": a message is every byte up to the newline.
func scanLF(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// lineError explains a failure to read line n of stdin.
func lineError(err error, n, maxLine int) error {
	if errors.Is(err, bufio.ErrTooLong) {
		return hinted(fmt.Errorf("line %d is longer than %d bytes, the most a message of this topic can hold", n, maxLine),
			"a topic's limit is set when it is created (--max-message-bytes)")
	}
	if err != nil {
		return fmt.Errorf("read standard input: %w", err)
	}
	return nil
}

// publisher publishes asynchronously, so that one fsync acknowledges many
// messages, while keeping at most maxInFlight unacknowledged.
type publisher struct {
	p     *brook.Producer
	slots chan struct{} // one per message in flight

	mu    sync.Mutex
	acked int
	err   error // the first failure
}

func newPublisher(p *brook.Producer) *publisher {
	return &publisher{p: p, slots: make(chan struct{}, maxInFlight)}
}

// publish starts publishing m, read from line n. It returns the first
// failure seen so far, after which the caller should stop.
func (pb *publisher) publish(topic string, m *brook.Message, n int) error {
	if err := pb.failed(); err != nil {
		return err
	}
	pb.slots <- struct{}{}
	pb.p.PublishAsync(topic, m, func(_ *brook.Message, err error) {
		defer func() { <-pb.slots }()
		pb.mu.Lock()
		defer pb.mu.Unlock()
		if err != nil && pb.err == nil {
			pb.err = fmt.Errorf("line %d: %w", n, err)
		} else if err == nil {
			pb.acked++
		}
	})
	return nil
}

// count returns how many messages were acknowledged.
func (pb *publisher) count() int {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	return pb.acked
}

// failed returns the first failure, or nil.
func (pb *publisher) failed() error {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	return pb.err
}

// close waits for every message in flight (Producer.Close waits for the
// done callbacks) and closes the producer. It returns the first publish
// failure.
func (pb *publisher) close() error {
	err := pb.p.Close()
	if ferr := pb.failed(); ferr != nil {
		return ferr
	}
	return err
}
