package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"slices"
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
	encoding  string
}

// maxInFlight bounds the messages published but not yet acknowledged, so
// that a large input is streamed rather than held in memory.
const maxInFlight = 4096

func newProduceCmd(a *app) *cobra.Command {
	var f produceFlags
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Publish standard input to a topic, one message a line",
		Long: "produce publishes each line of standard input as one message (every byte up to\n" +
			"the newline). Messages go to --partition if given, else by key (--key or --key-sep)\n" +
			"as Kafka places keys, else round-robin. It prints how many messages were produced\n" +
			"to standard error. With --encoding base64 or hex, each line (with --key-sep, its key\n" +
			"and its value) is decoded first, for binary messages; --key and --header are text.\n\n" +
			produceJSONHelp + "\n" +
			"With --json, --key, --header and --partition apply to the lines that have no key,\n" +
			"add headers to every message, and place the lines that have no partition.",
		Example: "  seq 1 100 | brook produce numbers\n" +
			"  printf 'AAPL:191.2\\nMSFT:402.7\\n' | brook produce prices --key-sep :\n" +
			"  echo hello | brook produce greetings --partition 2 --header source=cli\n" +
			"  echo '{\"key\":\"k1\",\"value\":\"hello\",\"headers\":{\"source\":\"cli\"}}' | brook produce greetings --json\n" +
			"  brook consume orders --json | brook produce orders-copy --json",
		Args: args(cobra.ExactArgs(1)),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("partition") {
				f.partition = brook.PartitionByKey // round-robin when there is no key
			} else if f.partition < 0 {
				return usagef("--partition must be 0 or more, not %d", f.partition)
			}
			switch {
			case f.key != "" && f.keySep != "":
				return usagef("--key and --key-sep cannot be used together")
			case a.json && f.keySep != "":
				return usagef("--key-sep cannot be used with --json: each line's JSON has its key")
			}
			enc, err := encodingFlag("--encoding", f.encoding)
			if err != nil {
				return err
			}
			headers, err := parseHeaders(f.headers)
			if err != nil {
				return err
			}
			return a.withBroker(false, func(b *brook.Broker) error {
				return a.produce(b, args[0], f, headers, enc)
			})
		}),
	}
	fl := cmd.Flags()
	fl.IntVarP(&f.partition, "partition", "p", 0, "publish every message to this partition")
	fl.StringVarP(&f.key, "key", "k", "", "the key of every message")
	fl.StringVarP(&f.keySep, "key-sep", "K", "", "split each line at the first SEP into key and value")
	fl.StringArrayVarP(&f.headers, "header", "H", nil, "add a header KEY=VALUE to every message (repeatable)")
	fl.StringVar(&f.encoding, "encoding", string(encText), encodingHelp+" (of the input lines, or of the JSON fields under --json)")
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
func (a *app) produce(b *brook.Broker, topic string, f produceFlags, headers []brook.Header, enc encoding) error {
	t, err := b.Topic(topic)
	if err != nil {
		return err
	}
	if f.partition >= t.Partitions() {
		return &brook.PartitionError{Topic: topic, Partition: f.partition, Partitions: t.Partitions(), Err: brook.ErrInvalidPartition}
	}
	maxLine := t.Config().MaxMessageBytes + len(f.keySep)
	if a.json || enc != encText { // room for the JSON, or for base64's 4 bytes in 3 and hex's 2 in 1
		maxLine = 4*maxLine + 64<<10
	}
	pub := newPublisher(b.CreateProducer("brook-cli"))
	readErr := a.readLines(maxLine, func(n int, line []byte) error {
		m := &brook.Message{Topic: topic, Partition: f.partition, Headers: slices.Clone(headers)}
		if f.key != "" {
			m.Key = []byte(f.key)
		}
		if a.json {
			if len(bytes.TrimSpace(line)) == 0 {
				return nil // blank lines are skipped
			}
			if err := parseJSONLine(line, enc, m); err != nil {
				return hinted(fmt.Errorf("line %d: %w", n, err), "brook produce --help describes the JSON of a line")
			}
			return pub.publish(topic, m, n)
		}
		value := line
		if f.keySep != "" {
			k, v, ok := bytes.Cut(line, []byte(f.keySep))
			if !ok {
				return fmt.Errorf("line %d has no key separator %q: with --key-sep every line is KEY%sVALUE", n, f.keySep, f.keySep)
			}
			key, err := decodeLinePart(enc, k, "key", n)
			if err != nil {
				return err
			}
			m.Key, value = key, v
		}
		var err error
		if m.Value, err = decodeLinePart(enc, value, "value", n); err != nil {
			return err
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

// decodeLinePart decodes the key or value read from line n.
func decodeLinePart(enc encoding, b []byte, what string, n int) ([]byte, error) {
	if enc == encText {
		return b, nil
	}
	out, err := enc.decode(string(b))
	if err != nil {
		return nil, fmt.Errorf("line %d: the %s is %w (--encoding %s)", n, what, err, enc)
	}
	return out, nil
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
