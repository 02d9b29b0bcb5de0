package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/console"
	"github.com/brookmq/brook/metrics"
)

// consoleConfig is the admin HTTP surface `brook serve` starts: the
// console, its JSON API and /metrics (package console).
type consoleConfig struct {
	addr        string // --http; "" means no console
	token       string // --http-token
	tokenFile   string // --http-token-file
	allowWrites bool   // --http-allow-writes
}

// addConsoleFlags registers the console's flags on the serve command.
func addConsoleFlags(cmd *cobra.Command, c *consoleConfig) {
	f := cmd.Flags()
	f.StringVar(&c.addr, "http", "", "serve the admin console, its JSON API and /metrics on `HOST:PORT` (e.g. 127.0.0.1:8080)")
	f.StringVar(&c.token, "http-token", "", "require this bearer `token` on every console path but /metrics")
	f.StringVar(&c.tokenFile, "http-token-file", "", "read the console's bearer token from `FILE` (kept out of the process list)")
	f.BoolVar(&c.allowWrites, "http-allow-writes", false, "let the console and --server delete groups, reset their offsets and alter topics (each group change asks for confirmation)")
}

// resolveToken returns the token the flags give, from --http-token or the
// first line of --http-token-file, and checks that a console listening
// beyond loopback has one.
func (c consoleConfig) resolveToken() (string, error) {
	if c.token != "" && c.tokenFile != "" {
		return "", usagef("--http-token and --http-token-file are exclusive")
	}
	tok := c.token
	if c.tokenFile != "" {
		data, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return "", usagef("--http-token-file: %w", err)
		}
		tok, _, _ = strings.Cut(string(data), "\n")
		if tok = strings.TrimSpace(tok); tok == "" {
			return "", usagef("--http-token-file %s: the file holds no token", c.tokenFile)
		}
	}
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return "", usagef("--http %q: %w", c.addr, err)
	}
	if tok == "" && !isLoopback(host) {
		return "", usagef("--http %s listens beyond loopback: set --http-token or --http-token-file", c.addr)
	}
	return tok, nil
}

// isLoopback reports whether host names only the local machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// openServedBroker opens the data directory for brook serve (creating it
// if needed, as serve does) with obs as its Observer, so that /metrics has
// the append and fsync latencies and the produce and consume counters.
func (a *app) openServedBroker(obs *metrics.Observer) (*brook.Broker, error) {
	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return brook.Open(a.dataDir(), &brook.Options{Logger: logger, Observer: obs})
}

// newConsoleServer checks c and returns the console's server, not yet
// listening, for a caller that runs its own listeners (brook serve's
// services): it calls Serve(ln), then Shutdown or Close, then release,
// which stops the console's lag sampler. obs, when not nil, is the
// metrics.Observer the broker was opened with: /metrics then includes its
// counters and latency histograms. Errors of the server go to logger.
func newConsoleServer(b *brook.Broker, c consoleConfig, obs *metrics.Observer, logger *slog.Logger) (srv *http.Server, release func(), err error) {
	tok, err := c.resolveToken()
	if err != nil {
		return nil, nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(b))
	if obs != nil {
		reg.MustRegister(obs)
	}
	h := console.NewHandler(b, console.Options{Token: tok, AllowWrites: c.allowWrites, Gatherer: reg, Logger: logger})
	srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	return srv, func() { h.Close() }, nil
}

// startConsole serves the console of b on c.addr in a goroutine and
// returns the address it listens on (the port chosen when c.addr asks for
// port 0) and stop, which shuts the server down gracefully within ctx
// (cutting the connections left when ctx ends), stops the console's lag
// sampler and waits for both. See newConsoleServer for obs and logger.
func startConsole(b *brook.Broker, c consoleConfig, obs *metrics.Observer, logger *slog.Logger) (string, func(context.Context) error, error) {
	srv, release, err := newConsoleServer(b, c, obs, logger)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		release()
		return "", nil, fmt.Errorf("console: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	stop := func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if err != nil {
			err = errors.Join(err, srv.Close())
		}
		if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		release()
		return err
	}
	return ln.Addr().String(), stop, nil
}
