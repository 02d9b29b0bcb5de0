package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// groupSummary is one line of `groups list`.
type groupSummary struct {
	Group   string   `json:"group"`
	Members int      `json:"members"`
	Topics  []string `json:"topics"`
	Lag     int64    `json:"lag"`
}

// groupInfo is the output of `groups describe`.
type groupInfo struct {
	Group      string               `json:"group"`
	Generation int64                `json:"generation"`
	Members    []memberInfo         `json:"members"`
	Partitions []groupPartitionInfo `json:"partitions"`
}

// memberInfo is one member of a group.
type memberInfo struct {
	ID       string   `json:"id"`
	Topics   []string `json:"topics"`
	Assigned []string `json:"assigned"` // topic/partition
}

// groupPartitionInfo is one partition as the group sees it.
type groupPartitionInfo struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Committed *int64 `json:"committed"` // next offset to read; null when nothing is committed
	End       int64  `json:"end"`       // the partition's next offset
	Lag       int64  `json:"lag"`
	Owner     string `json:"owner"` // member ID, "" when unowned
}

// newGroupsCmd builds `brook groups` and its subcommands.
func newGroupsCmd(a *app) *cobra.Command {
	return listByDefault(parentCmd("groups", "List, describe, delete and reset consumer groups (alone: list them)", &cobra.Command{
		Use:   "list",
		Short: "List the consumer groups with their topics and total lag",
		Args:  args(cobra.NoArgs),
		RunE: action(func(*cobra.Command, []string) error {
			return a.withSource(a.groupsList)
		}),
	}, &cobra.Command{
		Use:   "describe GROUP",
		Short: "Show a group's committed offsets and lag per partition, and its members",
		Args:  args(cobra.ExactArgs(1)),
		RunE: action(func(_ *cobra.Command, args []string) error {
			return a.withSource(func(src source) error { return a.groupsDescribe(src, args[0]) })
		}),
	}, newGroupsDeleteCmd(a), newGroupsResetCmd(a)))
}

// groupsList prints a summary of every group.
func (a *app) groupsList(src source) error {
	ids, err := src.Groups(a.ctx)
	if err != nil {
		return err
	}
	out := []groupSummary{}
	for _, id := range ids {
		info, err := describeGroup(a.ctx, src, id)
		if err != nil {
			return err
		}
		s := groupSummary{Group: id, Members: len(info.Members), Topics: []string{}}
		for _, p := range info.Partitions {
			s.Lag += p.Lag
			if !slices.Contains(s.Topics, p.Topic) {
				s.Topics = append(s.Topics, p.Topic)
			}
		}
		out = append(out, s)
	}
	return a.emit(out, func(w io.Writer) {
		row(w, "GROUP", "MEMBERS", "TOPICS", "LAG")
		for _, s := range out {
			row(w, s.Group, s.Members, orDash(strings.Join(s.Topics, ",")), s.Lag)
		}
	})
}

// groupsDescribe prints one group.
func (a *app) groupsDescribe(src source, id string) error {
	info, err := describeGroup(a.ctx, src, id)
	if err != nil {
		return err
	}
	if a.json {
		return writeJSON(a.stdout, info)
	}
	return a.printGroup(info)
}

// describeGroup takes a snapshot of a group, with each partition's end.
func describeGroup(ctx context.Context, src source, id string) (groupInfo, error) {
	gs, err := src.GroupStats(ctx, id)
	if err != nil {
		return groupInfo{}, err
	}
	info := groupInfo{Group: gs.ID, Generation: gs.Generation, Members: []memberInfo{}, Partitions: []groupPartitionInfo{}}
	for _, m := range gs.Members {
		mi := memberInfo{ID: m.ID, Topics: m.Topics, Assigned: []string{}}
		for _, tp := range m.Assigned {
			mi.Assigned = append(mi.Assigned, tp.String())
		}
		info.Members = append(info.Members, mi)
	}
	for _, p := range gs.Partitions {
		gp := groupPartitionInfo{Topic: p.Topic, Partition: p.Partition, End: p.End, Lag: p.Lag, Owner: p.Owner}
		if p.Committed >= 0 {
			c := p.Committed
			gp.Committed = &c
		}
		info.Partitions = append(info.Partitions, gp)
	}
	return info, nil
}

// printGroup prints a group for people: a header, the partitions, then the
// members.
func (a *app) printGroup(info groupInfo) error {
	fmt.Fprintf(a.stdout, "Group: %s  Generation: %d  Members: %d\n\n", info.Group, info.Generation, len(info.Members))
	err := a.table(func(w io.Writer) {
		row(w, "TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "OWNER")
		for _, p := range info.Partitions {
			committed := "-"
			if p.Committed != nil {
				committed = fmt.Sprint(*p.Committed)
			}
			row(w, p.Topic, p.Partition, committed, p.End, p.Lag, orDash(p.Owner))
		}
	})
	if err != nil || len(info.Members) == 0 {
		return err
	}
	fmt.Fprintln(a.stdout)
	return a.table(func(w io.Writer) {
		row(w, "MEMBER", "TOPICS", "ASSIGNED")
		for _, m := range info.Members {
			row(w, m.ID, strings.Join(m.Topics, ","), orDash(strings.Join(m.Assigned, ",")))
		}
	})
}
