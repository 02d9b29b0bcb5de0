package brook

import (
	"context"
	"log/slog"
	"slices"
)

// runSession runs one session of the consumer in its group: join, follow
// the coordinator's assignment, leave. It returns nil when ctx ends, a
// *HandlerError when a handler failed under StopOnError, or errEvicted when
// the coordinator dropped this member (the caller joins again).
func (c *Consumer) runSession(ctx context.Context, g *group, h Handler) error {
	c.mu.Lock()
	topics := slices.Clone(c.topics)
	c.mu.Unlock()
	member, ok := g.join(c.name, topics, c.opts.PollTimeout, c)
	if !ok {
		return errGroupDeleted
	}
	s := &session{c: c, b: c.b, opts: &c.opts, log: c.b.log, g: g, member: member, h: h, ctx: ctx,
		exits: make(chan *partLoop), failed: make(map[TopicPartition]int64)}
	c.subMu.Lock() // a Subscribe from here on reaches the group after this one
	c.mu.Lock()
	c.g, c.member, c.loops = g, member, make(map[TopicPartition]*partLoop)
	changed := !slices.Equal(c.topics, topics) // Subscribe ran while joining
	topics = slices.Clone(c.topics)
	c.mu.Unlock()
	if changed {
		g.subscribe(member, topics)
	}
	c.subMu.Unlock()
	err := s.follow()
	c.mu.Lock()
	c.g, c.member, c.loops = nil, "", nil
	c.mu.Unlock()
	return err
}

// session is one membership of a consumer in its group, from join to
// leave (or eviction). Its goroutine (follow) starts a partLoop for each
// partition granted, stops or loses them as the coordinator decides, and
// calls the consumer's rebalance callbacks; every field below but c's own
// is touched by that goroutine only.
type session struct {
	c      *Consumer        // the owner: its loops map (under c.mu) and its wake channel
	b      *Broker          // the owner's: where the loops find their partitions
	opts   *ConsumerOptions // the owner's options: callbacks, given to each loop
	log    *slog.Logger     // the broker's
	g      *group
	member string
	h      Handler
	ctx    context.Context          // the run's: ends the session
	exits  chan *partLoop           // each loop sends itself here when it ends
	failed map[TopicPartition]int64 // damaged partitions and the grant they failed in
	err    error                    // the first handler failure under StopOnError
	ending bool                     // shutdown has begun
	// given are the partitions whose loops ended cleanly because the
	// session is ending (its context ended, or shutdown cancelled them),
	// neither released to the group nor lost: shutdown reports them to
	// OnRevoked. A loop can end before shutdown collects it, when the
	// loop's exit is received before the context's end.
	given []TopicPartition
}

// follow runs the session until its context ends, the member is evicted,
// or a handler fails under StopOnError.
func (s *session) follow() error {
	for {
		select {
		case <-s.ctx.Done():
			s.shutdown(false)
			return s.err
		case <-s.c.wake:
			v, ok := s.g.view(s.member)
			if !ok {
				s.shutdown(true)
				return errEvicted
			}
			s.reconcile(v)
		case l := <-s.exits:
			s.exited(l)
			if s.err != nil {
				s.shutdown(false)
				return s.err
			}
		}
	}
}

// reconcile starts, stops and cancels partition loops to match v.
func (s *session) reconcile(v memberView) {
	if s.ctx.Err() != nil {
		// The session is ending: shutdown, next, ends what runs. A loop
		// started now would end at once and give its partition up a
		// second time (OnRevoked listed it twice).
		return
	}
	loops := s.snapshot()
	var assigned, lost []TopicPartition
	for tp, l := range loops {
		gen, ok := v.owned[tp]
		switch {
		case ok && gen == l.gen:
			if v.revoke[tp] {
				l.stop()
			}
		case l.revoked():
			// released after a revocation; its exit is on the way
		default:
			l.lose()
			lost = append(lost, tp)
		}
	}
	for tp, gen := range v.owned {
		if _, running := loops[tp]; running {
			continue // a loop of an older grant is finishing; its exit re-reconciles
		}
		if v.revoke[tp] {
			s.g.release(s.member, gen, tp) // never started: nothing to commit
			continue
		}
		if g, ok := s.failed[tp]; ok && g == gen {
			continue // damaged: reported once, kept assigned, not read again
		}
		l, err := newPartLoop(s, tp, gen)
		if err != nil {
			s.log.Warn("brook: cannot read assigned partition", "partition", tp, "err", err)
			continue
		}
		s.c.mu.Lock()
		s.c.loops[tp] = l
		s.c.mu.Unlock()
		go l.run()
		assigned = append(assigned, tp)
	}
	s.callback(s.opts.OnLost, lost)
	s.callback(s.opts.OnAssigned, assigned)
}

// exited removes a finished loop and records its outcome.
func (s *session) exited(l *partLoop) {
	s.c.mu.Lock()
	if s.c.loops[l.tp] == l {
		delete(s.c.loops, l.tp)
	}
	s.c.mu.Unlock()
	if l.err != nil && s.err == nil {
		s.err = l.err
	}
	switch {
	case l.released:
		s.callback(s.opts.OnRevoked, []TopicPartition{l.tp})
	case !l.lost.Load() && (s.ending || s.ctx.Err() != nil):
		s.given = append(s.given, l.tp)
	}
	if l.failed {
		s.failed[l.tp] = l.gen
	}
	s.c.notify() // the partition may have been granted again meanwhile
}

// shutdown ends every loop: after a clean stop they commit what was handled;
// after an eviction they are lost and commit nothing. Then it leaves, and
// reports the partitions given up: to OnRevoked after a clean stop (once
// their offsets are written and the member has left), to OnLost after an
// eviction.
func (s *session) shutdown(evicted bool) {
	s.ending = true
	loops := s.snapshot()
	var lost []TopicPartition
	for tp, l := range loops {
		if evicted {
			l.lose()
			lost = append(lost, tp)
		} else {
			l.cancel()
		}
	}
	for range loops {
		s.exited(<-s.exits) // records in s.given what ended cleanly; released ones went to OnRevoked already
	}
	s.g.leave(s.member) // writes the committed offsets first; after an eviction, only that
	s.callback(s.opts.OnRevoked, s.given)
	s.callback(s.opts.OnLost, lost)
}

func (s *session) snapshot() map[TopicPartition]*partLoop {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	m := make(map[TopicPartition]*partLoop, len(s.c.loops))
	for tp, l := range s.c.loops {
		m[tp] = l
	}
	return m
}

func (s *session) callback(f func([]TopicPartition), tps []TopicPartition) {
	if f == nil || len(tps) == 0 {
		return
	}
	slices.SortFunc(tps, compareTopicPartition)
	f(tps)
}
