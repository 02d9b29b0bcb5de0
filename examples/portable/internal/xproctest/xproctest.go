// Package xproctest runs the examples as separate OS processes around one
// Kafka listener, for the end-to-end tests of the nested module's builds
// (examples/portable/exchange and examples/portable/events): the server is
// package kafkaserver over a brook.Broker on a temporary directory, in the
// test process, on 127.0.0.1 (what `brook serve --dir D --kafka ADDR`
// runs); the examples are built with `go build` (with -race when the test
// runs with it) and started as children whose output the test waits on.
//
// Everything it starts is stopped by the test's cleanup: the processes are
// killed if still running, then the server and the broker are closed.
package xproctest

import (
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/kafkaserver"
	"github.com/stretchr/testify/require"
)

// Step bounds each step of a test (a process to print a line, to exit);
// a step takes well under a second when all goes well.
const Step = 30 * time.Second

// Serve starts a Kafka listener over a new broker on a temporary
// directory, on 127.0.0.1 with an ephemeral port, with `brook serve`'s
// defaults (the broker's durable sync policy, no topic auto-creation, one
// partition for topics created without a count). It returns the kafka://
// URL the examples take as -url; the test's cleanup closes the server,
// then the broker.
func Serve(t testing.TB) string {
	t.Helper()
	b, err := brook.Open(t.TempDir(), nil)
	require.NoError(t, err)
	srv := kafkaserver.New(b, &kafkaserver.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = b.Close()
		require.NoError(t, err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		require.ErrorIs(t, <-served, kafkaserver.ErrServerClosed)
		require.NoError(t, b.Close())
	})
	return "kafka://" + ln.Addr().String()
}

// Build builds the main package in dir (relative to the test's working
// directory, "." for the package under test) into a temporary directory
// and returns the binary's path. It builds with -race when the test binary
// was, so that a race in a child fails the test too (the race detector
// exits with status 66) and the build reuses the test's compiled packages.
func Build(t testing.TB, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go") // go test puts $GOROOT/bin first on PATH
	require.NoError(t, err, "the go command, to build the example")
	abs, err := filepath.Abs(dir)
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), filepath.Base(abs))
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(goBin, append(args, ".")...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build in %s:\n%s", dir, out)
	return bin
}
