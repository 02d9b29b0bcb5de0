package kafkaserver

import (
	"reflect"
	"sync"
	"time"

	"github.com/brookmq/brook"
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
// reads, so no append between them is missed). When the response limit
// cannot bind, the partitions are read concurrently.
func (s *Server) fetchOnce(req *kmsg.FetchRequest) (*kmsg.FetchResponse, int, bool, []<-chan struct{}) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	budget := int(req.MaxBytes)
	if req.Version < 3 || budget <= 0 {
		budget = s.opts.MaxRequestSize
	}
	failed := false
	var changed []<-chan struct{}
	var reads []*partRead
	wanted := 0
	resp.Topics = make([]kmsg.FetchResponseTopic, len(req.Topics))
	for i, rt := range req.Topics {
		st := &resp.Topics[i]
		*st = kmsg.NewFetchResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		t, terr := s.b.Topic(rt.Topic)
		st.Partitions = make([]kmsg.FetchResponseTopicPartition, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			sp := &st.Partitions[j]
			*sp = kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
			sp.RecordBatches = []byte{} // nil encodes as null, which librdkafka refuses
			if terr != nil {
				sp.ErrorCode, failed = errorCode(terr), true
				continue
			}
			p := int(rp.Partition)
			if ch, err := t.PartitionChanged(p); err == nil {
				changed = append(changed, ch)
			}
			first, next, err := t.PartitionOffsets(p)
			if err != nil {
				sp.ErrorCode, failed = errorCode(err), true
				continue
			}
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = next, next, first
			switch {
			case rp.FetchOffset < first || rp.FetchOffset > next:
				sp.ErrorCode, failed = errOffsetOutOfRange, true
			case rp.FetchOffset < next:
				limit := int(rp.PartitionMaxBytes)
				if limit <= 0 {
					limit = budget
				}
				reads = append(reads, &partRead{t: t, p: p, offset: rp.FetchOffset, limit: limit, sp: sp})
				wanted += limit
			}
		}
	}
	total := 0
	if wanted <= budget && len(reads) > 1 {
		var wg sync.WaitGroup
		for _, r := range reads {
			wg.Go(r.read)
		}
		wg.Wait()
	} else {
		for _, r := range reads {
			if budget <= 0 && total > 0 {
				break
			}
			if total > 0 {
				r.limit = min(r.limit, budget)
			}
			r.read()
			budget -= len(r.sp.RecordBatches)
			total += len(r.sp.RecordBatches)
		}
		total = 0
	}
	for _, r := range reads {
		total += len(r.sp.RecordBatches)
		failed = failed || r.sp.ErrorCode != errNone
	}
	return resp, total, failed, changed
}

// partRead is one partition of a Fetch to read.
type partRead struct {
	t      *brook.Topic
	p      int
	offset int64
	limit  int
	sp     *kmsg.FetchResponseTopicPartition
}

func (r *partRead) read() {
	msgs, err := r.t.ReadPartition(r.p, r.offset, 0, max(r.limit, 1))
	if err != nil {
		r.sp.ErrorCode = errorCode(err)
	} else if len(msgs) > 0 {
		r.sp.RecordBatches = appendBatch(nil, msgs)
	}
}
