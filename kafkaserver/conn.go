package kafkaserver

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// conn is one client connection. readLoop reads and decodes frames (up to
// MaxInFlight ahead); serveLoop handles them one at a time, in order, and
// writes each response. Either loop ending closes the connection.
type conn struct {
	s      *Server
	nc     net.Conn
	remote string
	reqs   chan *request
	done   chan struct{} // closed by close

	busy      atomic.Int32  // requests read and not yet answered
	slots     chan struct{} // one per request being read or not yet answered: MaxInFlight
	closeOnce sync.Once

	// SASL state, owned by serveLoop.
	authenticated bool
	handshaken    bool
	user          string
}

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{
		s: s, nc: nc, remote: nc.RemoteAddr().String(),
		reqs: make(chan *request, s.opts.MaxInFlight), done: make(chan struct{}),
		slots:         make(chan struct{}, s.opts.MaxInFlight),
		authenticated: s.opts.SASLPlain == nil,
	}
}

func (c *conn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.nc.Close()
	})
}

// idle reports whether the connection has no request read and unanswered.
func (c *conn) idle() bool { return c.busy.Load() == 0 }

func (c *conn) readLoop() {
	defer c.s.wg.Done()
	defer close(c.reqs)
	br := bufio.NewReaderSize(c.nc, 64<<10)
	for {
		select {
		case c.slots <- struct{}{}: // released when the response is written
		case <-c.done:
			return
		}
		if err := c.nc.SetReadDeadline(time.Now().Add(c.s.opts.IdleTimeout)); err != nil {
			c.close()
			return
		}
		frame, pooled, err := readFrame(br, c.s.opts.MaxRequestSize)
		if err != nil {
			c.readFailed(err)
			return
		}
		c.busy.Add(1)
		req, err := parseRequest(frame, c.s.apis)
		if err != nil {
			c.busy.Add(-1)
			c.readFailed(err)
			return
		}
		if pooled {
			req.frame = frame
		}
		select {
		case c.reqs <- req:
		case <-c.done:
			c.busy.Add(-1)
			return
		}
	}
}

func (c *conn) readFailed(err error) {
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		c.s.log.Debug("kafkaserver: closing connection", "remote", c.remote, "err", err)
	}
	c.close()
}

// pending is a request being handled; done closes when resp is set.
type pending struct {
	req  *request
	resp kmsg.Response
	keep bool
	done chan struct{}
}

// serveLoop handles the requests in order. A Produce may be answered after
// the next Produce has started (their appends are queued in order), so
// that several produce requests of a connection share group commits;
// any other request first waits for the ones before it, as Kafka handles
// one request of a connection at a time.
func (c *conn) serveLoop() {
	defer c.s.wg.Done()
	out := make(chan *pending, c.s.opts.MaxInFlight)
	defer close(out)
	c.s.wg.Add(1)
	go c.writeLoop(out)
	var last *pending
	for req := range c.reqs {
		a, _ := c.s.apis.lookup(req.key)
		if (a.async == nil || !c.authenticated) && last != nil {
			select {
			case <-last.done:
			case <-c.done:
				return
			}
		}
		p := &pending{req: req, done: make(chan struct{})}
		c.start(p)
		select {
		case out <- p:
		case <-c.done:
			return
		}
		last = p
	}
}

// writeLoop writes the responses in request order.
func (c *conn) writeLoop(out <-chan *pending) {
	defer c.s.wg.Done()
	defer c.s.connDone(c)
	defer c.close()
	var buf []byte
	for p := range out {
		select {
		case <-p.done:
		case <-c.done:
			return
		}
		if p.resp != nil {
			var err error
			if n := responseSizeHint(p.resp); n > 1<<20 {
				bp := getBuffer(n)
				*bp = appendResponse(*bp, p.req, p.resp)
				err = c.write(*bp)
				putBuffer(bp)
			} else {
				buf = appendResponse(buf[:0], p.req, p.resp)
				err = c.write(buf)
			}
			if err != nil {
				c.busy.Add(-1)
				c.readFailed(err)
				return
			}
		}
		c.busy.Add(-1)
		<-c.slots
		if !p.keep {
			return
		}
		if cap(buf) > 1<<20 {
			buf = nil // do not keep a large fetch's buffer for an idle connection
		}
	}
}

func (c *conn) write(b []byte) error {
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.s.opts.WriteTimeout)); err != nil {
		return err
	}
	_, err := c.nc.Write(b)
	return err
}
