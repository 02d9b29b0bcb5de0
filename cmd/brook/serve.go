package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/brookmq/brook/kafkaserver"
)

// serveFlags are brook serve's flags.
type serveFlags struct {
	kafka      string
	advertise  string
	autoCreate bool
	partitions int
	grace      time.Duration
}

func newServeCmd(a *app) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the data directory to Kafka clients until interrupted",
		Long: "serve opens the data directory (creating it if needed) and serves it over\n" +
			"the Kafka protocol, in the foreground, until SIGINT or SIGTERM; then it\n" +
			"stops gracefully. It prints each address it listens on.\n\n" +
			"  brook serve --dir D --kafka 127.0.0.1:9092\n" +
			"  kcat -b 127.0.0.1:9092 -L",
		Args: args(cobra.NoArgs),
		RunE: action(func(_ *cobra.Command, _ []string) error { return a.serve(f) }),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.kafka, "kafka", kafkaserver.DefaultAddr, "address of the Kafka listener (loopback by default)")
	fl.StringVar(&f.advertise, "kafka-advertise", "", "host:port Kafka clients are told to connect to (default: the listener's)")
	fl.BoolVar(&f.autoCreate, "auto-create-topics", false, "create unknown topics on Metadata and Produce, as Kafka's auto.create.topics.enable")
	fl.IntVar(&f.partitions, "default-partitions", 1, "partitions of topics created without a count")
	fl.DurationVar(&f.grace, "grace", 10*time.Second, "how long a graceful stop may take before connections are cut")
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
	b, err := a.openBroker(true)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ks := kafkaserver.New(b, &kafkaserver.Options{
		AdvertisedAddr: f.advertise, AutoCreateTopics: f.autoCreate,
		DefaultPartitions: f.partitions, Logger: logger,
	})
	services := []*service{{name: "kafka", serve: ks.Serve, shutdown: ks.Shutdown, close: ks.Close}}
	addrs := map[string]string{"kafka": f.kafka}
	err = a.runServices(services, addrs, f.grace)
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
			if err := s.serve(s.ln); !errors.Is(err, kafkaserver.ErrServerClosed) {
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
