package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writesDir makes a directory with topic t (2 partitions, 4 messages) and
// group g, stopped, with offset 2 committed in partition 0 only.
func writesDir(t *testing.T) string {
	t.Helper()
	dir := newTopic(t, "t", "2")
	mustRun(t, dir, "a\nb\nc\n", "produce", "t", "-p", "0")
	mustRun(t, dir, "x\n", "produce", "t", "-p", "1")
	mustRun(t, dir, "", "groups", "reset-offsets", "g", "--topic", "t", "--partitions", "0", "--to-offset", "2")
	return dir
}

// reset-offsets and topics alter print the same through a server that
// allows writes as on the directory, and change the served broker.
func TestServerWritesMatchDirectory(t *testing.T) {
	commands := [][]string{
		{"groups", "reset-offsets", "g", "--topic", "t", "--to-earliest"},
		{"groups", "reset-offsets", "g", "--topic", "t", "--partitions", "1", "--to-offset", "2", "--json"},
		{"groups", "reset-offsets", "g", "--topic", "t", "--to-datetime", "2000-01-01"},
		{"groups", "reset-offsets", "g", "--topic", "t", "--to-latest", "--json"},
		{"topics", "alter", "t", "--retention-age", "7d", "--sync", "never"},
		{"topics", "alter", "t", "--max-message-bytes", "4KiB", "--retention-bytes", "1MiB", "--json"},
		{"topics", "alter", "t", "--sync", "default", "--max-message-bytes", "0"},
	}
	local := writesDir(t)
	want := make([]string, len(commands))
	for i, c := range commands {
		want[i] = mustRun(t, local, "", c...).stdout
	}

	addr, b := serveDirWith(t, writesDir(t), consoleConfig{addr: "127.0.0.1:0", allowWrites: true})
	other := t.TempDir()
	for i, c := range commands {
		r := mustRun(t, other, "", append([]string{"--server", addr}, c...)...)
		assert.Equal(t, want[i], r.stdout, "brook %v", c)
	}
	gs, err := b.GroupStats("g")
	require.NoError(t, err)
	for _, p := range gs.Partitions {
		assert.Equal(t, p.End, p.Committed, "the served broker's group is at the end: %+v", p)
	}
	tp, err := b.Topic("t")
	require.NoError(t, err)
	assert.Equal(t, int64(1<<20), tp.Config().RetentionBytes)
}

func TestServerWritesErrors(t *testing.T) {
	dir := writesDir(t)
	addr := serveDir(t, dir, "")
	other := t.TempDir()
	for _, c := range [][]string{
		{"groups", "reset-offsets", "g", "--topic", "t", "--to-earliest"},
		{"topics", "alter", "t", "--sync", "never"},
	} {
		r := brookCmd(t, other, append([]string{"--server", addr}, c...)...)
		assert.Equal(t, exitError, r.code, "the server is read-only: %v", c)
		assert.Contains(t, r.stderr, "read-only")
		assert.Contains(t, r.stderr, "--http-allow-writes")
	}

	addr, b := serveDirWith(t, writesDir(t), consoleConfig{addr: "127.0.0.1:0", allowWrites: true})
	r := brookCmd(t, other, "--server", addr, "topics", "alter", "nope", "--sync", "never")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "unknown topic")
	assert.Contains(t, r.stderr, "brook topics list", "the same hint as on the directory")
	r = brookCmd(t, other, "--server", addr, "groups", "reset-offsets", "g", "--topic", "nope", "--to-latest")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "unknown topic")
	r = brookCmd(t, other, "--server", addr, "groups", "reset-offsets", "g", "--topic", "t", "--partitions", "7", "--to-latest")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "invalid partition")

	c := b.CreateConsumer("live", "g")
	require.NoError(t, c.Subscribe("t"))
	_, err := c.Poll(context.Background())
	require.NoError(t, err)
	defer c.Close()
	r = brookCmd(t, other, "--server", addr, "groups", "reset-offsets", "g", "--topic", "t", "--to-latest")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "active members")
}
