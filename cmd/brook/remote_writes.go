package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/console"
)

// readOnly is the error of a change refused by a read-only server.
func (r *remote) readOnly() error {
	return hinted(fmt.Errorf("server %s is read-only", r.base),
		"start brook serve with --http-allow-writes to change groups and topics through it")
}

// resetOffsets moves a group's committed offsets through the console API,
// confirming it by repeating the group's ID as the API asks.
func (r *remote) resetOffsets(ctx context.Context, q console.ResetRequest, group string) ([]brook.OffsetReset, error) {
	q.Confirm = group
	var out console.ResetResult
	err := r.send(ctx, http.MethodPost, "/api/groups/"+url.PathEscape(group)+"/reset", q, map[int]error{
		http.StatusNotFound:  &brook.TopicError{Topic: q.Topic, Err: brook.ErrUnknownTopic},
		http.StatusConflict:  fmt.Errorf("%w: %q", brook.ErrGroupActive, group),
		http.StatusForbidden: r.readOnly(),
	}, &out)
	if err != nil {
		return nil, err
	}
	res := make([]brook.OffsetReset, len(out.Partitions))
	for i, p := range out.Partitions {
		res[i] = brook.OffsetReset(p)
	}
	return res, nil
}

// alterTopic changes a topic's configuration through the console API and
// returns the topic as the server then describes it.
func (r *remote) alterTopic(ctx context.Context, name string, u brook.TopicUpdate) (brook.TopicStats, error) {
	var q console.TopicUpdate
	if u.RetentionAge != nil {
		ms := u.RetentionAge.Milliseconds()
		q.RetentionMs = &ms
	}
	q.RetentionBytes, q.MaxMessageBytes = u.RetentionBytes, u.MaxMessageBytes
	if u.Sync != nil {
		s := u.Sync.String()
		q.Sync = &s
	}
	var t console.Topic
	err := r.send(ctx, http.MethodPatch, "/api/topics/"+url.PathEscape(name), q, map[int]error{
		http.StatusNotFound:  &brook.TopicError{Topic: name, Err: brook.ErrUnknownTopic},
		http.StatusForbidden: r.readOnly(),
	}, &t)
	return topicStatsOf(t), err
}

// request is the console API's form of the flags; spec has checked them.
func (f *resetFlags) request(cmd *cobra.Command, topic string, parts []int) console.ResetRequest {
	q := console.ResetRequest{Topic: topic, Partitions: parts, Earliest: f.earliest, Latest: f.latest}
	if cmd.Flags().Changed("to-offset") {
		q.Offset = &f.offset
	}
	if cmd.Flags().Changed("to-datetime") {
		if t, err := parseTime(f.datetime); err == nil {
			q.Time = &t
		}
	}
	return q
}
