package kafkaserver

import (
	"sync/atomic"

	"github.com/brookmq/brook"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Produce 3-9. The records of one partition (every batch the request
// carries for it) are one all-or-nothing brook append; partitions of one
// request are appended concurrently. acks=0 sends no response; acks=1 and
// acks=-1 both answer once the append is durable per the topic's sync
// policy (there are no replicas to wait for). Idempotent producers are
// served with sequence checks (see idempotence); transactional ones are
// refused.
var produceAPI = api{key: 0, min: 3, max: 9, async: (*conn).produce}

// produce decodes the request and queues every partition's append, in
// request order, then returns; done is called when all are acknowledged.
func (c *conn) produce(r *request, done func(kmsg.Response, error)) {
	req, ok := r.body.(*kmsg.ProduceRequest)
	if !ok {
		done(nil, errWrongBody(r))
		return
	}
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	var queued []func() // the appends, started after every partition is decoded
	var left atomic.Int32
	left.Store(1) // released after the loop, so done cannot run before it ends
	finish := func() {
		if left.Add(-1) == 0 {
			if r.frame != nil { // every append is acknowledged: the log has its copies
				releaseFrame(r.frame)
			}
			if req.Acks == 0 {
				done(nil, nil)
			} else {
				done(resp, nil)
			}
		}
	}
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
			switch {
			case req.TransactionID != nil:
				sp.ErrorCode = errTransactionalIDAuthFailed
			case req.Acks != 0 && req.Acks != 1 && req.Acks != -1:
				sp.ErrorCode = errInvalidRequiredAcks
			default:
				if start := c.s.producePartition(rt.Topic, rp, sp, finish); start != nil {
					left.Add(1)
					queued = append(queued, start)
				}
			}
		}
	}
	for _, start := range queued {
		start()
	}
	finish()
}

// producePartition decodes one partition's records. It returns nil after
// filling sp with an error, or a function that queues their append, fills
// sp and calls done when it is acknowledged.
func (s *Server) producePartition(topic string, rp kmsg.ProduceRequestTopicPartition, sp *kmsg.ProduceResponseTopicPartition, done func()) func() {
	sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = -1, -1, -1
	t, err := s.topic(topic, s.opts.AutoCreateTopics)
	if err != nil {
		sp.ErrorCode = errorCode(err)
		return nil
	}
	p := int(rp.Partition)
	if p < 0 || p >= t.Partitions() {
		sp.ErrorCode = errUnknownTopicOrPartition
		return nil
	}
	msgs, info, code, err := s.dec.decodeBatches(rp.Records, topic, p, s.opts.MaxRequestSize)
	if err != nil {
		s.log.Debug("kafkaserver: refusing produce", "topic", topic, "partition", p, "err", err)
		sp.ErrorCode = code
		sp.ErrorMessage = kmsg.StringPtr(err.Error())
		return nil
	}
	if len(msgs) == 0 {
		sp.ErrorCode = errCorruptMessage
		return nil
	}
	var adm admission
	if info.id != noProducer {
		adm = s.idem.admit(info.id, info.epoch, brook.TopicPartition{Topic: topic, Partition: p}, info.seq, info.count)
		if adm.code != errNone || adm.dup {
			sp.ErrorCode = adm.code
			if adm.dup && adm.code == errNone {
				sp.BaseOffset = adm.offset
			}
			return nil
		}
	}
	return func() {
		s.producer.PublishBatchAsync(topic, msgs, func(err error) {
			if adm.seq != nil {
				s.idem.done(adm, msgs[0].Offset, err)
			}
			if err != nil {
				sp.ErrorCode = errorCode(err)
				if sp.ErrorCode == errMessageTooLarge && len(msgs) > 1 {
					sp.ErrorCode = errRecordListTooLarge
				}
				sp.ErrorMessage = kmsg.StringPtr(err.Error())
			} else {
				sp.BaseOffset = msgs[0].Offset
				if first, _, err := t.PartitionOffsets(p); err == nil {
					sp.LogStartOffset = first
				}
			}
			done()
		})
	}
}
