package kafkaserver

import (
	"reflect"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fetch 4-12. A long poll: it answers as soon as MinBytes of records are
// available (or an error), else when MaxWaitTime passes or the server shuts
// down. MaxBytes bounds the response and PartitionMaxBytes each partition,
// except that the first partition with records always gets at least one
// batch, as Kafka does. Records come back as uncompressed batches built
// from the log. Fetch sessions are not kept (SessionID 0): every request
// is a full one.
var fetchAPI = api{key: 1, min: 4, max: 12, handle: (*conn).fetch}

// maxFetchWait caps MaxWaitTime so a client cannot park a connection for long.
const maxFetchWait = 30 * time.Second

func (c *conn) fetch(r *request) (kmsg.Response, error) {
	req, ok := r.body.(*kmsg.FetchRequest)
	if !ok {
		return nil, errWrongBody(r)
	}
	wait := min(time.Duration(max(req.MaxWaitMillis, 0))*time.Millisecond, maxFetchWait)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		resp, n, failed, changed := c.s.fetchOnce(req)
		if n >= int(req.MinBytes) || n > 0 && req.MinBytes <= 0 || failed {
			return resp, nil
		}
		cases := make([]reflect.SelectCase, 0, len(changed)+3)
		for _, ch := range []<-chan struct{}{c.s.ctx.Done(), c.done} {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
		}
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)})
		for _, ch := range changed {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
		}
		if i, _, _ := reflect.Select(cases); i < 3 {
			resp, _, _, _ = c.s.fetchOnce(req)
			return resp, nil
		}
	}
}

// fetchOnce reads what the request asks without waiting. It returns the
// response, the record bytes in it, whether a partition failed, and the
// channels that close at each partition's next append (taken before the
// reads, so no append between them is missed).
func (s *Server) fetchOnce(req *kmsg.FetchRequest) (*kmsg.FetchResponse, int, bool, []<-chan struct{}) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	budget := int(req.MaxBytes)
	if req.Version < 3 || budget <= 0 {
		budget = s.opts.MaxRequestSize
	}
	total, failed := 0, false
	var changed []<-chan struct{}
	for _, rt := range req.Topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		t, terr := s.b.Topic(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
			sp.RecordBatches = []byte{} // nil encodes as null, which librdkafka refuses
			if terr != nil {
				sp.ErrorCode, failed = errorCode(terr), true
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			p := int(rp.Partition)
			ch, err := t.PartitionChanged(p)
			if err == nil {
				changed = append(changed, ch)
			}
			first, next, err := t.PartitionOffsets(p)
			if err != nil {
				sp.ErrorCode, failed = errorCode(err), true
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = next, next, first
			switch {
			case rp.FetchOffset < first || rp.FetchOffset > next:
				sp.ErrorCode, failed = errOffsetOutOfRange, true
			case rp.FetchOffset < next && (budget > 0 || total == 0):
				limit := int(rp.PartitionMaxBytes)
				if limit <= 0 || limit > budget && total > 0 {
					limit = max(budget, 1)
				}
				msgs, err := t.ReadPartition(p, rp.FetchOffset, 0, limit)
				if err != nil {
					sp.ErrorCode, failed = errorCode(err), true
				} else if len(msgs) > 0 {
					sp.RecordBatches = appendBatch(nil, msgs)
					total += len(sp.RecordBatches)
					budget -= len(sp.RecordBatches)
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, total, failed, changed
}
