package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"--dir", dir, "serve", "--kafka", "127.0.0.1:0"}, strings.NewReader(""), outW, io.Discard)
		outW.Close()
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	require.NoError(t, err)
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "kafka listening on ")
	require.True(t, ok, "output: %q", line)
	go io.Copy(io.Discard, outR)

	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	req := kmsg.NewPtrApiVersionsRequest()
	frame := binary.BigEndian.AppendUint32(nil, 0)
	frame = binary.BigEndian.AppendUint16(frame, 18)
	frame = binary.BigEndian.AppendUint16(frame, 0)
	frame = binary.BigEndian.AppendUint32(frame, 7)
	frame = binary.BigEndian.AppendUint16(frame, 0xffff)
	frame = req.AppendTo(frame)
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	_, err = nc.Write(frame)
	require.NoError(t, err)
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(10*time.Second)))
	var size [4]byte
	_, err = io.ReadFull(nc, size[:])
	require.NoError(t, err)
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err = io.ReadFull(nc, body)
	require.NoError(t, err)
	resp := kmsg.NewPtrApiVersionsResponse()
	require.NoError(t, resp.ReadFrom(body[4:]))
	assert.Zero(t, resp.ErrorCode)
	assert.NotEmpty(t, resp.ApiKeys)

	cancel() // as SIGINT does
	select {
	case c := <-code:
		assert.Equal(t, exitOK, c)
	case <-time.After(20 * time.Second):
		t.Fatal("brook serve did not stop")
	}
	// The directory is closed: it opens again.
	mustRun(t, dir, "", "topics", "list")
}

// brook serve --http serves the console beside the Kafka listener, on the
// same broker, and stops both on a signal.
func TestServeWithConsole(t *testing.T) {
	dir := newTopic(t, "orders", "2")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"--dir", dir, "serve", "--kafka", "127.0.0.1:0", "--http", "127.0.0.1:0"},
			strings.NewReader(""), outW, io.Discard)
		outW.Close()
	}()
	out := bufio.NewReader(outR)
	addrs := map[string]string{}
	for len(addrs) < 2 {
		line, err := out.ReadString('\n')
		require.NoError(t, err)
		name, addr, ok := strings.Cut(strings.TrimSpace(line), " listening on ")
		require.True(t, ok, "output: %q", line)
		addrs[name] = addr
	}
	go io.Copy(io.Discard, outR)
	require.Contains(t, addrs, "kafka")

	resp, err := http.Get("http://" + addrs["http"] + "/api/topics")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp.Body.Close()
	resp, err = http.Get("http://" + addrs["http"] + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Contains(t, string(body), `brook_partition_next_offset{partition="1",topic="orders"}`, "the metrics of the served broker")

	cancel()
	select {
	case c := <-code:
		assert.Equal(t, exitOK, c)
	case <-time.After(20 * time.Second):
		t.Fatal("brook serve did not stop")
	}
	mustRun(t, dir, "", "topics", "list")
}

func TestServeNeedsAListener(t *testing.T) {
	r := brookCmd(t, t.TempDir(), "serve", "--kafka", "")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "nothing to serve")
}
