package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/brookmq/brook"
)

// settleTimeout bounds the wait for the predictors group to settle on a
// balanced assignment after a member joins or leaves.
const settleTimeout = 10 * time.Second

// member is one consumer-group member of the pipeline: a brook.Consumer and
// the goroutine running it.
type member struct {
	name string
	c    *brook.Consumer
	done chan struct{} // closed when Run has returned
}

// startMember creates a consumer in group subscribed to the group's topics
// and runs h on it in a new goroutine until close. If Run fails (a handler
// failed on every attempt), the pipeline fails with that error.
func (p *pipeline) startMember(name, group string, opts brook.ConsumerOptions, h brook.Handler) (*member, error) {
	c := p.b.CreateConsumerWith(name, group, opts)
	if err := c.Subscribe(groupTopics()[group]...); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	m := &member{name: name, c: c, done: make(chan struct{})}
	// Members stop when closed, not when the caller's context ends: they
	// must keep running to drain after the feed stops.
	runCtx := context.WithoutCancel(p.fctx)
	go func() {
		defer close(m.done)
		err := c.Run(runCtx, h)
		if err != nil && !errors.Is(err, brook.ErrClosed) { // ErrClosed: closed before Run began
			p.fail(fmt.Errorf("%s: %w", name, err))
		}
	}()
	return m, nil
}

// close closes the consumer (it commits what it handled and leaves its
// group) and waits for Run to return. A failure of Run was already reported
// to the pipeline. It is idempotent.
func (m *member) close() error {
	err := m.c.Close()
	<-m.done
	return err
}

// addPredictor starts the next member of the predictors group.
func (p *pipeline) addPredictor() (*member, error) {
	p.predictorSeqs++
	name := fmt.Sprintf("predictor-%d", p.predictorSeqs)
	signal := func([]brook.TopicPartition) {
		select {
		case p.changed <- struct{}{}:
		default:
		}
	}
	opts := brook.ConsumerOptions{OnAssigned: signal, OnRevoked: signal, OnLost: signal}
	m, err := p.startMember(name, groupPredictors, opts, p.pred.handle)
	if err != nil {
		return nil, err
	}
	p.predMembers = append(p.predMembers, m)
	return m, nil
}

// removePredictor closes a member of the predictors group.
func (p *pipeline) removePredictor(m *member) error {
	p.predMembers = slices.DeleteFunc(p.predMembers, func(x *member) bool { return x == m })
	return m.close()
}

// rebalance makes one predictor leave a third of the way through the feed
// and a new one join halfway, printing the assignment after each. If the
// feed ends before the first step (cancelled, or a consumer failed), it
// does nothing.
func (p *pipeline) rebalance(feedCtx context.Context) error {
	if !sleep(feedCtx, p.cfg.Duration/3) {
		if p.failed() == nil {
			fmt.Fprintln(p.out, "the feed ended before the rebalance: skipping it")
		}
		return nil
	}
	leaver := p.predMembers[1]
	fmt.Fprintf(p.out, "%s leaves the predictors group (Close) while ticks keep flowing\n", leaver.name)
	if err := p.removePredictor(leaver); err != nil {
		return err
	}
	if err := p.recordAssignment("after " + leaver.name + " left"); err != nil {
		return err
	}
	sleep(feedCtx, p.cfg.Duration/6) // joins at once if the feed has ended
	m, err := p.addPredictor()
	if err != nil {
		return err
	}
	fmt.Fprintf(p.out, "%s joins the predictors group\n", m.name)
	return p.recordAssignment("after " + m.name + " joined")
}

// sleep waits for d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// recordAssignment waits until the predictors group has settled, then
// records and prints its assignment.
func (p *pipeline) recordAssignment(label string) error {
	a, err := p.awaitAssignment(label)
	if err != nil {
		return err
	}
	p.res.Assignments = append(p.res.Assignments, a)
	writeAssignment(p.out, a)
	return nil
}

// awaitAssignment waits, up to settleTimeout, until the current predictors
// together hold every partition of stock-price-update exactly once in
// balanced shares (Consumer.Assignment), and returns that assignment. It
// re-checks whenever a member's OnAssigned, OnRevoked or OnLost fires, and
// every 25 ms besides.
func (p *pipeline) awaitAssignment(label string) (assignment, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.fctx), settleTimeout)
	defer cancel()
	poll := time.NewTicker(25 * time.Millisecond)
	defer poll.Stop()
	for {
		if err := p.failed(); err != nil {
			return assignment{}, err
		}
		a := assignment{Label: label}
		for _, m := range p.predMembers {
			a.Members = append(a.Members, memberAssignment{Name: m.name, Partitions: partitionsOf(m.c, topicPrices)})
		}
		if a.balanced(pricePartitions) {
			gs, err := groupStats(p.b, groupPredictors)
			a.Generation = gs.Generation
			return a, err
		}
		select {
		case <-p.changed:
		case <-poll.C:
		case <-ctx.Done():
			return a, fmt.Errorf("predictors did not settle %s within %v: %v", label, settleTimeout, a.Members)
		}
	}
}

// partitionsOf returns the partitions of topic that c reads now, sorted.
func partitionsOf(c *brook.Consumer, topic string) []int {
	var ps []int
	for _, tp := range c.Assignment() {
		if tp.Topic == topic {
			ps = append(ps, tp.Partition)
		}
	}
	return ps
}

// assignment is the predictors group's assignment at one moment.
type assignment struct {
	Label      string
	Generation int64
	Members    []memberAssignment
}

// memberAssignment is one member's partitions.
type memberAssignment struct {
	Name       string
	Partitions []int
}

// balanced reports whether the members hold each of the n partitions exactly
// once and each holds ⌊n/M⌋ or ⌈n/M⌉ of them.
func (a assignment) balanced(n int) bool {
	if len(a.Members) == 0 {
		return false
	}
	lo, hi := n/len(a.Members), (n+len(a.Members)-1)/len(a.Members)
	owners := make(map[int]int)
	for _, m := range a.Members {
		if len(m.Partitions) < lo || len(m.Partitions) > hi {
			return false
		}
		for _, part := range m.Partitions {
			owners[part]++
		}
	}
	for part := range n {
		if owners[part] != 1 {
			return false
		}
	}
	return len(owners) == n
}

// owners returns the name of the member holding each partition.
func (a assignment) owners() map[int]string {
	o := make(map[int]string)
	for _, m := range a.Members {
		for _, part := range m.Partitions {
			o[part] = m.Name
		}
	}
	return o
}
