package brook

import (
	"errors"
	"sync"
)

// PublishBatchAsync is PublishBatch without waiting: it queues the
// messages' appends (one all-or-nothing write per partition, as
// PublishBatch does) and returns; done is called once with the batch's
// error when every partition's write is durable or failed, after each
// message's Offset and Timestamp were set. Batches queued one after the
// other on a partition are written in that order, so a server can start
// the next request before the previous one is acknowledged and keep
// their order.
//
// A batch refused before anything is queued (an invalid message, a closed
// producer) calls done before PublishBatchAsync returns. done runs on a
// partition's writer goroutine: it must be quick and must not call
// Publish, PublishBatch or Close (PublishAsync and PublishBatchAsync are
// fine). The errors are those of PublishBatch.
func (p *Producer) PublishBatchAsync(topic string, msgs []*Message, done func(error)) {
	if err := p.check(); err != nil {
		done(err)
		return
	}
	groups, err := p.groupByPartition(topic, msgs)
	if err != nil {
		done(err)
		return
	}
	if len(groups) == 0 {
		done(nil)
		return
	}
	var (
		mu      sync.Mutex
		pending = len(groups)
	)
	finish := func() {
		var errs []error
		for _, g := range groups {
			if g.err != nil {
				errs = append(errs, storageError(topic, g.part, g.err))
				continue
			}
			for i, idx := range g.idx {
				msgs[idx].Offset, msgs[idx].Timestamp = g.first+int64(i), g.recs[i].Timestamp
			}
		}
		done(errors.Join(errs...))
	}
	for _, g := range groups {
		g.log.AppendAsync(g.recs, func(first int64, err error) {
			mu.Lock()
			g.first, g.err = first, err
			pending--
			last := pending == 0
			mu.Unlock()
			if last {
				finish()
			}
		})
	}
}
