package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"sync"

	"github.com/brookmq/brook"
)

// prediction is one forecast, the value of a price-predictions message.
type prediction struct {
	Symbol    string  `json:"symbol"`
	Seq       int     `json:"seq"`       // the tick it was made after
	Price     float64 `json:"price"`     // that tick's price
	Predicted float64 `json:"predicted"` // the forecast of the next tick's price
}

// Smoothing factors of Holt's linear method.
const (
	levelAlpha = 0.5
	trendBeta  = 0.1
)

// forecast is one symbol's predictor state: Holt's linear (double
// exponential) smoothing, and the running error of its forecasts.
type forecast struct {
	Level, Trend float64
	Next         float64 // the forecast for the next tick; valid when Ticks > 0
	Last         float64 // the last price seen
	Ticks        int     // ticks seen in this run
	AbsErr       float64 // sum of |price - forecast| over Errors ticks
	NaiveErr     float64 // the same for the naive forecast "next = last"
	Errors       int
}

// observe returns f updated with a new price.
func (f forecast) observe(price float64) forecast {
	if f.Ticks == 0 {
		f.Level, f.Trend = price, 0
	} else {
		f.AbsErr += math.Abs(price - f.Next)
		f.NaiveErr += math.Abs(price - f.Last)
		f.Errors++
		prev := f.Level
		f.Level = levelAlpha*price + (1-levelAlpha)*(f.Level+f.Trend)
		f.Trend = trendBeta*(f.Level-prev) + (1-trendBeta)*f.Trend
	}
	f.Next, f.Last = f.Level+f.Trend, price
	f.Ticks++
	return f
}

// MAE returns the mean absolute error of the forecasts so far.
func (f forecast) MAE() float64 { return ratio(f.AbsErr, f.Errors) }

// NaiveMAE returns the mean absolute error of "the next price is the last".
func (f forecast) NaiveMAE() float64 { return ratio(f.NaiveErr, f.Errors) }

// ratio returns sum/n, or 0 when n is 0.
func ratio(sum float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// predictors is the state shared by the members of the predictors group:
// one forecast per symbol. The members stand for replicas of one service and
// the map for its state store: when the group moves a partition from one
// member to another, the symbols' state moves with it. (The predictor state
// itself is not persisted; a new run starts its forecasts afresh.)
// It is safe for concurrent use.
type predictors struct {
	prod   *brook.Producer
	ledger *ledger

	mu    sync.Mutex
	state map[string]forecast
}

// newPredictors returns the predictors' shared state, publishing with prod.
func newPredictors(prod *brook.Producer, l *ledger) *predictors {
	return &predictors{prod: prod, ledger: l, state: make(map[string]forecast)}
}

// handle is the predictors group's handler: it updates the tick's symbol,
// publishes the forecast of its next price to the same partition of
// price-predictions, and only then records the tick as processed.
//
// The state is read and written under the lock but not held during Publish:
// a symbol lives on one partition, and the group hands a partition to a new
// member only after the old one has finished the message in hand, so two
// handlers never work on the same symbol at once.
func (p *predictors) handle(_ context.Context, m *brook.Message) error {
	var tk tick
	if err := json.Unmarshal(m.Value, &tk); err != nil {
		return fmt.Errorf("predictor: %s@%d: %w", m.Topic, m.Offset, err)
	}
	p.mu.Lock()
	f := p.state[tk.Symbol].observe(tk.Price)
	p.mu.Unlock()
	pred := prediction{Symbol: tk.Symbol, Seq: tk.Seq, Price: tk.Price, Predicted: f.Next}
	msg, err := jsonMessage(topicPredictions, m.Partition, tk.Symbol, pred)
	if err != nil {
		return err
	}
	// Publish, not PublishContext(ctx): once the forecast is made, finish the
	// message even if the member is being closed, so it is committed.
	if err := p.prod.Publish(topicPredictions, msg); err != nil {
		return fmt.Errorf("predictor: %w", err)
	}
	p.ledger.published(msg)
	p.mu.Lock()
	p.state[tk.Symbol] = f
	p.mu.Unlock()
	p.ledger.processed(groupPredictors, m)
	return nil
}

// snapshot returns a copy of every symbol's forecast.
func (p *predictors) snapshot() map[string]forecast {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.state)
}
