package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
)

// result is what one run did: the input of the summary and of the tests.
type result struct {
	Dir         string
	Config      config
	Topics      []topicInfo
	Resumed     int            // symbols whose walk continued from an earlier run
	Rebuilt     int            // trades the trader's book was rebuilt from
	Replayed    int            // committed trades the portfolio replayed
	Backlog     map[string]int // per group, messages of earlier runs it had not committed
	Assignments []assignment   // the predictors' at start, after the leave, after the join
	Ticks, News int

	Symbols    []string
	History    map[string][]float64 // this run's prices
	Last       map[string]float64   // the last published price
	Forecasts  map[string]forecast
	Alerts     map[string]int
	Trader     book
	TradesMade map[string]int // by the trader in this run
	NewsRead   int
	Portfolio  book
	Counts     map[groupTopic][]partitionCount
}

// collect fills the result from the services' final state. Call it after
// closeAll, when no handler runs any more.
func (p *pipeline) collect() {
	r := p.res
	r.Ticks, r.News = p.feed.ticks, p.feed.items
	r.History, r.Last = make(map[string][]float64), make(map[string]float64)
	for i, s := range p.feed.syms {
		r.Symbols = append(r.Symbols, s)
		r.History[s], r.Last[s] = p.feed.history[i], p.feed.price[i]
	}
	r.Forecasts = p.pred.snapshot()
	r.Alerts = p.alerts.counts()
	r.Trader, r.TradesMade, r.NewsRead = p.trader.snapshot()
	r.Portfolio = p.portfolio.snapshot()
	r.Counts = make(map[groupTopic][]partitionCount)
	for group, topics := range groupTopics() {
		for _, t := range topics {
			r.Counts[groupTopic{group, t}] = p.ledger.counts(group, t)
		}
	}
}

// groupTopic names one group's reading of one topic.
type groupTopic struct{ Group, Topic string }

// verify checks the run's invariants: every group processed every message
// of this run and of its backlog exactly once and nothing else, and the
// portfolio's book equals the book of the trades the trader made.
func (r *result) verify() error {
	var errs []error
	gts := slices.SortedFunc(maps.Keys(r.Counts), func(a, b groupTopic) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Topic, b.Topic))
	})
	for _, gt := range gts {
		for _, c := range r.Counts[gt] {
			if !c.OK() {
				errs = append(errs, fmt.Errorf("group %s on %s/%d: %d lost, %d duplicates, %d already committed",
					gt.Group, gt.Topic, c.Partition, c.Lost(), c.Duplicates, c.Stray))
			}
		}
	}
	if !sameBook(r.Trader, r.Portfolio) {
		errs = append(errs, fmt.Errorf("portfolio (cash %.2f, %d trades) disagrees with the trader (cash %.2f, %d trades)",
			r.Portfolio.Cash, r.Portfolio.Trades, r.Trader.Cash, r.Trader.Trades))
	}
	return errors.Join(errs...)
}

// sameBook reports whether a and b hold the same positions and, within
// rounding, the same cash.
func sameBook(a, b book) bool {
	if a.Trades != b.Trades || math.Abs(a.Cash-b.Cash) > 1e-6 {
		return false
	}
	for sym := range mergeKeys(a.Shares, b.Shares) {
		if a.Shares[sym] != b.Shares[sym] {
			return false
		}
	}
	return true
}

// mergeKeys returns the union of the keys of a and b.
func mergeKeys(a, b map[string]int) map[string]bool {
	keys := make(map[string]bool, len(a)+len(b))
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// syncWriter serializes writes from concurrent goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write writes p to the underlying writer under the lock.
func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// writeTopics prints the topics and whether they were reused.
func writeTopics(out io.Writer, topics []topicInfo) {
	var parts []string
	for _, t := range topics {
		state := "created"
		if t.Reused {
			state = "reused"
		}
		parts = append(parts, fmt.Sprintf("%s×%d (%s)", t.Name, t.Partitions, state))
	}
	fmt.Fprintf(out, "topics: %s\n", strings.Join(parts, ", "))
}

// writeResume prints what the run took over from earlier runs.
func writeResume(out io.Writer, r *result) {
	backlog := 0
	for _, n := range r.Backlog {
		backlog += n
	}
	if r.Resumed == 0 && r.Rebuilt == 0 && backlog == 0 {
		fmt.Fprintln(out, "fresh start: no earlier prices, trades or backlog")
		return
	}
	fmt.Fprintf(out, "resuming: %d symbols continue from their last price; trader's book rebuilt from %d trades; "+
		"portfolio replayed %d committed trades\n", r.Resumed, r.Rebuilt, r.Replayed)
	fmt.Fprintf(out, "  uncommitted backlog from earlier runs: predictors %d, alerts %d, traders %d, portfolio %d\n",
		r.Backlog[groupPredictors], r.Backlog[groupAlerts], r.Backlog[groupTraders], r.Backlog[groupPortfolio])
}

// writeAssignment prints the predictors' assignment.
func writeAssignment(out io.Writer, a assignment) {
	var b strings.Builder
	fmt.Fprintf(&b, "predictors assignment %s (generation %d):\n", a.Label, a.Generation)
	for _, m := range a.Members {
		fmt.Fprintf(&b, "  %-12s partitions %v\n", m.Name, m.Partitions)
	}
	io.WriteString(out, b.String())
}

// writeSummary prints the accounting table, the per-symbol table and the
// portfolio, in one write.
func writeSummary(out io.Writer, r *result) error {
	var b strings.Builder
	writeAccounting(&b, r)
	writeSymbols(&b, r)
	writePortfolio(&b, r)
	_, err := io.WriteString(out, b.String())
	return err
}

// writeAccounting prints, per partition of stock-price-update, the ticks
// published in this run and what the predictors and the alerts did with
// them, then one line for each other group.
func writeAccounting(b *strings.Builder, r *result) {
	fmt.Fprintf(b, "\nexactly-once check on %s: this run's ticks, and what each group processed\n", topicPrices)
	const row = "%9v %12v %9v │ %10v %4v %4v │ %6v %4v %4v\n"
	fmt.Fprintf(b, row, "partition", "first offset", "published", "predictors", "dup", "lost", "alerts", "dup", "lost")
	pred, alrt := r.Counts[groupTopic{groupPredictors, topicPrices}], r.Counts[groupTopic{groupAlerts, topicPrices}]
	alrtAt := make(map[int]partitionCount)
	for _, a := range alrt {
		alrtAt[a.Partition] = a
	}
	for _, p := range pred {
		a := alrtAt[p.Partition]
		fmt.Fprintf(b, row, p.Partition, p.Start, p.Published,
			p.Processed, p.Duplicates, p.Lost(), a.Processed, a.Duplicates, a.Lost())
	}
	tp, ta := total(pred), total(alrt)
	fmt.Fprintf(b, row, "total", "", tp.Published, tp.Processed, tp.Duplicates, tp.Lost(), ta.Processed, ta.Duplicates, ta.Lost())
	fmt.Fprintf(b, "backlog of earlier runs processed: predictors %d/%d, alerts %d/%d; "+
		"committed messages processed again: %d, %d\n",
		tp.BacklogDone, tp.Backlog, ta.BacklogDone, ta.Backlog, tp.Stray, ta.Stray)
	for _, gt := range []groupTopic{{groupTraders, topicPredictions}, {groupTraders, topicNews}, {groupPortfolio, topicTrades}} {
		t := total(r.Counts[gt])
		fmt.Fprintf(b, "%-9s on %-17s published %5d, processed %5d (+%d of %d backlog), %d dup, %d lost\n",
			gt.Group, gt.Topic, t.Published, t.Processed, t.BacklogDone, t.Backlog, t.Duplicates, t.Lost())
	}
	if err := r.verify(); err != nil {
		fmt.Fprintf(b, "FAILED: %v\n", err)
		return
	}
	fmt.Fprintln(b, "OK: nothing lost, nothing processed twice")
}

// writeSymbols prints one line per symbol: price, forecast and its error,
// alerts, trades, position, and a chart of this run's prices.
func writeSymbols(b *strings.Builder, r *result) {
	fmt.Fprintln(b)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "symbol\tlast\tforecast\tMAE\tnaive MAE\talerts\ttrades\tshares\tprice this run")
	for _, s := range r.Symbols {
		f := r.Forecasts[s]
		lo, hi := bounds(r.History[s])
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.3f\t%.3f\t%d\t%d\t%d\t%s %.2f–%.2f\n", s, r.Last[s], f.Next,
			f.MAE(), f.NaiveMAE(), r.Alerts[s], r.TradesMade[s], r.Portfolio.Shares[s],
			sparkline(r.History[s], 32), lo, hi)
	}
	tw.Flush()
	fmt.Fprintln(b, "(MAE: mean absolute error of the forecasts; naive: of \"next = last price\", hard to beat on a random walk)")
}

// writePortfolio prints the portfolio's value marked at the last prices.
func writePortfolio(b *strings.Builder, r *result) {
	pf := r.Portfolio
	value := pf.value(r.Last)
	made := 0
	for _, n := range r.TradesMade {
		made += n
	}
	fmt.Fprintf(b, "\nportfolio: cash %.2f + positions %.2f = %.2f (from %.2f: %+.2f%%)\n",
		pf.Cash, value-pf.Cash, value, initialCash, 100*(value/initialCash-1))
	fmt.Fprintf(b, "trades: %d in this run, %d in all; the trader's own book agrees: %v; headlines read: %d\n",
		made, pf.Trades, sameBook(r.Trader, pf), r.NewsRead)
}

// sparkLevels are the bars of a sparkline, lowest first.
const sparkLevels = "▁▂▃▄▅▆▇█"

// sparkline draws vals as at most width bars, each the mean of its share
// of the values, scaled between their minimum and maximum.
func sparkline(vals []float64, width int) string {
	if len(vals) == 0 {
		return ""
	}
	width = min(width, len(vals))
	means := make([]float64, width)
	for i := range means {
		from, to := i*len(vals)/width, (i+1)*len(vals)/width
		sum := 0.0
		for _, v := range vals[from:to] {
			sum += v
		}
		means[i] = sum / float64(to-from)
	}
	lo, hi := bounds(means)
	bars := []rune(sparkLevels)
	var sb strings.Builder
	for _, m := range means {
		level := len(bars) / 2
		if hi > lo {
			level = int(math.Round((m - lo) / (hi - lo) * float64(len(bars)-1)))
		}
		sb.WriteRune(bars[level])
	}
	return sb.String()
}

// bounds returns the minimum and maximum of vals, or zeros when empty.
func bounds(vals []float64) (lo, hi float64) {
	if len(vals) == 0 {
		return 0, 0
	}
	lo, hi = vals[0], vals[0]
	for _, v := range vals {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}
