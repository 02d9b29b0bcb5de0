// Command stock runs a small stock-prediction pipeline on an embedded Brook
// broker, the process-wide one of brook.GetorSetBrokerInstance (its data
// directory is $BROOK_DATA_DIR, else ./brook-data):
//
//	feed ──ticks──▶ stock-price-update (8) ──▶ group predictors (3 members) ──▶ price-predictions (8)
//	     │                                 └──▶ group alerts (2 members): large moves
//	     └──news──▶ market-news (1) ─────────────────────────────┐
//	                                price-predictions ──▶ group traders ──▶ trade-executions (4)
//	                                                  trade-executions ──▶ group portfolio
//
// Partway through, one predictor leaves and another joins; the group
// rebalances while ticks keep flowing. At the end the program proves, per
// partition, that each group processed every message of this run exactly
// once, and prints a summary with a text chart of each symbol's price.
//
// Run it again on the same directory and it resumes: the topics are reused,
// each group continues from its committed offsets, the feed continues from
// the last prices, and the trader and the portfolio rebuild their books from
// the trade-executions log.
//
// Usage:
//
//	go run ./examples/stock [-duration 10s] [-seed 1] [-rate 200] [-drain 10s]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config holds the command-line settings of one run.
type config struct {
	Duration time.Duration // how long the feed publishes
	Seed     int64         // seed of the price walk and the news
	Rate     int           // ticks per second, over all symbols
	Drain    time.Duration // how long to wait for consumers to catch up at the end
}

// defaultConfig returns the settings used when no flag is given.
func defaultConfig() config {
	return config{Duration: 10 * time.Second, Seed: 1, Rate: 200, Drain: 10 * time.Second}
}

// parseFlags parses args into a config; usage and errors go to errOut.
func parseFlags(args []string, errOut io.Writer) (config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("stock", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long the price feed runs")
	fs.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the random price walk (same seed, same walk)")
	fs.IntVar(&cfg.Rate, "rate", cfg.Rate, "price ticks per second, over all symbols")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "deadline for consumers to catch up before shutdown")
	fs.Usage = func() {
		fmt.Fprintln(errOut, "usage: stock [flags]   (data directory: $BROOK_DATA_DIR, else ./brook-data)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	return cfg, cfg.validate()
}

// validate reports a setting that cannot work.
func (c config) validate() error {
	switch {
	case c.Duration <= 0:
		return errors.New("-duration must be positive")
	case c.Rate <= 0:
		return errors.New("-rate must be positive")
	case c.Drain <= 0:
		return errors.New("-drain must be positive")
	}
	return nil
}

// main parses the flags and runs the pipeline until -duration has passed or
// the first interrupt, then exits with 1 if the run failed.
func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stock:", err)
		os.Exit(2)
	}
	// The first Ctrl-C stops the feed early and still shuts down cleanly;
	// once it has been seen, a second one kills the process as usual.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	err = run(ctx, cfg, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stock:", err)
		os.Exit(1)
	}
}

// run runs the pipeline once and writes its progress and summary to out. It
// returns an error if the broker or a service failed, or if the end-of-run
// accounting found a message lost or processed twice.
func run(ctx context.Context, cfg config, out io.Writer) error {
	res, err := execute(ctx, cfg, out)
	if err != nil {
		return err
	}
	return res.verify()
}
