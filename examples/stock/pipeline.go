package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/brookmq/brook"
)

// Topics, their partition counts, and the consumer groups of the pipeline.
const (
	topicPrices      = "stock-price-update"
	topicNews        = "market-news"
	topicPredictions = "price-predictions"
	topicTrades      = "trade-executions"

	pricePartitions = 8 // of stock-price-update and price-predictions
	newsPartitions  = 1
	tradePartitions = 4

	groupPredictors = "predictors"
	groupAlerts     = "alerts"
	groupTraders    = "traders"
	groupPortfolio  = "portfolio"

	predictorMembers = 3
	alertMembers     = 2
)

// groupTopics returns the topics each group reads.
func groupTopics() map[string][]string {
	return map[string][]string{
		groupPredictors: {topicPrices},
		groupAlerts:     {topicPrices},
		groupTraders:    {topicPredictions, topicNews},
		groupPortfolio:  {topicTrades},
	}
}

// topicInfo describes one topic of the pipeline.
type topicInfo struct {
	Name       string
	Partitions int
	Reused     bool // it existed before this run
}

// pipeline is one run of the stock pipeline on a broker: its services, the
// consumer-group members running them, and the accounting.
type pipeline struct {
	cfg    config
	out    io.Writer // safe for concurrent use
	b      *brook.Broker
	ledger *ledger
	res    *result

	// fctx ends when the caller cancels or, with the error as its cause,
	// when a consumer fails.
	fctx context.Context
	fail context.CancelCauseFunc

	feed      *feed
	pred      *predictors
	alerts    *alerts
	trader    *trader
	portfolio *portfolio
	producers []*brook.Producer

	predMembers   []*member     // the predictors group's current members
	others        []*member     // the members of the other groups
	changed       chan struct{} // a predictor's partitions changed
	predictorSeqs int           // predictors started so far
}

// execute runs the pipeline once on the process-wide broker, closes the
// broker, writes the summary to out and returns the run's result. It returns
// an error, and no result, if the broker or a service failed; the result's
// verify checks the accounting.
func execute(ctx context.Context, cfg config, out io.Writer) (*result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	out = &syncWriter{w: out}
	b := brook.GetorSetBrokerInstance()
	fctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	p := &pipeline{cfg: cfg, out: out, b: b, ledger: newLedger(), fctx: fctx, fail: fail,
		changed: make(chan struct{}, 1), res: &result{Dir: b.Dir(), Config: cfg}}
	err := p.run(ctx)
	closeErr := errors.Join(p.closeAll(), b.Close())
	if err == nil {
		err = p.failed() // a consumer that failed after the drain
	}
	if err = errors.Join(err, closeErr); err != nil {
		return nil, err
	}
	fmt.Fprintln(out, "consumers, producers and broker closed")
	p.collect()
	return p.res, writeSummary(out, p.res)
}

// run sets the pipeline up, runs the feed for the configured duration with a
// rebalance of the predictors halfway, and waits for every group to catch up.
func (p *pipeline) run(ctx context.Context) error {
	fmt.Fprintf(p.out, "brook stock pipeline: data dir %s, seed %d, %d ticks/s for %v\n",
		p.b.Dir(), p.cfg.Seed, p.cfg.Rate, p.cfg.Duration)
	if err := p.setup(ctx); err != nil {
		return err
	}
	if err := p.startGroups(); err != nil {
		return err
	}
	if err := p.recordAssignment("at start"); err != nil {
		return err
	}
	feedCtx, stop := context.WithTimeout(p.fctx, p.cfg.Duration)
	defer stop()
	feedDone := make(chan error, 1)
	go func() { feedDone <- p.feed.run(feedCtx, p.cfg.Rate) }()
	rerr := p.rebalance(feedCtx)
	if rerr != nil {
		stop()
	}
	if err := errors.Join(rerr, <-feedDone); err != nil {
		return err
	}
	if ctx.Err() != nil {
		fmt.Fprintln(p.out, "interrupted: the feed stopped early; draining and shutting down")
	}
	fmt.Fprintf(p.out, "feed stopped: %d ticks, %d headline(s)\n", p.feed.ticks, p.feed.items)
	return p.drain(ctx)
}

// setup creates or reuses the topics, notes each group's backlog, and
// restores the services' state from earlier runs.
func (p *pipeline) setup(ctx context.Context) error {
	// The process-wide broker never returns nil: if it could not open (for
	// example another process holds the directory), every call returns why.
	if _, err := p.b.Topics(); err != nil {
		return err
	}
	if err := p.createTopics(); err != nil {
		return err
	}
	for group, topics := range groupTopics() {
		if err := p.ledger.baseline(p.b, group, topics...); err != nil {
			return err
		}
	}
	feedProd, predProd, tradeProd := p.producer("feed"), p.producer("predictors"), p.producer("trader")
	p.feed = newFeed(feedProd, p.ledger, defaultSymbols(), p.cfg.Seed)
	p.pred = newPredictors(predProd, p.ledger)
	p.alerts = newAlerts(p.ledger, p.out)
	p.trader = newTrader(tradeProd, p.ledger)
	p.portfolio = newPortfolio(p.ledger)
	var err error
	r := p.res
	if r.Resumed, err = p.feed.resume(ctx, p.b); err != nil {
		return err
	}
	if r.Rebuilt, err = p.trader.restore(ctx, p.b); err != nil {
		return err
	}
	if r.Replayed, err = p.portfolio.restore(ctx, p.b); err != nil {
		return err
	}
	r.Backlog = make(map[string]int)
	for group := range groupTopics() {
		r.Backlog[group] = p.ledger.backlogTotal(group)
	}
	writeResume(p.out, r)
	return nil
}

// createTopics creates the pipeline's topics, or reuses them when they
// exist: CreateNewTopic returns the existing topic when the partition count
// matches.
func (p *pipeline) createTopics() error {
	specs := []topicInfo{{topicPrices, pricePartitions, false}, {topicNews, newsPartitions, false},
		{topicPredictions, pricePartitions, false}, {topicTrades, tradePartitions, false}}
	for _, s := range specs {
		_, err := p.b.Topic(s.Name)
		s.Reused = err == nil
		t, err := p.b.CreateNewTopic(s.Name, s.Partitions)
		if err != nil {
			return fmt.Errorf("topic %s: %w", s.Name, err)
		}
		s.Partitions = t.Partitions()
		p.res.Topics = append(p.res.Topics, s)
	}
	writeTopics(p.out, p.res.Topics)
	return nil
}

// producer returns a new producer of the broker, closed by closeAll.
func (p *pipeline) producer(name string) *brook.Producer {
	prod := p.b.CreateProducer(name)
	p.producers = append(p.producers, prod)
	return prod
}

// startGroups starts the members of every group.
func (p *pipeline) startGroups() error {
	for range predictorMembers {
		if _, err := p.addPredictor(); err != nil {
			return err
		}
	}
	for i := 1; i <= alertMembers; i++ {
		if err := p.addMember(fmt.Sprintf("alerts-%d", i), groupAlerts, p.alerts.handle); err != nil {
			return err
		}
	}
	if err := p.addMember("trader-1", groupTraders, p.trader.handle); err != nil {
		return err
	}
	return p.addMember("portfolio-1", groupPortfolio, p.portfolio.handle)
}

// addMember starts a member of a group other than the predictors.
func (p *pipeline) addMember(name, group string, h brook.Handler) error {
	m, err := p.startMember(name, group, brook.ConsumerOptions{}, h)
	if err != nil {
		return err
	}
	p.others = append(p.others, m)
	return nil
}

// drain waits, in pipeline order, until every group has processed
// everything published (lag 0), within cfg.Drain. A group is checked only
// after the groups feeding it, so nothing is published to it afterwards. It
// drains even when ctx was cancelled, but not after a consumer failed.
func (p *pipeline) drain(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Drain)
	defer cancel()
	start := time.Now()
	for _, g := range []string{groupPredictors, groupAlerts, groupTraders, groupPortfolio} {
		if err := p.awaitCaughtUp(dctx, g); err != nil {
			return err
		}
	}
	fmt.Fprintf(p.out, "drained: every group caught up %v after the feed stopped\n",
		time.Since(start).Round(time.Millisecond))
	return nil
}

// awaitCaughtUp polls the group's lag until it is 0. Brook has no event for
// "caught up", so this polls GroupStats, with ctx as the deadline.
func (p *pipeline) awaitCaughtUp(ctx context.Context, group string) error {
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for {
		if err := p.failed(); err != nil {
			return err
		}
		gs, err := groupStats(p.b, group)
		if err != nil {
			return err
		}
		var lag int64
		for _, ps := range gs.Partitions {
			lag += ps.Lag
		}
		if lag == 0 {
			return nil
		}
		select {
		case <-poll.C:
		case <-ctx.Done():
			return fmt.Errorf("group %s still %d messages behind after %v; they stay in the log, "+
				"uncommitted, for the next run", group, lag, p.cfg.Drain)
		}
	}
}

// failed returns the error of a consumer that failed, or nil.
func (p *pipeline) failed() error {
	if err := context.Cause(p.fctx); err != nil && !errors.Is(err, context.Canceled) &&
		!errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// closeAll closes every member (each commits what it handled and leaves its
// group) and then every producer. It is idempotent.
func (p *pipeline) closeAll() error {
	var errs []error
	for _, m := range append(append([]*member(nil), p.predMembers...), p.others...) {
		errs = append(errs, m.close())
	}
	for _, prod := range p.producers {
		errs = append(errs, prod.Close())
	}
	return errors.Join(errs...)
}

// groupStats is Broker.GroupStats, with a group that has never run (no
// members, nothing committed) reported as empty rather than as an error.
func groupStats(b *brook.Broker, group string) (brook.GroupStats, error) {
	gs, err := b.GroupStats(group)
	if errors.Is(err, brook.ErrUnknownGroup) {
		return brook.GroupStats{ID: group}, nil
	}
	return gs, err
}
