package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"sync"
	"time"

	"github.com/brookmq/brook"
)

// The trader's rules.
const (
	lotSize       = 10              // shares per trade
	maxPosition   = 100             // most shares held of one symbol
	tradeEdge     = 0.0004          // forecast move (fraction of price) that triggers a trade
	tradeCooldown = 10              // forecasts of a symbol between two of its trades
	badNewsBlock  = 2 * time.Second // no buying of a symbol this long after bad news about it
	cents         = 100             // trade prices are rounded to cents
)

// trader is the trading service (group traders, one member). It reads the
// forecasts from price-predictions and the headlines from market-news: it
// buys a lot when a forecast is up by more than tradeEdge (unless bad news
// about the symbol arrived within badNewsBlock, or the position or the cash
// does not allow it) and sells a lot when a forecast is down by as much. It
// publishes each execution to trade-executions. Its own book, rebuilt from
// trade-executions on start, enforces the limits. It is safe for
// concurrent use.
type trader struct {
	prod   *brook.Producer
	ledger *ledger

	mu      sync.Mutex
	book    book
	since   map[string]int       // forecasts since the symbol's last trade
	blocked map[string]time.Time // no buying before this time
	made    map[string]int       // trades made in this run
	news    int                  // headlines read in this run
}

// newTrader returns a trader publishing with prod.
func newTrader(prod *brook.Producer, l *ledger) *trader {
	return &trader{prod: prod, ledger: l, book: newBook(), since: make(map[string]int),
		blocked: make(map[string]time.Time), made: make(map[string]int)}
}

// restore rebuilds the trader's book from every trade it ever executed and
// returns how many there were. Call it before the group runs.
func (t *trader) restore(ctx context.Context, b *brook.Broker) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return replayTrades(ctx, b, func(ps brook.PartitionStats) int64 { return ps.NextOffset }, t.book.apply)
}

// handle is the traders group's handler, for both of its topics.
func (t *trader) handle(_ context.Context, m *brook.Message) error {
	var err error
	if m.Topic == topicNews {
		err = t.onNews(m)
	} else {
		err = t.onPrediction(m)
	}
	if err != nil {
		return err
	}
	t.ledger.processed(groupTraders, m)
	return nil
}

// onNews blocks buying of the symbol after bad news.
func (t *trader) onNews(m *brook.Message) error {
	var n newsItem
	if err := json.Unmarshal(m.Value, &n); err != nil {
		return fmt.Errorf("trader: %s@%d: %w", m.Topic, m.Offset, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.news++
	if n.Sentiment < 0 {
		t.blocked[n.Symbol] = m.Timestamp.Add(badNewsBlock)
	}
	return nil
}

// onPrediction decides on a forecast and publishes the trade, if any, to the
// partition of trade-executions that holds the symbol. The trade is booked
// before it is published, so that concurrent handlers of other symbols see
// the cash it takes, and taken back if the publish fails.
func (t *trader) onPrediction(m *brook.Message) error {
	var p prediction
	if err := json.Unmarshal(m.Value, &p); err != nil {
		return fmt.Errorf("trader: %s@%d: %w", m.Topic, m.Offset, err)
	}
	t.mu.Lock()
	tr, ok := t.decide(p, m.Timestamp)
	if ok {
		t.book.apply(tr)
	}
	t.mu.Unlock()
	if ok {
		if err := t.publish(tr, m.Partition%tradePartitions); err != nil {
			t.mu.Lock()
			t.book.undo(tr)
			t.mu.Unlock()
			return err
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if ok {
		t.since[p.Symbol] = 0
		t.made[p.Symbol]++
	} else {
		t.since[p.Symbol]++
	}
	return nil
}

// decide returns the trade the forecast p calls for, if any. The caller
// holds t.mu; decide changes nothing.
func (t *trader) decide(p prediction, at time.Time) (trade, bool) {
	if t.since[p.Symbol] < tradeCooldown || p.Price <= 0 {
		return trade{}, false
	}
	price := math.Round(p.Price*cents) / cents
	edge := (p.Predicted - p.Price) / p.Price
	held := t.book.Shares[p.Symbol]
	switch {
	case edge > tradeEdge && held+lotSize <= maxPosition &&
		t.book.Cash >= lotSize*price && !at.Before(t.blocked[p.Symbol]):
		return trade{Symbol: p.Symbol, Side: sideBuy, Qty: lotSize, Price: price, Seq: p.Seq}, true
	case edge < -tradeEdge && held >= lotSize:
		return trade{Symbol: p.Symbol, Side: sideSell, Qty: lotSize, Price: price, Seq: p.Seq}, true
	}
	return trade{}, false
}

// publish writes tr to partition of trade-executions and records it.
func (t *trader) publish(tr trade, partition int) error {
	msg, err := jsonMessage(topicTrades, partition, tr.Symbol, tr)
	if err != nil {
		return err
	}
	if err := t.prod.Publish(topicTrades, msg); err != nil {
		return fmt.Errorf("trader: %w", err)
	}
	t.ledger.published(msg)
	return nil
}

// snapshot returns a copy of the trader's book, its trades of this run and
// the number of headlines it read.
func (t *trader) snapshot() (book, map[string]int, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.book.clone(), maps.Clone(t.made), t.news
}
