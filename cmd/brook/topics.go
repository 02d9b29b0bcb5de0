package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/brookmq/brook"
)

// topicSummary is one line of `topics list`.
type topicSummary struct {
	Name       string `json:"name"`
	Partitions int    `json:"partitions"`
	Messages   int64  `json:"messages"`
	Bytes      int64  `json:"bytes"`
}

// topicInfo is the output of `topics describe`.
type topicInfo struct {
	Name       string          `json:"name"`
	Config     topicConfigJSON `json:"config"`
	Partitions []partitionInfo `json:"partitions"`
}

// topicConfigJSON is a topic's configuration with defaults filled in. Zero
// retention values mean no limit.
type topicConfigJSON struct {
	Partitions      int    `json:"partitions"`
	RetentionAgeMS  int64  `json:"retention_age_ms"`
	RetentionBytes  int64  `json:"retention_bytes"`
	MaxMessageBytes int    `json:"max_message_bytes"`
	Sync            string `json:"sync"`
}

// partitionInfo describes one partition.
type partitionInfo struct {
	Partition   int   `json:"partition"`
	FirstOffset int64 `json:"first_offset"`
	NextOffset  int64 `json:"next_offset"`
	Messages    int64 `json:"messages"`
	Bytes       int64 `json:"bytes"`
	// Failure says why the partition failed (see brook.ErrPartitionFailed);
	// absent while it is healthy.
	Failure string `json:"failure,omitempty"`
}

// newTopicsCmd builds `brook topics` and its subcommands.
func newTopicsCmd(a *app) *cobra.Command {
	return listByDefault(parentCmd("topics", "List, create, describe, alter, grow and delete topics (alone: list them)",
		newTopicsListCmd(a), newTopicsCreateCmd(a), newTopicsDescribeCmd(a), newTopicsAlterCmd(a),
		newTopicsAddPartitionsCmd(a), newTopicsDeleteCmd(a)))
}

func newTopicsListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the topics with their partitions, messages and size",
		Args:  args(cobra.NoArgs),
		RunE: action(func(*cobra.Command, []string) error {
			return a.withSource(a.topicsList)
		}),
	}
}

// topicsList prints every topic's summary.
func (a *app) topicsList(src source) error {
	topics, err := src.TopicStats(a.ctx)
	if err != nil {
		return err
	}
	out := []topicSummary{}
	for _, st := range topics {
		s := topicSummary{Name: st.Name}
		for _, p := range topicInfoOf(st).Partitions {
			s.Partitions++
			s.Messages += p.Messages
			s.Bytes += p.Bytes
		}
		out = append(out, s)
	}
	return a.emit(out, func(w io.Writer) {
		row(w, "TOPIC", "PARTITIONS", "MESSAGES", "BYTES")
		for _, s := range out {
			row(w, s.Name, s.Partitions, s.Messages, humanBytes(s.Bytes))
		}
	})
}

func newTopicsDescribeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "describe TOPIC",
		Short: "Show a topic's configuration and, per partition, its offsets and size",
		Args:  args(cobra.ExactArgs(1)),
		RunE: action(func(_ *cobra.Command, args []string) error {
			return a.withSource(func(src source) error {
				st, err := src.Topic(a.ctx, args[0])
				if err != nil {
					return err
				}
				return a.printTopic(topicInfoOf(st))
			})
		}),
	}
}

// describeTopic takes a snapshot of t.
func describeTopic(t *brook.Topic) topicInfo { return topicInfoOf(t.Stats()) }

// topicInfoOf is what topics describe prints of a topic's stats.
func topicInfoOf(st brook.TopicStats) topicInfo {
	cfg := st.Config
	info := topicInfo{
		Name: st.Name,
		Config: topicConfigJSON{
			Partitions: len(st.Partitions), RetentionAgeMS: cfg.RetentionAge.Milliseconds(),
			RetentionBytes: cfg.RetentionBytes, MaxMessageBytes: cfg.MaxMessageBytes, Sync: cfg.Sync.String(),
		},
		Partitions: []partitionInfo{},
	}
	for _, p := range st.Partitions {
		info.Partitions = append(info.Partitions, partitionInfo{
			Partition: p.Partition, FirstOffset: p.FirstOffset, NextOffset: p.NextOffset,
			Messages: p.NextOffset - p.FirstOffset, Bytes: p.Bytes, Failure: p.Failure,
		})
	}
	return info
}

// printTopic prints a topic's configuration, then its partitions.
func (a *app) printTopic(info topicInfo) error {
	if a.json {
		return writeJSON(a.stdout, info)
	}
	c := info.Config
	err := a.table(func(w io.Writer) {
		row(w, "Topic:", info.Name)
		row(w, "Partitions:", c.Partitions)
		row(w, "Retention age:", humanDuration(time.Duration(c.RetentionAgeMS)*time.Millisecond))
		row(w, "Retention bytes:", humanLimit(c.RetentionBytes))
		row(w, "Max message bytes:", c.MaxMessageBytes)
		row(w, "Sync:", c.Sync)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout)
	failed := slices.ContainsFunc(info.Partitions, func(p partitionInfo) bool { return p.Failure != "" })
	return a.table(func(w io.Writer) {
		if !failed {
			row(w, "PARTITION", "FIRST", "NEXT", "MESSAGES", "BYTES")
		} else {
			row(w, "PARTITION", "FIRST", "NEXT", "MESSAGES", "BYTES", "FAILURE")
		}
		for _, p := range info.Partitions {
			if !failed {
				row(w, p.Partition, p.FirstOffset, p.NextOffset, p.Messages, humanBytes(p.Bytes))
			} else {
				row(w, p.Partition, p.FirstOffset, p.NextOffset, p.Messages, humanBytes(p.Bytes), orDash(p.Failure))
			}
		}
	})
}

func newTopicsDeleteCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "delete TOPIC",
		Short: "Delete a topic with all its messages and every group's offsets for it",
		Args:  args(cobra.ExactArgs(1)),
		RunE: action(func(_ *cobra.Command, args []string) error {
			return a.withBroker(false, func(b *brook.Broker) error {
				if err := b.DeleteTopic(args[0]); err != nil {
					return err
				}
				return a.done(map[string]string{"deleted": args[0]}, "Deleted topic %q.", args[0])
			})
		}),
	}
}

func newTopicsAddPartitionsCmd(a *app) *cobra.Command {
	var total int
	cmd := &cobra.Command{
		Use:   "add-partitions TOPIC --total N",
		Short: "Grow a topic to N partitions (partitions can be added, never removed)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: action(func(_ *cobra.Command, args []string) error {
			if total < 1 {
				return usagef("--total must be the new partition count, at least 1")
			}
			return a.withBroker(false, func(b *brook.Broker) error {
				if err := b.AddPartitions(args[0], total); err != nil {
					return err
				}
				return a.topicDone(b, args[0], "Topic %q now has %s.", args[0], plural(total, "partition"))
			})
		}),
	}
	cmd.Flags().IntVar(&total, "total", 0, "the new total number of partitions (required)")
	_ = cmd.MarkFlagRequired("total")
	return cmd
}

// done prints a confirmation: v under --json, the message otherwise.
func (a *app) done(v any, format string, args ...any) error {
	if a.json {
		return writeJSON(a.stdout, v)
	}
	_, err := fmt.Fprintf(a.stdout, format+"\n", args...)
	return err
}

// topicDone confirms a change to a topic: its description under --json,
// the message otherwise.
func (a *app) topicDone(b *brook.Broker, name, format string, args ...any) error {
	t, err := b.Topic(name)
	if err != nil {
		return err
	}
	return a.done(describeTopic(t), format, args...)
}

// isExists reports whether err says that the topic exists already.
func isExists(err error) bool { return errors.Is(err, brook.ErrTopicExists) }
