package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/brookmq/brook"
)

// serveDir opens dir as brook serve would and starts its console, until the
// end of the test. It returns the console's address.
func serveDir(t *testing.T, dir, token string) string {
	t.Helper()
	addr, _ := serveDirWith(t, dir, consoleConfig{addr: "127.0.0.1:0", token: token})
	return addr
}

// serveDirWith is serveDir with a console configuration; it also returns
// the broker.
func serveDirWith(t *testing.T, dir string, cfg consoleConfig) (string, *brook.Broker) {
	t.Helper()
	b, err := brook.Open(dir, nil)
	require.NoError(t, err)
	addr, stop, err := startConsole(b, cfg, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, stop(context.Background()))
		assert.NoError(t, b.Close())
	})
	return addr, b
}

// The read-only commands print the same through --server as on the
// directory.
func TestServerMatchesDirectory(t *testing.T) {
	dir := newTopic(t, "t", "2", "--retention-bytes", "1048576")
	mustRun(t, dir, "a\nb\nc\n", "produce", "t", "-p", "0")
	mustRun(t, dir, "x\n", "produce", "t", "-p", "1")
	mustRun(t, dir, "", "consume", "t", "--group", "g", "--count", "2", "--format", `%v\n`)
	commands := [][]string{
		{"topics", "list"}, {"topics", "list", "--json"},
		{"topics", "describe", "t"}, {"topics", "describe", "t", "--json"},
		{"groups", "list"}, {"groups", "list", "--json"},
		{"groups", "describe", "g"}, {"groups", "describe", "g", "--json"},
	}
	local := make([]string, len(commands))
	for i, c := range commands {
		local[i] = mustRun(t, dir, "", c...).stdout
	}

	addr := serveDir(t, dir, "")
	for i, c := range commands {
		r := mustRun(t, t.TempDir(), "", append([]string{"--server", addr}, c...)...)
		assert.Equal(t, local[i], r.stdout, "brook %v", c)
	}

	r := mustRun(t, dir, "", "topics", "list")
	assert.Equal(t, local[0], r.stdout, "reading works while the server holds the directory")
	r = brookCmd(t, dir, "topics", "delete", "t")
	assert.Equal(t, exitError, r.code, "the directory is held by the server")
	assert.Contains(t, r.stderr, "--server HOST:PORT")
}

func TestServerErrors(t *testing.T) {
	dir := newTopic(t, "t", "1")
	addr := serveDir(t, dir, "tok")
	other := t.TempDir()

	r := brookCmd(t, other, "--server", addr, "--server-token", "tok", "topics", "describe", "nope")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "unknown topic")
	assert.Contains(t, r.stderr, "brook topics list", "the same hint as on the directory")

	r = brookCmd(t, other, "--server", addr, "--server-token", "tok", "groups", "describe", "nope")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "unknown group")

	r = brookCmd(t, other, "--server", addr, "topics", "list")
	assert.Equal(t, exitError, r.code, "no token")
	assert.Contains(t, r.stderr, "refused the token")
	assert.Contains(t, r.stderr, "BROOK_SERVER_TOKEN")

	t.Setenv("BROOK_SERVER_TOKEN", "tok")
	r = brookCmd(t, other, "--server", addr, "topics", "list")
	assert.Equal(t, exitOK, r.code, "token from the environment: %s", r.stderr)

	r = brookIn(t, other, "a\n", "--server", addr, "produce", "t")
	assert.Equal(t, exitUsage, r.code, "--server is for reading only")
	assert.Contains(t, r.stderr, "--server works with")

	r = brookCmd(t, other, "--server", addr, "groups", "delete", "g")
	assert.Equal(t, exitError, r.code, "the server is read-only")
	assert.Contains(t, r.stderr, "--http-allow-writes")

	r = brookCmd(t, other, "--server", "ftp://x", "topics", "list")
	assert.Equal(t, exitUsage, r.code)

	r = brookCmd(t, other, "--server", "127.0.0.1:1", "topics", "list")
	assert.Equal(t, exitError, r.code, "nothing listens there")
	assert.Contains(t, r.stderr, "brook serve --http")
}

func TestGroupsDelete(t *testing.T) {
	dir := newTopic(t, "t", "1")
	mustRun(t, dir, "a\nb\n", "produce", "t", "-p", "0")
	mustRun(t, dir, "", "consume", "t", "--group", "g1", "--count", "1", "--format", `%v\n`)
	mustRun(t, dir, "", "consume", "t", "--group", "g2", "--count", "1", "--format", `%v\n`)

	r := mustRun(t, dir, "", "groups", "delete", "g1", "--json")
	var out map[string]string
	decode(t, r.stdout, &out)
	assert.Equal(t, map[string]string{"deleted": "g1"}, out)
	r = brookCmd(t, dir, "groups", "describe", "g1")
	assert.Equal(t, exitError, r.code)
	r = brookCmd(t, dir, "groups", "delete", "nope")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "brook groups list")

	// Through a server that allows writes: g2 goes; a group with a live
	// member is refused.
	addr, b := serveDirWith(t, dir, consoleConfig{addr: "127.0.0.1:0", allowWrites: true})
	other := t.TempDir()
	r = mustRun(t, other, "", "--server", addr, "groups", "delete", "g2")
	assert.Equal(t, "Deleted group \"g2\".\n", r.stdout)
	_, err := b.GroupStats("g2")
	assert.ErrorIs(t, err, brook.ErrUnknownGroup)

	c := b.CreateConsumer("live", "g3")
	require.NoError(t, c.Subscribe("t"))
	_, err = c.Poll(context.Background())
	require.NoError(t, err)
	defer c.Close()
	r = brookCmd(t, other, "--server", addr, "groups", "delete", "g3")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "active members")
	assert.Contains(t, r.stderr, "close the group's consumers first")
	r = brookCmd(t, other, "--server", addr, "groups", "delete", "nope")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "unknown group")
}
