package kafkaserver

import (
	"maps"
	"slices"

	"github.com/brookmq/brook"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetFetch 1-7: the group's committed offsets (-1 where none); a null
// topic list (v2+) means every committed partition.
var offsetFetchAPI = api{key: 9, min: 1, max: 7, handle: (*conn).offsetFetch}

func (c *conn) offsetFetch(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.OffsetFetchRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	committed, err := c.s.b.CommittedOffsets(req.Group)
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return resp, nil
	}
	topics := req.Topics
	if topics == nil {
		byTopic := make(map[string][]int32)
		for tp := range committed {
			byTopic[tp.Topic] = append(byTopic[tp.Topic], int32(tp.Partition))
		}
		for _, t := range slices.Sorted(maps.Keys(byTopic)) {
			rt := kmsg.NewOffsetFetchRequestTopic()
			rt.Topic, rt.Partitions = t, byTopic[t]
			slices.Sort(rt.Partitions)
			topics = append(topics, rt)
		}
	}
	for _, rt := range topics {
		st := kmsg.NewOffsetFetchResponseTopic()
		st.Topic = rt.Topic
		for _, p := range rt.Partitions {
			sp := kmsg.NewOffsetFetchResponseTopicPartition()
			sp.Partition, sp.Offset = p, -1
			if off, ok := committed[brook.TopicPartition{Topic: rt.Topic, Partition: int(p)}]; ok {
				sp.Offset = off
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
