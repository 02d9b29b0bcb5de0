package kafkaserver

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Produce 3-9. The records of one partition (every batch the request
// carries for it) are one all-or-nothing brook append; partitions of one
// request are appended concurrently. acks=0 sends no response; acks=1 and
// acks=-1 both answer once the append is durable per the topic's sync
// policy (there are no replicas to wait for). Transactional and idempotent
// batches are refused.
var produceAPI = api{key: 0, min: 3, max: 9, handle: (*conn).produce}

func (c *conn) produce(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.ProduceRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	var wg sync.WaitGroup
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	for i, rt := range req.Topics {
		st := &resp.Topics[i]
		*st = kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			sp := &st.Partitions[j]
			*sp = kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			if req.TransactionID != nil {
				sp.ErrorCode = errTransactionalIDAuthFailed
				continue
			}
			if req.Acks != 0 && req.Acks != 1 && req.Acks != -1 {
				sp.ErrorCode = errInvalidRequiredAcks
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.s.producePartition(rt.Topic, rp, sp)
			}()
		}
	}
	wg.Wait()
	if req.Acks == 0 {
		return nil, nil
	}
	return resp, nil
}

// producePartition appends one partition's records and fills sp.
func (s *Server) producePartition(topic string, rp kmsg.ProduceRequestTopicPartition, sp *kmsg.ProduceResponseTopicPartition) {
	sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = -1, -1, -1
	t, err := s.topic(topic, s.opts.AutoCreateTopics)
	if err != nil {
		sp.ErrorCode = errorCode(err)
		return
	}
	p := int(rp.Partition)
	if p < 0 || p >= t.Partitions() {
		sp.ErrorCode = errUnknownTopicOrPartition
		return
	}
	msgs, code, err := s.dec.decodeBatches(rp.Records, topic, p, s.opts.MaxRequestSize)
	if err != nil {
		s.log.Debug("kafkaserver: refusing produce", "topic", topic, "partition", p, "err", err)
		sp.ErrorCode = code
		sp.ErrorMessage = kmsg.StringPtr(err.Error())
		return
	}
	if len(msgs) == 0 {
		sp.ErrorCode = errCorruptMessage
		return
	}
	if err := s.producer.PublishBatch(topic, msgs); err != nil {
		sp.ErrorCode = errorCode(err)
		if sp.ErrorCode == errMessageTooLarge && len(msgs) > 1 {
			sp.ErrorCode = errRecordListTooLarge
		}
		sp.ErrorMessage = kmsg.StringPtr(err.Error())
		return
	}
	sp.BaseOffset = msgs[0].Offset
	if first, _, err := t.PartitionOffsets(p); err == nil {
		sp.LogStartOffset = first
	}
}
