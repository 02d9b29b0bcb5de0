package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"sync"

	"github.com/brookmq/brook"
)

// alertMove is the relative price move that raises an alert.
const alertMove = 0.02

// alerts is the state shared by the members of the alerts group, which
// reads stock-price-update independently of the predictors (each group gets
// every tick). It keeps a reference price per symbol and raises an alert
// when the price has moved more than alertMove away from it; the reference
// then becomes the new price. It is safe for concurrent use.
type alerts struct {
	ledger *ledger
	out    io.Writer // safe for concurrent use

	mu    sync.Mutex
	ref   map[string]float64
	count map[string]int
}

// newAlerts returns the alerts' shared state, reporting alerts to out.
func newAlerts(l *ledger, out io.Writer) *alerts {
	return &alerts{ledger: l, out: out, ref: make(map[string]float64), count: make(map[string]int)}
}

// handle is the alerts group's handler.
func (a *alerts) handle(_ context.Context, m *brook.Message) error {
	var tk tick
	if err := json.Unmarshal(m.Value, &tk); err != nil {
		return fmt.Errorf("alerts: %s@%d: %w", m.Topic, m.Offset, err)
	}
	a.mu.Lock()
	ref, seen := a.ref[tk.Symbol]
	move := 0.0
	if seen {
		move = tk.Price/ref - 1
	}
	fire := move >= alertMove || move <= -alertMove
	if !seen || fire {
		a.ref[tk.Symbol] = tk.Price
	}
	if fire {
		a.count[tk.Symbol]++
	}
	a.mu.Unlock()
	if fire {
		fmt.Fprintf(a.out, "  ALERT  %-5s %+5.1f%%  %8.2f -> %8.2f   (%s/%d@%d)\n",
			tk.Symbol, 100*move, ref, tk.Price, m.Topic, m.Partition, m.Offset)
	}
	a.ledger.processed(groupAlerts, m)
	return nil
}

// counts returns the number of alerts per symbol.
func (a *alerts) counts() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.count)
}
