package kafkaserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/brookmq/brook"
)

// DefaultAddr is the address ListenAndServe listens on when given "":
// loopback only, Kafka's usual port.
const DefaultAddr = "127.0.0.1:9092"

// Options configure a Server. The zero value of every field means its default.
type Options struct {
	// AdvertisedAddr is the host:port the server tells clients to connect
	// to (in Metadata and FindCoordinator). Set it when the listener's
	// address is not the one clients reach (0.0.0.0, a container, a proxy).
	// Default: the listener's address.
	AdvertisedAddr string

	// MaxRequestSize is the largest request frame accepted, in bytes; a
	// larger one closes the connection. Default: 100 MiB (Kafka's
	// socket.request.max.bytes).
	MaxRequestSize int

	// MaxConnections bounds the open connections; further ones are closed
	// at once. Default: 1024.
	MaxConnections int

	// MaxInFlight bounds the requests of one connection being read or
	// not yet answered; the connection is not read further until one is
	// answered. Requests of a connection are answered in order and handled
	// one at a time, as Kafka does, except that consecutive Produce
	// requests overlap (their appends are queued in request order, so they
	// share group commits). Default: 5, what kgo and the Java client keep
	// in flight.
	MaxInFlight int

	// IdleTimeout closes a connection that sends nothing for this long
	// (a partial frame counts as nothing). Default: 10 minutes (Kafka's
	// connections.max.idle.ms).
	IdleTimeout time.Duration

	// WriteTimeout bounds writing one response. Default: 30 seconds.
	WriteTimeout time.Duration

	// DefaultPartitions is the partition count of topics created with
	// NumPartitions -1 or created automatically. Default: 1.
	DefaultPartitions int

	// AutoCreateTopics creates unknown topics named in Metadata requests
	// that allow it, and in Produce requests, as Kafka's
	// auto.create.topics.enable does. Default: false.
	AutoCreateTopics bool

	// TLS, when set, makes Serve speak TLS on every connection.
	// Default: nil (plaintext).
	TLS *tls.Config

	// SASLPlain, when set, requires every connection to authenticate with
	// SASL/PLAIN before any request other than ApiVersions,
	// SaslHandshake and SaslAuthenticate; it reports whether the user and
	// password are valid. It must be safe for concurrent use. Use it with
	// TLS, or the password crosses the network in clear. Default: nil (no
	// authentication).
	SASLPlain func(user, password string) bool

	// Logger receives connection errors and refused frames at debug and
	// warning levels. Default: discard.
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.MaxRequestSize <= 0 {
		r.MaxRequestSize = 100 << 20
	}
	if r.MaxConnections <= 0 {
		r.MaxConnections = 1024
	}
	if r.MaxInFlight <= 0 {
		r.MaxInFlight = 5
	}
	if r.IdleTimeout <= 0 {
		r.IdleTimeout = 10 * time.Minute
	}
	if r.WriteTimeout <= 0 {
		r.WriteTimeout = 30 * time.Second
	}
	if r.DefaultPartitions <= 0 {
		r.DefaultPartitions = 1
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	return r
}

// Server serves one brook.Broker to Kafka clients. Its methods are safe for
// concurrent use. The Server does not own the Broker: close the Server
// before the Broker.
type Server struct {
	b        *brook.Broker
	opts     Options
	log      *slog.Logger
	apis     *apiTable
	producer *brook.Producer
	groups   *coordinator
	dec      *decoders
	idem     *idempotence

	ctx    context.Context // ends at Shutdown or Close: long polls return
	cancel context.CancelFunc

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	advHost   string
	advPort   int32
	closed    bool
	wg        sync.WaitGroup // connection goroutines

	closeDecoders sync.Once
}

// New returns a server for b. A nil opts means the defaults.
func New(b *brook.Broker, opts *Options) *Server {
	o := opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		b: b, opts: o, log: o.Logger, producer: b.CreateProducer("kafkaserver"),
		ctx: ctx, cancel: cancel,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
	}
	s.apis = newAPITable(o.SASLPlain != nil)
	s.groups = newCoordinator(s)
	s.dec = newDecoders()
	s.idem = newIdempotence()
	return s
}

// ListenAndServe listens on the TCP address addr (DefaultAddr when "") and
// calls Serve. It returns ErrServerClosed after Shutdown or Close.
func (s *Server) ListenAndServe(addr string) error {
	if addr == "" {
		addr = DefaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln and serves each in its own goroutines
// until Shutdown or Close, then returns ErrServerClosed. It closes ln. When
// Options.TLS is set, connections speak TLS.
func (s *Server) Serve(ln net.Listener) error {
	if s.opts.TLS != nil {
		ln = tls.NewListener(ln, s.opts.TLS)
	}
	if err := s.track(ln); err != nil {
		ln.Close()
		return err
	}
	defer s.untrack(ln)
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		s.startConn(nc)
	}
}

// Addr returns the advertised address of the server, or "" before Serve.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.advHost == "" {
		return ""
	}
	return net.JoinHostPort(s.advHost, strconv.Itoa(int(s.advPort)))
}

func (s *Server) track(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	if s.advHost == "" {
		addr := s.opts.AdvertisedAddr
		if addr == "" {
			addr = ln.Addr().String()
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("%w: advertised address %q: %v", ErrInvalidOptions, addr, err)
		}
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return fmt.Errorf("%w: advertised port %q", ErrInvalidOptions, port)
		}
		s.advHost, s.advPort = host, int32(p)
	}
	s.listeners[ln] = struct{}{}
	return nil
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	delete(s.listeners, ln)
	s.mu.Unlock()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) startConn(nc net.Conn) {
	s.mu.Lock()
	if s.closed || len(s.conns) >= s.opts.MaxConnections {
		s.mu.Unlock()
		s.log.Warn("kafkaserver: refusing connection", "remote", nc.RemoteAddr(), "connections", s.opts.MaxConnections)
		nc.Close()
		return
	}
	c := newConn(s, nc)
	s.conns[c] = struct{}{}
	s.wg.Add(2)
	s.mu.Unlock()
	go c.readLoop()
	go c.serveLoop()
}

func (s *Server) connDone(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// stopAccepting closes the listeners and marks the server closed.
func (s *Server) stopAccepting() {
	s.mu.Lock()
	s.closed = true
	lns := make([]net.Listener, 0, len(s.listeners))
	for ln := range s.listeners {
		lns = append(lns, ln)
	}
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	s.cancel()
}

// Shutdown stops the server gracefully: it closes the listeners, ends long
// polls early (they answer with what they have), lets every connection
// finish the requests it has read, closes the connections, and makes the
// group members of its clients leave their groups. It returns ctx's error
// if ctx ends first; then call Close.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopAccepting()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.closeIdle() {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	s.wg.Wait()
	return s.finish()
}

// closeIdle closes the connections that have no request in hand and
// reports whether none is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.idle() {
			c.close()
		}
	}
	return len(s.conns) == 0
}

// Close stops the server at once: it closes the listeners and every
// connection, waits for the connection goroutines, and makes the group
// members of its clients leave their groups. Close is idempotent.
func (s *Server) Close() error {
	s.stopAccepting()
	s.mu.Lock()
	for c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return s.finish()
}

func (s *Server) finish() error {
	s.groups.close()
	s.closeDecoders.Do(s.dec.close)
	err := s.producer.Close()
	if errors.Is(err, brook.ErrClosed) {
		err = nil
	}
	return err
}
