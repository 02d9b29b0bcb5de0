package gcppubsub

import (
	"context"
	"net/url"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/brookmq/brook/pubsub/driver"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// newServer starts pstest, Pub/Sub's fake, on 127.0.0.1 in the test
// process (no network, no credentials), stopped with the test, and returns
// its address.
func newServer(t testing.TB) string {
	t.Helper()
	srv := pstest.NewServerWithAddress("127.0.0.1:0")
	t.Cleanup(func() { _ = srv.Close() })
	return srv.Addr
}

// dial returns client options with a gRPC connection of its own to addr:
// a pubsub.Client closes the connection it is given.
func dial(t testing.TB, addr string) []option.ClientOption {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return []option.ClientOption{option.WithGRPCConn(conn)}
}

// openBackend opens gcppubsub://test on the pstest server at addr (a new
// one when addr is ""), closed with the test.
func openBackend(t testing.TB, addr string) driver.Backend {
	t.Helper()
	if addr == "" {
		addr = newServer(t)
	}
	u, err := url.Parse("gcppubsub://test")
	require.NoError(t, err)
	b, err := Opener{Opts: dial(t, addr)}.Open(testCtx(t), u)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// testCtx is a context ending with the test or after 30 s.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
