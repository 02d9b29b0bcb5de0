// Command events runs seed 002's flow on Brook: an HTTP front that turns
// POST /quote into a request event, and a pricing service, bound with a
// nested router, that answers it through request/reply.
//
//	curl ──POST /quote──▶ front ──"pricing.quote.get"──▶ topic pricing ──▶ group pricing
//	                        ▲                                                 │ router: pricing → quote → get
//	                        └──────────── topic front.replies ◀──── reply ────┘
//
// By default both services run in this process, on one mem:// backend.
// With -role front or -role pricing, each runs alone, so two processes can
// share a backend that both reach (a Kafka URL, where the binary
// registers that backend; the built-in mem:// and brook:///dir are private
// to one process).
//
// Usage:
//
//	go run ./examples/events [-addr 127.0.0.1:8080] [-url mem://] [-role all|front|pricing]
//
// Then:
//
//	curl -s -X POST localhost:8080/quote -d '{"sku":"B-17","qty":12}'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/brookmq/brook/event"
	"github.com/brookmq/brook/pubsub"
	"golang.org/x/sync/errgroup"
)

// pricingTopic is where quote requests go.
const pricingTopic = "pricing"

// config holds the command-line settings.
type config struct {
	Addr       string        // the front's listen address, on a loopback interface
	URL        string        // the pubsub backend
	Role       string        // all, front or pricing
	Partitions int           // of the pricing topic
	Timeout    time.Duration // how long POST /quote waits for the pricing service
}

func main() {
	cfg := config{}
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "the front's listen address (loopback only)")
	flag.StringVar(&cfg.URL, "url", "mem://", "the pubsub backend URL")
	flag.StringVar(&cfg.Role, "role", "all", "which services to run: all, front or pricing")
	flag.IntVar(&cfg.Partitions, "partitions", 4, "partitions of the pricing topic")
	flag.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "how long POST /quote waits for a reply")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "events:", err)
		os.Exit(1)
	}
}

// check refuses settings that cannot work.
func (c config) check() error {
	if c.Role != "all" && c.Role != "front" && c.Role != "pricing" {
		return fmt.Errorf("-role %q: want all, front or pricing", c.Role)
	}
	if c.Role != "all" && strings.HasPrefix(c.URL, "mem:") {
		return fmt.Errorf("-role %s with -url %s: mem:// is private to one process; give both processes a backend they share", c.Role, c.URL)
	}
	if c.Role != "pricing" {
		host, _, err := net.SplitHostPort(c.Addr)
		if err != nil {
			return fmt.Errorf("-addr %q: %w", c.Addr, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("-addr %q: this example listens on a loopback address only", c.Addr)
		}
	}
	if c.Partitions < 1 || c.Timeout <= 0 {
		return errors.New("-partitions and -timeout must be positive")
	}
	return nil
}

// run runs the services of cfg.Role until ctx ends, then shuts down in
// order: the HTTP server, the buses, the client. When the front listens,
// its address is sent to ready (if not nil).
func run(ctx context.Context, cfg config, out io.Writer, ready chan<- string) error {
	if err := cfg.check(); err != nil {
		return err
	}
	client, err := pubsub.Open(ctx, cfg.URL)
	if err != nil {
		return err
	}
	defer client.Close() // 3. the client, last
	if err := client.CreateTopic(ctx, pricingTopic, cfg.Partitions); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	if cfg.Role != "front" {
		bus, err := event.NewBus(ctx, client, event.Options{Service: "pricing"})
		if err != nil {
			return err
		}
		defer bus.Close() // 2. the buses
		g.Go(func() error {
			return bus.Listen(gctx, "pricing", []string{pricingTopic}, pricingRouter(defaultCatalogue()))
		})
		fmt.Fprintf(out, "pricing: listening to %q as group \"pricing\"\n", pricingTopic)
	}
	if cfg.Role != "pricing" {
		if err := serveFront(gctx, g, client, cfg, out, ready); err != nil {
			cancel()
			return errors.Join(err, g.Wait())
		}
	}
	return g.Wait()
}

// serveFront starts the front's bus and HTTP server in g; the server shuts
// down (1.) when ctx ends, and the bus closes after it.
func serveFront(ctx context.Context, g *errgroup.Group, client *pubsub.Client, cfg config, out io.Writer, ready chan<- string) error {
	store := event.NewStore(event.StoreOptions{MaxEvents: 1000})
	bus, err := event.NewBus(ctx, client, event.Options{Service: "front", Store: store})
	if err != nil {
		return err
	}
	f := &front{bus: bus, timeout: cfg.Timeout}
	h, err := f.handler(store)
	if err != nil {
		bus.Close()
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		bus.Close()
		return err
	}
	base, cancelBase := context.WithCancel(context.Background())
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	srv.RegisterOnShutdown(cancelBase) // calls waiting for a reply end now, with 503
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx) // 1. the HTTP server
		cancelBase()
		return errors.Join(err, bus.Close()) // 2. then the front's bus
	})
	addr := ln.Addr().String()
	fmt.Fprintf(out, "front: http://%s  (try: curl -s -X POST %s/quote -d '{\"sku\":\"B-17\",\"qty\":12}')\n", addr, addr)
	if ready != nil {
		ready <- addr
	}
	return nil
}
