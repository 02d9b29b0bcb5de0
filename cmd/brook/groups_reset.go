package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/brookmq/brook"
)

// resetFlags are the flags of `groups reset-offsets`.
type resetFlags struct {
	topic      string
	partitions string
	earliest   bool
	latest     bool
	offset     int64
	datetime   string
}

// resetInfo is one partition in the output of `groups reset-offsets`.
type resetInfo struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Previous  *int64 `json:"previous"` // null when nothing was committed
	Offset    int64  `json:"offset"`
}

func newGroupsResetCmd(a *app) *cobra.Command {
	var f resetFlags
	cmd := &cobra.Command{
		Use:   "reset-offsets GROUP --topic TOPIC (--to-earliest | --to-latest | --to-offset N | --to-datetime T)",
		Short: "Move a stopped group's committed offsets, like kafka-consumer-groups.sh --reset-offsets",
		Long: "reset-offsets sets the group's committed offsets for the topic's partitions\n" +
			"(all, or those of --partitions) and prints the previous and the new ones. It is\n" +
			"refused while the group has members: stop its consumers first. An offset\n" +
			"outside a partition is moved to its first or next offset, as Kafka does.\n" +
			"With --server it goes through a running brook serve, which must have been\n" +
			"started with --http-allow-writes.",
		Example: "  brook groups reset-offsets audit --topic orders --to-earliest\n" +
			"  brook groups reset-offsets audit --topic orders --partitions 0,2 --to-offset 100\n" +
			"  brook groups reset-offsets audit --topic orders --to-datetime 2026-12-01T09:00:00Z",
		Args: args(cobra.ExactArgs(1)),
		RunE: action(func(cmd *cobra.Command, args []string) error {
			to, err := f.spec(cmd)
			if err != nil {
				return err
			}
			parts, err := parsePartitions(f.partitions)
			if err != nil {
				return err
			}
			if a.server != "" {
				r, err := newRemote(a.server, a.serverToken)
				if err != nil {
					return err
				}
				res, err := r.resetOffsets(a.ctx, f.request(cmd, f.topic, parts), args[0])
				if err != nil {
					return err
				}
				return a.printReset(args[0], f.topic, to, res)
			}
			return a.withBroker(false, func(b *brook.Broker) error {
				res, err := b.ResetOffsets(args[0], f.topic, to, parts...)
				if err != nil {
					return err
				}
				return a.printReset(args[0], f.topic, to, res)
			})
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.topic, "topic", "", "the topic whose offsets to reset (required)")
	fl.StringVar(&f.partitions, "partitions", "", "only these partitions, comma-separated (default: all)")
	fl.BoolVar(&f.earliest, "to-earliest", false, "to the earliest offset still held: read everything again")
	fl.BoolVar(&f.latest, "to-latest", false, "to the end: skip everything published so far")
	fl.Int64Var(&f.offset, "to-offset", 0, "to this offset in every partition")
	fl.StringVar(&f.datetime, "to-datetime", "", "to the first message at or after this time: RFC 3339 (2026-12-01T09:00:00Z), or a date (UTC)")
	_ = cmd.MarkFlagRequired("topic")
	return cmd
}

// spec returns the target the one --to-* flag given names.
func (f *resetFlags) spec(cmd *cobra.Command) (brook.OffsetSpec, error) {
	var specs []brook.OffsetSpec
	fl := cmd.Flags()
	if f.earliest {
		specs = append(specs, brook.ToEarliest())
	}
	if f.latest {
		specs = append(specs, brook.ToLatest())
	}
	if fl.Changed("to-offset") {
		if f.offset < 0 {
			return brook.OffsetSpec{}, usagef("--to-offset must be 0 or more, not %d", f.offset)
		}
		specs = append(specs, brook.ToOffset(f.offset))
	}
	if fl.Changed("to-datetime") {
		t, err := parseTime(f.datetime)
		if err != nil {
			return brook.OffsetSpec{}, usagef("--to-datetime: %v", err)
		}
		specs = append(specs, brook.ToTime(t))
	}
	if len(specs) != 1 {
		return brook.OffsetSpec{}, usagef("give exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime T")
	}
	return specs[0], nil
}

// timeLayouts are the forms parseTime accepts, tried in order.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

// parseTime parses an RFC 3339 time, or one without a zone (taken as UTC),
// or a date.
func parseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time such as 2026-12-01T09:00:00Z or 2026-12-01", s)
}

// parsePartitions parses a comma-separated list of partition indexes.
// Empty means all (nil).
func parsePartitions(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var parts []int
	for _, f := range strings.Split(s, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || p < 0 {
			return nil, usagef("--partitions: %q is not a partition index", f)
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// printReset prints what ResetOffsets did.
func (a *app) printReset(group, topic string, to brook.OffsetSpec, res []brook.OffsetReset) error {
	out := make([]resetInfo, len(res))
	for i, r := range res {
		out[i] = resetInfo{Topic: topic, Partition: r.Partition, Offset: r.Offset}
		if r.Previous >= 0 {
			prev := r.Previous
			out[i].Previous = &prev
		}
	}
	if a.json {
		return writeJSON(a.stdout, out)
	}
	fmt.Fprintf(a.stdout, "Reset group %q on %q to %s.\n\n", group, topic, to)
	return a.table(func(w io.Writer) {
		row(w, "TOPIC", "PARTITION", "PREVIOUS", "NEW")
		for _, r := range out {
			prev := "-"
			if r.Previous != nil {
				prev = fmt.Sprint(*r.Previous)
			}
			row(w, r.Topic, r.Partition, prev, r.Offset)
		}
	})
}
