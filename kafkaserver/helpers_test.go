package kafkaserver

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// startServer opens a broker in a temporary directory and serves it on
// 127.0.0.1; both close when the test ends.
func startServer(t *testing.T, opts *Options) (*brook.Broker, *Server, string) {
	t.Helper()
	return startServerWith(t, nil, opts)
}

// startServerWith is startServer with the broker's options.
func startServerWith(t testing.TB, bopts *brook.Options, opts *Options) (*brook.Broker, *Server, string) {
	t.Helper()
	b, err := brook.Open(t.TempDir(), bopts)
	require.NoError(t, err)
	s := New(b, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		require.ErrorIs(t, <-served, ErrServerClosed)
		require.NoError(t, b.Close())
	})
	return b, s, ln.Addr().String()
}

// client is a minimal Kafka client speaking kmsg over one connection.
type client struct {
	t    testing.TB
	nc   net.Conn
	br   *bufio.Reader
	corr int32
	id   string
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, br: bufio.NewReader(nc), id: "test"}
}

// send writes req at its version with a request header.
func (c *client) send(req kmsg.Request) int32 {
	c.t.Helper()
	c.corr++
	b := []byte{0, 0, 0, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(req.GetVersion()))
	b = binary.BigEndian.AppendUint32(b, uint32(c.corr))
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.id)))
	b = append(b, c.id...)
	if req.IsFlexible() {
		b = append(b, 0)
	}
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	_, err := c.nc.Write(b)
	require.NoError(c.t, err)
	return c.corr
}

// recv reads one response into resp (its version already set).
func (c *client) recv(corr int32, resp kmsg.Response) error {
	c.t.Helper()
	require.NoError(c.t, c.nc.SetReadDeadline(time.Now().Add(20*time.Second)))
	var hdr [4]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return err
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c.br, body); err != nil {
		return err
	}
	require.Equal(c.t, corr, int32(binary.BigEndian.Uint32(body)))
	body = body[4:]
	if resp.IsFlexible() && resp.Key() != apiVersionsKey {
		var err error
		body, err = skipTags(body)
		require.NoError(c.t, err)
	}
	return resp.ReadFrom(body)
}

// do sends req at version v and returns its response.
func do[R kmsg.Response](c *client, v int16, req kmsg.Request) R {
	c.t.Helper()
	req.SetVersion(v)
	resp := req.ResponseKind()
	resp.SetVersion(v)
	require.NoError(c.t, c.recv(c.send(req), resp))
	return resp.(R)
}

// closed reports whether the server closed the connection (read EOF or reset).
func (c *client) closed() bool {
	c.t.Helper()
	require.NoError(c.t, c.nc.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err := c.br.ReadByte()
	var ne net.Error
	return errors.Is(err, io.EOF) || err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
