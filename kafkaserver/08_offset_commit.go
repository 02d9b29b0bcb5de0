package kafkaserver

import (
	"github.com/brookmq/brook"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetCommit 2-8. A member commits through Brook's fenced path: only
// partitions it still owns, at its current generation (else
// ILLEGAL_GENERATION); an unknown member gets UNKNOWN_MEMBER_ID. A commit
// with generation -1 and no member ID (a client assigning partitions
// itself) is accepted while the group has no members. Commits are on disk
// when the response is sent. Metadata strings are not kept.
var offsetCommitAPI = api{key: 8, min: 2, max: 8, handle: (*conn).offsetCommit}

func (c *conn) offsetCommit(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.OffsetCommitRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	codes := c.s.groups.commit(req)
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetCommitResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetCommitResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.ErrorCode = codes(brook.TopicPartition{Topic: rt.Topic, Partition: int(rp.Partition)})
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// commit applies req and returns each partition's error code.
func (co *coordinator) commit(req *kmsg.OffsetCommitRequest) func(brook.TopicPartition) int16 {
	all := func(code int16) func(brook.TopicPartition) int16 {
		return func(brook.TopicPartition) int16 { return code }
	}
	offsets := make(map[brook.TopicPartition]int64)
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			offsets[brook.TopicPartition{Topic: rt.Topic, Partition: int(rp.Partition)}] = rp.Offset
		}
	}
	if req.MemberID == "" && req.Generation < 0 {
		err := co.s.b.SetCommittedOffsets(req.Group, offsets)
		if code := errorCode(err); code == errNonEmptyGroup {
			return all(errUnknownMemberID)
		} else {
			return all(code)
		}
	}
	rm, ok := co.lookup(req.Group, req.MemberID)
	if !ok {
		return all(errUnknownMemberID)
	}
	rm.m.Heartbeat()
	if req.Generation != rm.generation() {
		return all(errIllegalGeneration)
	}
	a, ok := rm.m.Assignment()
	if !ok {
		return all(errUnknownMemberID)
	}
	codes := make(map[brook.TopicPartition]int16, len(offsets))
	for tp, off := range offsets {
		gen, owned := a.Owned[tp]
		if !owned {
			codes[tp] = errIllegalGeneration
			continue
		}
		codes[tp] = errorCode(rm.m.Commit(tp, gen, off))
	}
	if err := rm.m.Flush(); err != nil {
		return all(errorCode(err))
	}
	return func(tp brook.TopicPartition) int16 { return codes[tp] }
}
