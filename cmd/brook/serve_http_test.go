package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/metrics"
)

func openTestBroker(t *testing.T, obs *metrics.Observer) *brook.Broker {
	t.Helper()
	b, err := brook.Open(t.TempDir(), &brook.Options{Observer: obs})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	_, err = b.CreateNewTopic("orders", 1)
	require.NoError(t, err)
	require.NoError(t, b.CreateProducer("p").Publish("orders", brook.CreateMessage("orders", []byte("x"), 0)))
	return b
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestStartConsole(t *testing.T) {
	obs := metrics.NewObserver(nil)
	b := openTestBroker(t, obs)
	addr, stop, err := startConsole(b, consoleConfig{addr: "127.0.0.1:0"}, obs, nil)
	require.NoError(t, err)
	code, body := get(t, "http://"+addr+"/api/topics", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"name":"orders"`)
	code, body = get(t, "http://"+addr+"/metrics", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `brook_partition_next_offset{partition="0",topic="orders"} 1`)
	assert.Contains(t, body, `brook_produced_messages_total{partition="0",topic="orders"} 1`, "the Observer is exported")
	code, _ = get(t, "http://"+addr+"/api/groups/x", "")
	assert.Equal(t, http.StatusNotFound, code)

	require.NoError(t, stop(context.Background()))
	_, err = http.Get("http://" + addr + "/api/topics")
	assert.Error(t, err, "stopped")
}

func TestStartConsoleTokenFile(t *testing.T) {
	b := openTestBroker(t, nil)
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte("  abc123 \nignored\n"), 0o600))
	addr, stop, err := startConsole(b, consoleConfig{addr: "127.0.0.1:0", tokenFile: file}, nil, nil)
	require.NoError(t, err)
	defer stop(context.Background())
	code, _ := get(t, "http://"+addr+"/api/topics", "")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = get(t, "http://"+addr+"/api/topics", "abc123")
	assert.Equal(t, http.StatusOK, code)
	code, _ = get(t, "http://"+addr+"/metrics", "")
	assert.Equal(t, http.StatusOK, code)
}

func TestStartConsoleRefuses(t *testing.T) {
	b := openTestBroker(t, nil)
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	tests := []struct {
		name string
		cfg  consoleConfig
	}{
		{"beyond loopback without a token", consoleConfig{addr: "0.0.0.0:0"}},
		{"both token flags", consoleConfig{addr: "127.0.0.1:0", token: "a", tokenFile: empty}},
		{"missing token file", consoleConfig{addr: "127.0.0.1:0", tokenFile: filepath.Join(t.TempDir(), "nope")}},
		{"empty token file", consoleConfig{addr: "127.0.0.1:0", tokenFile: empty}},
		{"bad address", consoleConfig{addr: "8080"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := startConsole(b, tt.cfg, nil, nil)
			var ue *usageError
			assert.ErrorAs(t, err, &ue)
		})
	}
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		assert.True(t, isLoopback(host), host)
	}
	assert.False(t, isLoopback("0.0.0.0"))
	assert.False(t, isLoopback("10.0.0.1"))
}

func TestConsoleFlags(t *testing.T) {
	var c consoleConfig
	cmd := &cobra.Command{Use: "serve"}
	addConsoleFlags(cmd, &c)
	require.NoError(t, cmd.ParseFlags([]string{"--http", "127.0.0.1:8080", "--http-token-file", "/run/tok", "--http-allow-writes"}))
	assert.Equal(t, consoleConfig{addr: "127.0.0.1:8080", tokenFile: "/run/tok", allowWrites: true}, c)
}

// brook serve's way: open the directory with an Observer, build the
// server, run it on its own listener, shut it down.
func TestConsoleServerOnOwnListener(t *testing.T) {
	dir := newTopic(t, "t", "1")
	mustRun(t, dir, "a\nb\n", "produce", "t", "-p", "0")
	a := &app{dir: dir, stderr: io.Discard}
	obs := metrics.NewObserver(nil)
	b, err := a.openServedBroker(obs)
	require.NoError(t, err)
	defer b.Close()
	srv, release, err := newConsoleServer(b, consoleConfig{addr: "127.0.0.1:0"}, obs, nil)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	require.NoError(t, b.CreateProducer("p").Publish("t", brook.CreateMessage("t", []byte("c"), 0)))
	code, body := get(t, "http://"+ln.Addr().String()+"/metrics", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `brook_partition_next_offset{partition="0",topic="t"} 3`)
	assert.Contains(t, body, `brook_produced_messages_total{partition="0",topic="t"} 1`, "the Observer counts from the open")

	require.NoError(t, srv.Shutdown(context.Background()))
	assert.ErrorIs(t, <-served, http.ErrServerClosed)
	release()
}
