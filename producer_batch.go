package brook

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/brookmq/brook/storage"
)

// PublishBatch publishes msgs to topic and returns when all of them are as
// durable as the topic's SyncPolicy promises. It is Publish for many
// messages at a fraction of the cost per message: the messages of one
// partition are written as one all-or-nothing batch (one write, and one
// fsync shared with concurrent publishes), in slice order and with
// consecutive offsets; different partitions are written in parallel.
//
// Every message is checked first, as Publish checks it; if one is
// invalid, nothing is published and the error gives its index. Otherwise,
// when its partition's write succeeds, each message gets its Offset, its
// Partition when Brook chose it, and its Timestamp when it was zero. If
// the writes of some partitions fail, the others' messages are still
// published: the error joins one *PartitionError per failed partition,
// and the messages of those partitions keep Offset -1. msgs and the
// messages belong to the producer until PublishBatch returns.
//
// A partition's batch is all-or-nothing for errors and across crashes: if
// the process or the machine stops while it is being written, before
// PublishBatch returns, reopening keeps the whole batch or none of it, as
// Kafka drops a torn record batch whole (the storage format marks batch
// boundaries; see package storage).
//
// Errors are those of Publish. An empty msgs returns nil at once.
func (p *Producer) PublishBatch(topic string, msgs []*Message) error {
	return p.PublishBatchContext(context.Background(), topic, msgs)
}

// PublishBatchContext is PublishBatch with a context, as PublishContext is
// Publish with one. If ctx has ended when the checked messages are about to
// be handed to their partitions' writers, it returns ctx.Err() and nothing
// is written (the messages keep Offset -1); once handed over, every write
// completes (this takes one group commit) and the result is PublishBatch's.
func (p *Producer) PublishBatchContext(ctx context.Context, topic string, msgs []*Message) error {
	if err := p.check(); err != nil {
		return err
	}
	groups, err := p.groupByPartition(topic, msgs)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// The last group is appended on this goroutine (storage may then
	// commit it here, sparing a hand-over to the writer); the others are
	// handed to their partitions' writers first, so all run at once.
	var wg sync.WaitGroup
	for _, g := range groups[:max(len(groups)-1, 0)] {
		wg.Add(1)
		g.part.appendAsync(g.recs, func(first int64, err error) {
			g.first, g.err = first, g.part.liveErr(err)
			wg.Done()
		})
	}
	if n := len(groups); n > 0 {
		g := groups[n-1]
		g.first, g.err = g.part.append(context.Background(), g.recs)
	}
	wg.Wait()
	return batchResult(groups, msgs)
}

// batchResult sets the Offset and Timestamp of the messages of every
// partition whose write succeeded, and joins the others' errors.
func batchResult(groups []*batchGroup, msgs []*Message) error {
	var errs []error
	for _, g := range groups {
		if g.err != nil {
			errs = append(errs, g.err)
			continue
		}
		for i, idx := range g.idx {
			msgs[idx].Offset, msgs[idx].Timestamp = g.first+int64(i), g.recs[i].Timestamp
		}
	}
	return errors.Join(errs...)
}

// batchGroup is the part of a PublishBatch that goes to one partition.
type batchGroup struct {
	part  *partition
	idx   []int // indexes in msgs, in order
	recs  []storage.Record
	first int64
	err   error
}

// groupByPartition checks every message of msgs for topic, chooses its
// partition, sets its Offset to -1, and groups the messages by partition.
func (p *Producer) groupByPartition(topic string, msgs []*Message) ([]*batchGroup, error) {
	var groups []*batchGroup
	for i, m := range msgs {
		part, _, err := p.resolve(topic, m)
		if err != nil {
			return nil, fmt.Errorf("brook: message %d of the batch: %w", i, err)
		}
		m.Offset = -1
		var g *batchGroup
		for _, x := range groups { // few partitions per batch: a scan beats a map
			if x.part == part {
				g = x
				break
			}
		}
		if g == nil {
			g = &batchGroup{part: part, first: -1}
			if len(groups) == 0 { // most batches go to one partition
				g.idx, g.recs = make([]int, 0, len(msgs)), make([]storage.Record, 0, len(msgs))
			}
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
		g.recs = append(g.recs, m.record())
	}
	return groups, nil
}

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
	for _, g := range groups {
		g.part.appendAsync(g.recs, func(first int64, err error) {
			mu.Lock()
			g.first, g.err = first, g.part.liveErr(err)
			pending--
			last := pending == 0
			mu.Unlock()
			if last {
				done(batchResult(groups, msgs))
			}
		})
	}
}
