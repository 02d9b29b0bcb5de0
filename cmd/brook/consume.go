package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/brookmq/brook"
)

// consumeFlags are the flags of `consume`.
type consumeFlags struct {
	partition    int
	partitionSet bool
	offset       string
	group        string
	follow       bool
	count        int
	format       string
	encoding     string
}

// fetchBatch is how many messages one Fetch asks for.
const fetchBatch = 500

func newConsumeCmd(a *app) *cobra.Command {
	var f consumeFlags
	cmd := &cobra.Command{
		Use:   "consume TOPIC",
		Short: "Print a topic's messages, from partitions directly or as a group member",
		Long: "consume prints messages from the topic's partitions (all of them, or --partition),\n" +
			"starting at --offset, without committing anything; or, with --group, as a member of\n" +
			"that consumer group, which continues from the group's committed offsets and commits\n" +
			"what it printed. It stops at the end of the messages unless --follow is given.\n" +
			"With --json, it prints each message as one line of JSON.\n\n" +
			"Outside a group, consume opens the data directory read-only: it works while a program\n" +
			"holds the directory, and with --follow it prints what that program publishes.\n" +
			"With --group it commits, so it needs the directory to itself.",
		Example: "  brook consume orders --partition 0 --offset 42 --count 10\n" +
			"  brook consume orders --offset -5 --format '%p/%o %k=%v\\n'\n" +
			"  brook consume orders --offset s@2026-12-03T10:00:00Z --json\n" +
			"  brook consume images --json --encoding base64\n" +
			"  brook consume orders --group billing --follow",
		Args: args(cobra.ExactArgs(1)),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			f.partitionSet = cmd.Flags().Changed("partition")
			s, err := a.newSink(f, cmd.Flags().Changed("format"))
			if err != nil {
				return err
			}
			open := a.withReader // outside a group nothing is written
			if f.group != "" {
				open = func(fn func(*brook.Broker) error) error { return a.withBroker(false, fn) }
			}
			return open(func(b *brook.Broker) error {
				consume := a.consumePartitions
				if f.group != "" {
					consume = a.consumeGroup
				}
				err := consume(b, args[0], f, s)
				if ferr := s.w.Flush(); err == nil {
					err = ferr
				}
				return err
			})
		}),
	}
	fl := cmd.Flags()
	fl.IntVarP(&f.partition, "partition", "p", 0, "read only this partition (default: all)")
	fl.StringVarP(&f.offset, "offset", "o", "earliest",
		"where to start: earliest, latest, an offset, -N for the last N messages, or s@TIME for the first message "+
			"at or after TIME (milliseconds since 1970, as kcat's -o s@, or RFC 3339); with --group, "+
			"where to start partitions the group has no committed offset for (earliest or latest)")
	fl.StringVarP(&f.group, "group", "G", "", "consume as a member of this consumer group, committing what is printed")
	fl.BoolVarP(&f.follow, "follow", "f", false, "keep waiting for new messages (stop with Ctrl-C)")
	fl.IntVarP(&f.count, "count", "c", 0, "stop after this many messages (default: no limit)")
	fl.StringVar(&f.format, "format", defaultFormat, formatHelp)
	fl.StringVar(&f.encoding, "encoding", string(encText), encodingHelp+
		"; under --json a key or value that is not UTF-8 is written base64 and named so by key_encoding or value_encoding")
	return cmd
}

// sink writes messages to stdout and counts them against --count.
type sink struct {
	w      *bufio.Writer
	f      *formatter // nil under --json
	enc    encoding
	follow bool // flush after every batch
	limit  int  // 0: no limit
	n      int
}

// newSink checks the output flags and returns the sink for them.
func (a *app) newSink(f consumeFlags, formatSet bool) (*sink, error) {
	switch {
	case f.count < 0:
		return nil, usagef("--count must be 0 (no limit) or more, not %d", f.count)
	case f.group != "" && f.partitionSet:
		return nil, usagef("--partition cannot be used with --group: the group assigns the partitions")
	case f.group != "" && f.offset != "earliest" && f.offset != "latest":
		return nil, usagef("with --group, --offset is earliest or latest: the group's committed offsets say where to go on")
	case a.json && formatSet:
		return nil, usagef("--format and --json cannot be used together")
	}
	enc, err := encodingFlag("--encoding", f.encoding)
	if err != nil {
		return nil, err
	}
	s := &sink{w: bufio.NewWriterSize(a.stdout, 64<<10), follow: f.follow, limit: f.count, enc: enc}
	if !a.json {
		if s.f, err = parseFormat(f.format); err != nil {
			return nil, err
		}
		s.f.enc = enc
	}
	return s, nil
}

// put prints the messages up to the limit and reports whether more are wanted.
func (s *sink) put(msgs []*brook.Message) (more bool, err error) {
	for _, m := range msgs {
		if s.limit > 0 && s.n >= s.limit {
			break
		}
		if s.f != nil {
			s.f.write(s.w, m)
		} else if err := writeJSONLine(s.w, m, s.enc); err != nil {
			return false, err
		}
		s.n++
	}
	if s.follow {
		if err := s.w.Flush(); err != nil {
			return false, err
		}
	}
	return s.limit == 0 || s.n < s.limit, nil
}

// consumePartitions reads partitions directly with Broker.Fetch.
func (a *app) consumePartitions(b *brook.Broker, topic string, f consumeFlags, s *sink) error {
	t, err := b.Topic(topic)
	if err != nil {
		return err
	}
	parts := t.Stats().Partitions
	if f.partitionSet {
		if f.partition < 0 || f.partition >= len(parts) {
			return &brook.PartitionError{Topic: topic, Partition: f.partition, Partitions: len(parts), Err: brook.ErrInvalidPartition}
		}
		parts = parts[f.partition : f.partition+1]
	}
	starts := make([]int64, len(parts))
	for i, p := range parts {
		if starts[i], err = startOffset(t, p, f.offset); err != nil {
			return err
		}
	}
	if f.follow {
		return a.followPartitions(b, topic, parts, starts, s)
	}
	for i, p := range parts {
		more, err := readPartition(a.ctx, b, topic, p.Partition, starts[i], p.NextOffset, s.put)
		if err != nil || !more {
			return ignoreCanceled(a.ctx, err)
		}
	}
	return nil
}

// startOffset resolves an --offset for partition p of t.
func startOffset(t *brook.Topic, p brook.PartitionStats, spec string) (int64, error) {
	switch spec {
	case "earliest", "beginning":
		return p.FirstOffset, nil
	case "latest", "end":
		return p.NextOffset, nil
	}
	if at, ok := strings.CutPrefix(spec, "s@"); ok {
		ts, err := parseStartTime(at)
		if err != nil {
			return 0, usagef("--offset %q: %v", spec, err)
		}
		return t.PartitionOffsetForTime(p.Partition, ts)
	}
	n, err := strconv.ParseInt(spec, 10, 64)
	switch {
	case err != nil:
		return 0, usagef("--offset %q: want earliest, latest, an offset, -N, or s@TIME", spec)
	case n < 0:
		return max(p.NextOffset+n, p.FirstOffset), nil
	case n < p.FirstOffset || n > p.NextOffset:
		return 0, &brook.OffsetError{Topic: t.Name(), Partition: p.Partition, Offset: n, First: p.FirstOffset, Next: p.NextOffset}
	}
	return n, nil
}

// parseStartTime reads the TIME of --offset s@TIME: milliseconds since
// 1970 (kcat's and Kafka's form), or a time as groups reset-offsets
// --to-datetime takes it (RFC 3339, or without a zone, taken as UTC).
func parseStartTime(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms < -maxMillis || ms > maxMillis {
			return time.Time{}, fmt.Errorf("%d milliseconds is out of range", ms)
		}
		return time.UnixMilli(ms), nil
	}
	ts, err := parseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w, or milliseconds since 1970", err)
	}
	return ts, nil
}

// readPartition fetches partition p from offset from up to (not including)
// end, or forever when end < 0, handing each batch to emit until emit
// wants no more. It reports whether emit wanted more.
func readPartition(ctx context.Context, b *brook.Broker, topic string, p int, from, end int64,
	emit func([]*brook.Message) (bool, error)) (bool, error) {
	for off := from; end < 0 || off < end; {
		msgs, err := b.Fetch(ctx, topic, p, off, fetchBatch)
		if err != nil {
			return false, err
		}
		for end >= 0 && len(msgs) > 0 && msgs[len(msgs)-1].Offset >= end {
			msgs = msgs[:len(msgs)-1]
		}
		if len(msgs) == 0 {
			return true, nil
		}
		if more, err := emit(msgs); err != nil || !more {
			return more, err
		}
		off = msgs[len(msgs)-1].Offset + 1
	}
	return true, nil
}

// followPartitions reads every partition on its own goroutine, without end,
// and prints the batches as they come until the limit, an error, or the
// context ends.
func (a *app) followPartitions(b *brook.Broker, topic string, parts []brook.PartitionStats, starts []int64, s *sink) error {
	ctx, cancel := context.WithCancel(a.ctx)
	defer cancel()
	batches := make(chan []*brook.Message)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i, p := range parts {
		wg.Go(func() {
			_, err := readPartition(ctx, b, topic, p.Partition, starts[i], -1, func(msgs []*brook.Message) (bool, error) {
				select {
				case batches <- msgs:
					return true, nil
				case <-ctx.Done():
					return false, nil
				}
			})
			if err = ignoreCanceled(ctx, err); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				cancel()
			}
		})
	}
	go func() {
		wg.Wait()
		close(batches)
	}()
	var putErr error
	for msgs := range batches {
		if more, err := s.put(msgs); err != nil || !more {
			putErr = cmp.Or(putErr, err)
			cancel()
		}
	}
	return errors.Join(putErr, firstErr)
}

// ignoreCanceled returns nil for the error of a context that has ended (an
// interrupt ends --follow normally), and err otherwise.
func ignoreCanceled(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}
