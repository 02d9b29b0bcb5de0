// Package eventscmd is the body of the events example (seed 002's flow on
// Brook), shared by the command in the root module (examples/events:
// mem:// and brook://) and the one in the nested module examples/portable
// (examples/portable/events, which registers the Kafka backend, so that
// the front and the pricing service run as separate processes through
// `brook serve`). A command is one line:
//
//	func main() { eventscmd.Command{}.Main() }
//
// The flow: an HTTP front that turns POST /quote into a request event, and
// a pricing service, bound with a nested router, that answers it through
// request/reply.
//
//	curl ──POST /quote──▶ front ──"pricing.quote.get"──▶ topic pricing ──▶ group pricing
//	                        ▲                                                 │ router: pricing → quote → get
//	                        └──────────── topic front.replies ◀──── reply ────┘
//
// By default both services run in one process. With -role front or -role
// pricing, each runs alone, so that two processes share a backend that
// both reach (kafka:// in a build that registers it; mem:// and
// brook:///dir are private to one process). Flags:
//
//	[-addr 127.0.0.1:8080] [-url mem://] [-role all|front|pricing] [-partitions 4] [-timeout 5s]
//
// The front prints the line "front: http://ADDR ..." once it listens, and
// the pricing service "pricing: listening ..." once its bus is up (a
// request sent before it joined its group waits for it: the group starts
// at the earliest offset). Then:
//
//	curl -s -X POST localhost:8080/quote -d '{"sku":"B-17","qty":12}'
package eventscmd

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

// DefaultURL is the backend a Command opens when -url is not given.
const DefaultURL = "mem://"

// Command is one build of the example: the backends it knows and its
// default -url.
type Command struct {
	// Registry opens -url. Default: a zero pubsub.Registry, which knows
	// brook:// and mem://.
	Registry *pubsub.Registry
	// DefaultURL is -url's default. Default: DefaultURL.
	DefaultURL string
}

// Main parses the flags in os.Args and runs the services until SIGINT or
// SIGTERM, as a command's main does; it exits with status 1 on error.
func (c Command) Main() {
	def := c.DefaultURL
	if def == "" {
		def = DefaultURL
	}
	cfg := config{}
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "the front's listen address (loopback only)")
	flag.StringVar(&cfg.URL, "url", def, "the pubsub backend URL (registered: "+strings.Join(c.registry().Schemes(), ", ")+")")
	flag.StringVar(&cfg.Role, "role", "all", "which services to run: all, front or pricing")
	flag.IntVar(&cfg.Partitions, "partitions", 4, "partitions of the pricing topic")
	flag.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "how long POST /quote waits for a reply")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := c.run(ctx, cfg, os.Stdout, nil)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "events:", err)
		os.Exit(1)
	}
}

func (c Command) registry() *pubsub.Registry {
	if c.Registry == nil {
		return &pubsub.Registry{}
	}
	return c.Registry
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
func (c Command) run(ctx context.Context, cfg config, out io.Writer, ready chan<- string) error {
	if err := cfg.check(); err != nil {
		return err
	}
	client, err := c.registry().Open(ctx, cfg.URL)
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
