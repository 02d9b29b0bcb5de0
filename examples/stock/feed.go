package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/brookmq/brook"
)

// tick is one price update, the value of a stock-price-update message.
type tick struct {
	Symbol string  `json:"symbol"`
	Seq    int     `json:"seq"` // the symbol's tick number in this run
	Price  float64 `json:"price"`
}

// newsItem is one headline, the value of a market-news message.
type newsItem struct {
	Symbol    string `json:"symbol"`
	Sentiment int    `json:"sentiment"` // +1 good news, -1 bad news
	Headline  string `json:"headline"`
}

// Parameters of the simulated market.
const (
	tickVolatility = 0.0015 // standard deviation of one tick's log return
	newsJump       = 0.015  // a headline moves its symbol's next tick by this fraction
	feedInterval   = 10 * time.Millisecond
)

// symbolSpec names a symbol and the price it starts at on a fresh directory.
type symbolSpec struct {
	Name  string
	Start float64
}

// defaultSymbols returns the traded symbols. Symbol i is pinned to partition
// i % pricePartitions of every per-symbol topic, so its messages stay in order.
func defaultSymbols() []symbolSpec {
	return []symbolSpec{
		{"AAPL", 190}, {"MSFT", 420}, {"GOOG", 170}, {"AMZN", 180}, {"NVDA", 120},
		{"META", 500}, {"TSLA", 250}, {"NFLX", 650}, {"AMD", 160}, {"INTC", 30},
	}
}

// feed is the market-data service: it publishes a seeded random walk of
// prices to stock-price-update and now and then a headline to market-news.
// Each symbol has its own random source, so a seed gives the same walk per
// symbol however the ticks interleave. A feed is used by one goroutine; read
// its fields only after run has returned.
type feed struct {
	prod    *brook.Producer
	ledger  *ledger
	seed    int64
	syms    []string
	index   map[string]int
	price   []float64 // the last published (or resumed) price
	jump    []float64 // news moves the next tick by this factor
	walk    []*rand.Rand
	news    *rand.Rand
	history [][]float64 // this run's prices, per symbol
	ticks   int
	items   int // headlines published
}

// newFeed returns a feed for specs, seeded with seed.
func newFeed(prod *brook.Producer, l *ledger, specs []symbolSpec, seed int64) *feed {
	f := &feed{prod: prod, ledger: l, seed: seed, index: make(map[string]int),
		news: rand.New(rand.NewPCG(uint64(seed), math.MaxUint32))}
	for i, s := range specs {
		f.syms = append(f.syms, s.Name)
		f.index[s.Name] = i
		f.price = append(f.price, s.Start)
		f.jump = append(f.jump, 1)
		f.walk = append(f.walk, rand.New(rand.NewPCG(uint64(seed), uint64(i))))
		f.history = append(f.history, nil)
	}
	return f
}

// resume continues each symbol's walk from its last published price, read
// from the tail of the symbol's partition. It returns how many symbols it
// found there (0 on a fresh directory). A resumed walk is seeded with the
// seed, the symbol and the partition's length, so that it goes on rather
// than repeating the previous run's steps, and the same seed on the same
// data still gives the same walk. The headlines are reseeded likewise.
func (f *feed) resume(ctx context.Context, b *brook.Broker) (int, error) {
	t, err := b.Topic(topicPrices)
	if err != nil {
		return 0, err
	}
	found := make(map[string]bool)
	var published uint64
	for _, ps := range t.Stats().Partitions {
		published += uint64(ps.NextOffset)
		if ps.NextOffset == ps.FirstOffset {
			continue // empty: Fetch would wait for the next message
		}
		const tail = 64
		msgs, err := b.Fetch(ctx, topicPrices, ps.Partition, max(ps.FirstOffset, ps.NextOffset-tail), tail)
		if err != nil {
			return 0, err
		}
		for _, m := range msgs {
			var tk tick
			if json.Unmarshal(m.Value, &tk) != nil {
				continue
			}
			if i, ok := f.index[tk.Symbol]; ok {
				f.price[i], found[tk.Symbol] = tk.Price, true
				f.walk[i] = rand.New(rand.NewPCG(uint64(f.seed), uint64(i)<<48|uint64(ps.NextOffset)))
			}
		}
	}
	if published > 0 {
		f.news = rand.New(rand.NewPCG(uint64(f.seed), math.MaxUint32+published))
	}
	return len(found), nil
}

// run publishes rate ticks per second, cycling over the symbols, and one
// headline per second, until ctx ends. It returns nil when ctx ends and the
// error of a failed Publish otherwise.
func (f *feed) run(ctx context.Context, rate int) error {
	start := time.Now()
	t := time.NewTicker(feedInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			due := int(now.Sub(start).Seconds() * float64(rate))
			for ; f.ticks < due && ctx.Err() == nil; f.ticks++ {
				if err := f.publishTick(f.ticks % len(f.syms)); err != nil {
					return err
				}
				if (f.ticks+1)%rate == 0 {
					if err := f.publishNews(); err != nil {
						return err
					}
				}
			}
		}
	}
}

// publishTick moves symbol i one step and publishes the new price to the
// symbol's partition, recording the offset it got.
func (f *feed) publishTick(i int) error {
	price := f.price[i] * f.jump[i] * math.Exp(tickVolatility*f.walk[i].NormFloat64())
	tk := tick{Symbol: f.syms[i], Seq: len(f.history[i]), Price: price}
	if err := f.publish(topicPrices, symbolPartition(i), tk.Symbol, tk); err != nil {
		return err
	}
	f.price[i], f.jump[i] = price, 1
	f.history[i] = append(f.history[i], price)
	return nil
}

// publishNews publishes a headline about a random symbol; the symbol's next
// tick jumps in the headline's direction.
func (f *feed) publishNews() error {
	i := f.news.IntN(len(f.syms))
	good := []string{"%s beats earnings estimates", "%s announces a share buyback", "analysts upgrade %s"}
	bad := []string{"%s misses revenue guidance", "regulators open a probe into %s", "analysts downgrade %s"}
	n := newsItem{Symbol: f.syms[i], Sentiment: 1}
	pool := good
	if f.news.IntN(2) == 0 {
		n.Sentiment, pool = -1, bad
	}
	n.Headline = fmt.Sprintf(pool[f.news.IntN(len(pool))], n.Symbol)
	if err := f.publish(topicNews, 0, n.Symbol, n); err != nil {
		return err
	}
	f.jump[i] = 1 + newsJump*float64(n.Sentiment)
	f.items++
	return nil
}

// publish sends v as JSON to one partition of topic, keyed by symbol, and
// records the offset in the ledger. Publish returns once the message is
// durable and has set msg.Offset.
func (f *feed) publish(topic string, partition int, key string, v any) error {
	msg, err := jsonMessage(topic, partition, key, v)
	if err != nil {
		return err
	}
	if err := f.prod.Publish(topic, msg); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	f.ledger.published(msg)
	return nil
}

// jsonMessage returns a message for one partition of topic with key and v
// encoded as JSON.
func jsonMessage(topic string, partition int, key string, v any) (*brook.Message, error) {
	value, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	msg := brook.CreateMessage(topic, value, partition)
	msg.Key = []byte(key)
	return msg, nil
}

// symbolPartition is the partition of symbol i in the per-symbol topics.
func symbolPartition(i int) int { return i % pricePartitions }
