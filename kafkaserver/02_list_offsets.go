package kafkaserver

import (
	"time"

	"github.com/brookmq/brook"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListOffsets 1-6: -1 the latest offset (the next one to be written), -2
// the earliest retained one, any other timestamp the first offset whose
// message is at or after it (offset -1 when there is none).
var listOffsetsAPI = api{key: 2, min: 1, max: 6, handle: (*conn).listOffsets}

const (
	offsetLatest   = -1
	offsetEarliest = -2
)

func (c *conn) listOffsets(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.ListOffsetsRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		t, terr := c.s.b.Topic(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			if terr != nil {
				sp.ErrorCode = errorCode(terr)
			} else {
				sp.ErrorCode, sp.Offset, sp.Timestamp = listOffset(t, int(rp.Partition), rp.Timestamp)
			}
			sp.LeaderEpoch = 0
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

func listOffset(t *brook.Topic, p int, ts int64) (code int16, offset, timestamp int64) {
	first, next, err := t.PartitionOffsets(p)
	if err != nil {
		return errorCode(err), -1, -1
	}
	switch ts {
	case offsetLatest:
		return errNone, next, -1
	case offsetEarliest:
		return errNone, first, -1
	}
	if ts < 0 {
		return errUnsupportedVersion, -1, -1
	}
	off, err := t.PartitionOffsetForTime(p, time.UnixMilli(ts))
	if err != nil {
		return errorCode(err), -1, -1
	}
	if off >= next {
		return errNone, -1, -1
	}
	msgs, err := t.ReadPartition(p, off, 1, 1)
	if err != nil || len(msgs) == 0 {
		return errorCode(err), -1, -1
	}
	return errNone, off, msgs[0].Timestamp.UnixMilli()
}
