package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sync"

	"github.com/brookmq/brook"
)

// trade is one execution, the value of a trade-executions message.
type trade struct {
	Symbol string  `json:"symbol"`
	Side   string  `json:"side"` // sideBuy or sideSell
	Qty    int     `json:"qty"`
	Price  float64 `json:"price"`
	Seq    int     `json:"seq"` // the tick whose forecast led to it
}

// Trade sides.
const (
	sideBuy  = "BUY"
	sideSell = "SELL"
)

// initialCash is the cash of a portfolio before its first trade.
const initialCash = 100_000.0

// shares returns the change of position the trade makes: + for a buy.
func (t trade) shares() int {
	if t.Side == sideSell {
		return -t.Qty
	}
	return t.Qty
}

// book is a set of positions and cash, the result of applying trades in
// order to initialCash.
type book struct {
	Cash   float64
	Shares map[string]int
	Trades int // trades applied
}

// newBook returns a book with initialCash and no positions.
func newBook() book { return book{Cash: initialCash, Shares: make(map[string]int)} }

// apply books t.
func (b *book) apply(t trade) {
	n := t.shares()
	b.Shares[t.Symbol] += n
	b.Cash -= float64(n) * t.Price
	b.Trades++
}

// undo takes back t, a trade applied earlier (trades commute).
func (b *book) undo(t trade) {
	n := t.shares()
	b.Shares[t.Symbol] -= n
	b.Cash += float64(n) * t.Price
	b.Trades--
}

// clone returns a deep copy of b.
func (b book) clone() book {
	b.Shares = maps.Clone(b.Shares)
	return b
}

// value returns cash plus every position marked at marks.
func (b book) value(marks map[string]float64) float64 {
	v := b.Cash
	for sym, n := range b.Shares {
		v += float64(n) * marks[sym]
	}
	return v
}

// portfolio is the portfolio service (group portfolio): it applies each
// trade execution to its book. On start it rebuilds the book from the
// trades its group had already committed in earlier runs, then consumes the
// rest. It is safe for concurrent use.
type portfolio struct {
	ledger *ledger

	mu   sync.Mutex
	book book
}

// newPortfolio returns an empty portfolio.
func newPortfolio(l *ledger) *portfolio {
	return &portfolio{ledger: l, book: newBook()}
}

// restore replays the trades that the portfolio group committed in earlier
// runs, [first, committed) of each partition, and returns how many. Call it
// before the group runs.
func (p *portfolio) restore(ctx context.Context, b *brook.Broker) (int, error) {
	gs, err := groupStats(b, groupPortfolio)
	if err != nil {
		return 0, err
	}
	committed := make(map[int]int64)
	for _, ps := range gs.Partitions {
		if ps.Topic == topicTrades && ps.Committed >= 0 {
			committed[ps.Partition] = ps.Committed
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return replayTrades(ctx, b, func(ps brook.PartitionStats) int64 {
		return committed[ps.Partition] // 0 when none: nothing committed, nothing to replay
	}, p.book.apply)
}

// handle is the portfolio group's handler.
func (p *portfolio) handle(_ context.Context, m *brook.Message) error {
	var t trade
	if err := json.Unmarshal(m.Value, &t); err != nil {
		return fmt.Errorf("portfolio: %s@%d: %w", m.Topic, m.Offset, err)
	}
	p.mu.Lock()
	p.book.apply(t)
	p.mu.Unlock()
	p.ledger.processed(groupPortfolio, m)
	return nil
}

// snapshot returns a copy of the book.
func (p *portfolio) snapshot() book {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.book.clone()
}

// replayTrades reads trade-executions outside any consumer group, with
// Broker.Fetch, from the first offset of each partition up to (excluding)
// upTo(partition), and applies each trade. It returns how many it applied.
func replayTrades(ctx context.Context, b *brook.Broker, upTo func(brook.PartitionStats) int64,
	apply func(trade)) (int, error) {
	t, err := b.Topic(topicTrades)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ps := range t.Stats().Partitions {
		end := min(upTo(ps), ps.NextOffset) // Fetch at NextOffset would wait for a new trade
		for off := ps.FirstOffset; off < end; {
			msgs, err := b.Fetch(ctx, topicTrades, ps.Partition, off, 500)
			if err != nil {
				return n, err
			}
			for _, m := range msgs { // Fetch returned at least one message, at off
				if m.Offset >= end {
					break
				}
				var tr trade
				if err := json.Unmarshal(m.Value, &tr); err != nil {
					return n, fmt.Errorf("replay %s/%d@%d: %w", m.Topic, m.Partition, m.Offset, err)
				}
				apply(tr)
				n++
			}
			off = msgs[len(msgs)-1].Offset + 1
		}
	}
	return n, nil
}
