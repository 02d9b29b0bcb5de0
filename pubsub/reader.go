package pubsub

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub/driver"
)

// reader is the embedded backend's group-less subscription: one
// Broker.Fetch loop per partition of its topics, committing nothing (kgo's
// direct consumption, kcat -o). The partitions are those the topics had at
// Subscribe; its positions are fixed there too, so that with
// brook.StartLatest a message published after Subscribe returned is seen.
type reader struct {
	b    *brook.Broker
	opts driver.SubscribeOptions

	mu     sync.Mutex
	pos    map[brook.TopicPartition]int64 // the next offset to read
	closed bool
	cancel context.CancelFunc // ends the current Run
	done   chan struct{}      // closed when the current Run has ended
}

func (e *embedded) reader(topics []string, o driver.SubscribeOptions) (*reader, error) {
	r := &reader{b: e.b, opts: o, pos: make(map[brook.TopicPartition]int64)}
	for _, name := range topics {
		t, err := e.b.Topic(name)
		if err != nil {
			return nil, err
		}
		for _, ps := range t.Stats().Partitions {
			off := ps.FirstOffset
			if o.Start == brook.StartLatest {
				off = ps.NextOffset
			}
			r.pos[brook.TopicPartition{Topic: name, Partition: ps.Partition}] = off
		}
	}
	return r, nil
}

// Run reads every partition until ctx ends, Close is called (nil), or h
// fails (its error) or the broker closes (brook.ErrClosed).
func (r *reader) Run(ctx context.Context, h brook.Handler) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return brook.ErrClosed
	}
	if r.cancel != nil {
		r.mu.Unlock()
		return brook.ErrRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	r.cancel, r.done = cancel, make(chan struct{})
	tps := make([]brook.TopicPartition, 0, len(r.pos))
	for tp := range r.pos {
		tps = append(tps, tp)
	}
	r.mu.Unlock()
	slices.SortFunc(tps, func(a, b brook.TopicPartition) int {
		return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	defer func() {
		r.mu.Lock()
		r.cancel = nil
		close(r.done)
		r.mu.Unlock()
	}()
	if r.opts.OnAssigned != nil {
		r.opts.OnAssigned(tps)
	}
	errs := make([]error, len(tps))
	var wg sync.WaitGroup
	for i, tp := range tps {
		wg.Go(func() {
			if errs[i] = r.loop(ctx, tp, h); errs[i] != nil {
				cancel() // one failure stops the whole Run, as in a group
			}
		})
	}
	wg.Wait()
	cancel()
	if r.opts.OnRevoked != nil {
		r.opts.OnRevoked(tps)
	}
	return errors.Join(errs...)
}

// loop reads one partition, calling h on each message in order.
func (r *reader) loop(ctx context.Context, tp brook.TopicPartition, h brook.Handler) error {
	r.mu.Lock()
	pos := r.pos[tp]
	r.mu.Unlock()
	for {
		msgs, err := r.b.Fetch(ctx, tp.Topic, tp.Partition, pos, 500)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, brook.ErrOffsetOutOfRange):
			pos = r.reset(tp, pos)
			continue
		case err != nil:
			return err
		}
		for _, m := range msgs {
			if err := h(ctx, m); err != nil {
				if ctx.Err() != nil {
					return nil // cancelled: m was not handled
				}
				return err
			}
			pos = m.Offset + 1
			r.mu.Lock()
			r.pos[tp] = pos
			r.mu.Unlock()
		}
	}
}

// reset moves a position that retention left behind to the nearest offset
// the partition holds.
func (r *reader) reset(tp brook.TopicPartition, pos int64) int64 {
	if t, err := r.b.Topic(tp.Topic); err == nil {
		if st := t.Stats().Partitions; tp.Partition < len(st) {
			pos = min(max(pos, st[tp.Partition].FirstOffset), st[tp.Partition].NextOffset)
		}
	}
	r.mu.Lock()
	r.pos[tp] = pos
	r.mu.Unlock()
	return pos
}

// Commit does nothing: a group-less reader commits nothing.
func (r *reader) Commit(context.Context, *brook.Message) error { return nil }

// Close ends a running Run and waits for it. It is idempotent.
func (r *reader) Close() error {
	r.mu.Lock()
	r.closed = true
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}
