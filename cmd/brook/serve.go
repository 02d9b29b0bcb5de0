package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/brookmq/brook/kafkaserver"
	"github.com/brookmq/brook/metrics"
)

// serveFlags are brook serve's flags.
type serveFlags struct {
	kafka      string
	advertise  string
	autoCreate bool
	partitions int
	grace      time.Duration
	console    consoleConfig // --http and its flags
}

func newServeCmd(a *app) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the data directory to Kafka clients and the admin console until interrupted",
		Long: "serve opens the data directory (creating it if needed) and serves it over\n" +
			"the Kafka protocol, and with --http the admin console, its JSON API and\n" +
			"/metrics, in the foreground, until SIGINT or SIGTERM; then it stops\n" +
			"gracefully. It prints each address it listens on. --kafka \"\" serves no\n" +
			"Kafka listener.\n\n" +
			"  brook serve --dir D --kafka 127.0.0.1:9092 --http 127.0.0.1:8080\n" +
			"  kcat -b 127.0.0.1:9092 -L\n" +
			"  brook --server 127.0.0.1:8080 groups list",
		Args: args(cobra.NoArgs),
		RunE: action(func(_ *cobra.Command, _ []string) error { return a.serve(f) }),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.kafka, "kafka", kafkaserver.DefaultAddr, "address of the Kafka listener (loopback by default)")
	fl.StringVar(&f.advertise, "kafka-advertise", "", "host:port Kafka clients are told to connect to (default: the listener's)")
	fl.BoolVar(&f.autoCreate, "auto-create-topics", false, "create unknown topics on Metadata and Produce, as Kafka's auto.create.topics.enable")
	fl.IntVar(&f.partitions, "default-partitions", 1, "partitions of topics created without a count")
	fl.DurationVar(&f.grace, "grace", 10*time.Second, "how long a graceful stop may take before connections are cut")
	addConsoleFlags(cmd, &f.console)
	return cmd
}

// service is one network server brook serve runs: all of them start
// together and stop together.
type service struct {
	name     string
	ln       net.Listener
	serve    func(net.Listener) error
	shutdown func(context.Context) error
	close    func() error
}

func (a *app) serve(f serveFlags) error {
	if f.partitions < 1 {
		return usagef("--default-partitions must be at least 1")
	}
	if f.kafka == "" && f.console.addr == "" {
		return usagef("nothing to serve: give --kafka HOST:PORT, --http HOST:PORT or both")
	}
	obs := metrics.NewObserver(nil)
	b, err := a.openServedBroker(obs)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var services []*service
	addrs := map[string]string{}
	if f.kafka != "" {
		ks := kafkaserver.New(b, &kafkaserver.Options{
			AdvertisedAddr: f.advertise, AutoCreateTopics: f.autoCreate,
			DefaultPartitions: f.partitions, Logger: logger,
		})
		services = append(services, &service{name: "kafka", serve: ks.Serve, shutdown: ks.Shutdown, close: ks.Close})
		addrs["kafka"] = f.kafka
	}
	release := func() {}
	if f.console.addr != "" {
		srv, rel, err := newConsoleServer(b, f.console, obs, logger)
		if err != nil {
			b.Close()
			return err
		}
		release = rel
		services = append(services, &service{name: "http", serve: srv.Serve, shutdown: srv.Shutdown, close: srv.Close})
		addrs["http"] = f.console.addr
	}
	err = a.runServices(services, addrs, f.grace)
	release() // the console's sampler reads the broker: stop it first
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	return err
}

// runServices listens for every service, prints the addresses, serves
// until the context ends or one service fails, then stops them all.
func (a *app) runServices(services []*service, addrs map[string]string, grace time.Duration) error {
	for i, s := range services {
		ln, err := net.Listen("tcp", addrs[s.name])
		if err != nil {
			for _, done := range services[:i] {
				done.ln.Close()
			}
			return fmt.Errorf("%s listener: %w", s.name, err)
		}
		s.ln = ln
	}
	failed := make(chan error, len(services))
	for _, s := range services {
		fmt.Fprintf(a.stdout, "%s listening on %s\n", s.name, s.ln.Addr())
		go func() {
			if err := s.serve(s.ln); !errors.Is(err, kafkaserver.ErrServerClosed) && !errors.Is(err, http.ErrServerClosed) {
				failed <- fmt.Errorf("%s: %w", s.name, err)
			} else {
				failed <- nil
			}
		}()
	}
	pending := len(services)
	var err error
	select {
	case <-a.ctx.Done():
	case err = <-failed:
		pending--
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for _, s := range services {
		if serr := s.shutdown(ctx); serr != nil {
			err = errors.Join(err, s.close())
		}
	}
	for ; pending > 0; pending-- {
		if serr := <-failed; serr != nil && err == nil {
			err = serr
		}
	}
	return err
}
