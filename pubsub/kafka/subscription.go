package kafka

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub/driver"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// maxPollRecords bounds one poll, so that a rebalance (which waits for the
// records of the current poll to be handled) is not held up for long.
const maxPollRecords = 4096

// closeCommitTimeout bounds the final commit of Close.
const closeCommitTimeout = 10 * time.Second

// subscription is one kgo client: a member of a consumer group, or, for
// group "", a direct consumer of every partition.
type subscription struct {
	b      *backend
	cl     *kgo.Client
	group  string
	o      driver.SubscribeOptions
	latest map[string]map[int32]int64 // end offsets at Subscribe, for StartLatest

	firstSession atomic.Bool // the first offset fetch has not happened yet

	mu       sync.Mutex
	closed   bool
	running  bool
	cancel   context.CancelFunc // ends the running Run
	done     chan struct{}      // closed when the running Run returns
	assigned map[brook.TopicPartition]bool
	leftover map[brook.TopicPartition][]*kgo.Record // polled, not handled: the next Run starts with them

	closeOnce sync.Once
	closeErr  error
}

// Subscribe builds a kgo client for group: a cooperative-sticky group member
// that commits only what handlers finished (AutoCommitMarks), and that lets
// rebalances happen only between polls (BlockRebalanceOnPoll), so a revoke
// commits exactly what was handled. With group "" it consumes every
// partition directly and commits nothing. It checks that topics exist.
func (b *backend) Subscribe(ctx context.Context, group string, topics []string, o driver.SubscribeOptions) (driver.Subscription, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if len(topics) == 0 {
		return nil, fmt.Errorf("%w: no topics", brook.ErrNoSubscription)
	}
	ts, err := b.adm.ListTopics(ctx, topics...)
	if err != nil {
		return nil, mapErr(err, topics[0])
	}
	for _, t := range topics {
		if d, ok := ts[t]; !ok || d.Err != nil || len(d.Partitions) == 0 {
			return nil, &brook.TopicError{Topic: t, Err: brook.ErrUnknownTopic}
		}
	}
	s := &subscription{b: b, group: group, o: o, assigned: make(map[brook.TopicPartition]bool)}
	s.firstSession.Store(true)
	if o.Start == brook.StartLatest {
		lo, err := b.adm.ListEndOffsets(ctx, topics...)
		if err != nil {
			return nil, mapErr(err, topics[0])
		}
		s.latest = make(map[string]map[int32]int64, len(topics))
		lo.Each(func(l kadm.ListedOffset) {
			if l.Err == nil && l.Partition >= 0 {
				if s.latest[l.Topic] == nil {
					s.latest[l.Topic] = make(map[int32]int64)
				}
				s.latest[l.Topic][l.Partition] = l.Offset
			}
		})
	}
	opts := slices.Concat(b.base, s.consumerOpts(topics))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: consumer client: %w", err)
	}
	s.cl = cl
	if err := b.track(s); err != nil {
		cl.Close()
		return nil, err
	}
	return s, nil
}

func (s *subscription) consumerOpts(topics []string) []kgo.Opt {
	reset := kgo.NewOffset().AtStart()
	if s.o.Start == brook.StartLatest {
		reset = kgo.NewOffset().AtEnd()
	}
	if s.group == "" {
		opts := []kgo.Opt{kgo.ConsumerGroup(""), kgo.ConsumeResetOffset(reset)}
		if s.latest == nil {
			return append(opts, kgo.ConsumeTopics(topics...))
		}
		parts := make(map[string]map[int32]kgo.Offset, len(s.latest))
		for t, ps := range s.latest {
			parts[t] = make(map[int32]kgo.Offset, len(ps))
			for p, off := range ps {
				parts[t][p] = kgo.NewOffset().At(off)
			}
		}
		return append(opts, kgo.ConsumePartitions(parts))
	}
	return []kgo.Opt{
		kgo.ConsumerGroup(s.group),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(reset),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.AutoCommitMarks(),
		kgo.BlockRebalanceOnPoll(),
		kgo.AdjustFetchOffsetsFn(s.adjustOffsets),
		kgo.OnPartitionsAssigned(s.onAssigned),
		kgo.OnPartitionsRevoked(s.onRevoked),
		kgo.OnPartitionsLost(s.onLost),
	}
}

// adjustOffsets makes StartLatest mean the end at Subscribe, not at the
// moment the join completes, for the partitions of the first session that
// have no committed offset: a message published right after Subscribe
// returned is then delivered, as on the embedded broker.
func (s *subscription) adjustOffsets(_ context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	if !s.firstSession.Swap(false) || s.latest == nil {
		return offsets, nil
	}
	atEnd := kgo.NewOffset().AtEnd()
	for t, ps := range offsets {
		for p, off := range ps {
			if end, ok := s.latest[t][p]; ok && off == atEnd {
				ps[p] = kgo.NewOffset().At(end)
			}
		}
	}
	return offsets, nil
}

func (s *subscription) onAssigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	tps := s.setAssigned(m, true)
	if s.o.OnAssigned != nil && len(tps) > 0 {
		s.o.OnAssigned(tps)
	}
}

// onRevoked commits what the handlers finished on the revoked partitions
// (all of them, at the end of a session) before they go to another member.
func (s *subscription) onRevoked(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	_ = cl.CommitMarkedOffsets(ctx) // a failed commit redelivers: at-least-once
	tps := s.setAssigned(m, false)
	if s.o.OnRevoked != nil && len(tps) > 0 {
		s.o.OnRevoked(tps)
	}
}

// onLost commits nothing: another member may own the partitions already.
func (s *subscription) onLost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	tps := s.setAssigned(m, false)
	if s.o.OnLost != nil && len(tps) > 0 {
		s.o.OnLost(tps)
	}
}

func (s *subscription) setAssigned(m map[string][]int32, on bool) []brook.TopicPartition {
	var tps []brook.TopicPartition
	for t, ps := range m {
		for _, p := range ps {
			tps = append(tps, brook.TopicPartition{Topic: t, Partition: int(p)})
		}
	}
	slices.SortFunc(tps, func(a, b brook.TopicPartition) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return a.Partition - b.Partition
	})
	s.mu.Lock()
	for _, tp := range tps {
		if on {
			s.assigned[tp] = true
		} else {
			delete(s.assigned, tp)
			delete(s.leftover, tp)
		}
	}
	s.mu.Unlock()
	return tps
}

// Run polls and hands each poll's records to one goroutine per partition,
// waits for them, then lets a pending rebalance proceed. A handler's nil
// marks its record for the next commit (unless ManualCommit); an error stops
// Run after the other partitions' current handlers return. The records
// polled but not handled are kept, and the next Run hands them over first
// (for the partitions this member still owns).
func (s *subscription) Run(ctx context.Context, h brook.Handler) error {
	if h == nil {
		return brook.ErrNilHandler
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return brook.ErrClosed
	case s.running:
		s.mu.Unlock()
		return brook.ErrRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	s.running, s.cancel, s.done = true, cancel, make(chan struct{})
	done := s.done
	s.mu.Unlock()
	defer func() {
		cancel()
		s.mu.Lock()
		s.running, s.cancel = false, nil
		close(done)
		s.mu.Unlock()
	}()

	if err := s.handleLeftovers(ctx, h); err != nil || ctx.Err() != nil {
		return err
	}
	for {
		fs := s.cl.PollRecords(ctx, maxPollRecords)
		err := s.fetchErr(fs)
		var batches [][]*kgo.Record
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) > 0 {
				batches = append(batches, p.Records)
			}
		})
		if herr := s.handleBatches(ctx, batches, h); herr != nil {
			err = herr
		}
		s.cl.AllowRebalance()
		switch {
		case ctx.Err() != nil || fs.IsClientClosed():
			return nil
		case err != nil:
			return err
		}
	}
}

// handleLeftovers hands over what an earlier Run polled and did not handle.
// An empty poll with a cancelled context holds rebalances back meanwhile, as
// a poll with records does, so the partitions cannot move while it runs.
func (s *subscription) handleLeftovers(ctx context.Context, h brook.Handler) error {
	s.mu.Lock()
	left := s.leftover
	s.leftover = nil
	s.mu.Unlock()
	if len(left) == 0 {
		return nil
	}
	hold, release := context.WithCancel(ctx)
	release()
	s.cl.PollRecords(hold, 1)
	defer s.cl.AllowRebalance()
	s.mu.Lock()
	batches := make([][]*kgo.Record, 0, len(left))
	for tp, recs := range left {
		if s.group == "" || s.assigned[tp] {
			batches = append(batches, recs)
		}
	}
	s.mu.Unlock()
	return s.handleBatches(ctx, batches, h)
}

// fetchErr returns the first error of fs that is not informational: data
// loss (kgo resets and goes on), a closed client or a cancelled poll.
func (s *subscription) fetchErr(fs kgo.Fetches) error {
	var first error
	fs.EachError(func(t string, p int32, err error) {
		var dl *kgo.ErrDataLoss
		if first == nil && !errors.As(err, &dl) && !errors.Is(err, kgo.ErrClientClosed) &&
			!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			first = fmt.Errorf("kafka: fetch %s/%d: %w", t, p, mapErr(err, t))
		}
	})
	return first
}

// handleBatches runs h over each partition's records, one goroutine per
// partition, and returns the first handler error as a *brook.HandlerError.
// After an error (or when ctx ends) every partition stops at its next
// record, and the records not handled become the leftovers.
func (s *subscription) handleBatches(ctx context.Context, batches [][]*kgo.Record, h brook.Handler) error {
	if len(batches) == 0 {
		return nil
	}
	var (
		stop  atomic.Bool
		mu    sync.Mutex
		first error
		left  = make(map[brook.TopicPartition][]*kgo.Record)
	)
	handle := func(recs []*kgo.Record) {
		for i, r := range recs {
			var err error
			if stop.Load() || ctx.Err() != nil {
				err = errSkipped
			} else {
				err = s.handle(ctx, h, r)
			}
			if err == nil {
				continue
			}
			stop.Store(true)
			mu.Lock()
			if first == nil && err != errSkipped && ctx.Err() == nil {
				first = &brook.HandlerError{Topic: r.Topic, Partition: int(r.Partition), Offset: r.Offset, Attempts: 1, Err: err}
			}
			left[brook.TopicPartition{Topic: r.Topic, Partition: int(r.Partition)}] = recs[i:]
			mu.Unlock()
			return
		}
	}
	if len(batches) == 1 {
		handle(batches[0])
	} else {
		var wg sync.WaitGroup
		for _, recs := range batches {
			wg.Go(func() { handle(recs) })
		}
		wg.Wait()
	}
	if len(left) > 0 {
		s.mu.Lock()
		s.leftover = left
		s.mu.Unlock()
	}
	return first
}

var errSkipped = errors.New("kafka: skipped after another partition's error")

// handle runs h on r and marks r for commit when h returns nil. A panic is
// turned into a *brook.PanicError.
func (s *subscription) handle(ctx context.Context, h brook.Handler, r *kgo.Record) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &brook.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	if err := h(ctx, toMessage(r)); err != nil {
		return err
	}
	if s.group != "" && !s.o.ManualCommit {
		s.cl.MarkCommitRecords(r)
	}
	return nil
}

func toMessage(r *kgo.Record) *brook.Message {
	m := &brook.Message{
		Topic: r.Topic, Partition: int(r.Partition), Offset: r.Offset,
		Key: r.Key, Value: r.Value, Timestamp: r.Timestamp,
	}
	if len(r.Headers) > 0 {
		m.Headers = make([]brook.Header, len(r.Headers))
		for i, h := range r.Headers {
			m.Headers[i] = brook.Header{Key: h.Key, Value: h.Value}
		}
	}
	return m
}

// Commit commits m's offset + 1 on its partition now. With group "" there
// is nothing to commit and it returns nil. A partition this member does not
// own is brook.ErrNotAssigned.
func (s *subscription) Commit(ctx context.Context, m *brook.Message) error {
	if m == nil {
		return brook.ErrNilMessage
	}
	s.mu.Lock()
	closed, owned := s.closed, s.assigned[brook.TopicPartition{Topic: m.Topic, Partition: m.Partition}]
	s.mu.Unlock()
	switch {
	case closed:
		return brook.ErrClosed
	case s.group == "":
		return nil
	case !owned:
		return &brook.PartitionError{Topic: m.Topic, Partition: m.Partition, Err: brook.ErrNotAssigned}
	}
	s.cl.MarkCommitOffsets(map[string]map[int32]kgo.EpochOffset{
		m.Topic: {int32(m.Partition): {Epoch: -1, Offset: m.Offset + 1}},
	})
	return mapGroupErr(s.cl.CommitMarkedOffsets(ctx), s.group)
}

// Close ends a running Run and waits for it, commits what was handled, and
// leaves the group. It is idempotent.
func (s *subscription) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		cancel, done := s.cancel, s.done
		s.mu.Unlock()
		if cancel != nil {
			cancel()
			<-done
		}
		if s.group != "" {
			ctx, cancel := context.WithTimeout(context.Background(), closeCommitTimeout)
			s.closeErr = mapGroupErr(s.cl.CommitMarkedOffsets(ctx), s.group)
			cancel()
		}
		s.cl.Close()
		s.b.forget(s)
	})
	return s.closeErr
}
