package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/brookmq/brook"
)

const holderEnv = "BROOK_CLI_HOLDER_DIR"

// TestHolderChild is the program of TestReadingCommandsWhileHeld, run as a
// child process: it holds the data directory open and publishes to topic
// "live" until its stdin closes.
func TestHolderChild(t *testing.T) {
	dir := os.Getenv(holderEnv)
	if dir == "" {
		t.Skip("helper process of TestReadingCommandsWhileHeld")
	}
	b, err := brook.Open(dir, &brook.Options{Sync: brook.SyncNever})
	require.NoError(t, err)
	_, err = b.CreateNewTopic("live", 2)
	require.NoError(t, err)
	p := b.CreateProducer("holder")
	stop := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
	for i := 0; ; i++ {
		require.NoError(t, p.Publish("live", &brook.Message{Partition: i % 2, Value: []byte(fmt.Sprint(i))}))
		if i == 20 {
			fmt.Println("ready")
		}
		select {
		case <-stop:
			require.NoError(t, b.Close())
			return
		default:
		}
	}
}

// TestReadingCommandsWhileHeld: while another process holds the directory
// and publishes, the reading commands work (consume --follow sees what it
// publishes), and the changing ones fail saying why.
func TestReadingCommandsWhileHeld(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHolderChild$")
	cmd.Env = append(os.Environ(), holderEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer func() {
		stdin.Close()
		assert.NoError(t, cmd.Wait())
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	go io.Copy(io.Discard, stdout)

	r := mustRun(t, dir, "", "topics", "list")
	assert.Contains(t, r.stdout, "live")
	r = mustRun(t, dir, "", "topics", "describe", "live")
	assert.Contains(t, r.stdout, "live")
	mustRun(t, dir, "", "groups", "list")
	r = mustRun(t, dir, "", "check")
	assert.Contains(t, r.stdout, "0 damaged")
	r = mustRun(t, dir, "", "consume", "live", "--partition", "0", "--count", "5", "--format", `%v\n`)
	assert.Equal(t, []string{"0", "2", "4", "6", "8"}, lines(r.stdout))
	// --follow from the end prints what the holder publishes after it starts.
	r = mustRun(t, dir, "", "consume", "live", "--offset", "latest", "--follow", "--count", "100", "--format", `%v\n`)
	assert.Len(t, lines(r.stdout), 100)

	for _, args := range [][]string{
		{"topics", "delete", "live"},
		{"topics", "create", "other", "--partitions", "1"},
		{"groups", "delete", "g"},
		{"check", "--repair"},
		{"check", "--repair", "live/0"},
	} {
		r := brookIn(t, dir, "", args...)
		assert.NotEqual(t, exitOK, r.code, "brook %v", args)
		assert.Contains(t, r.stderr, "held by pid", "brook %v", args)
		assert.Contains(t, r.stderr, "needs the directory to itself", "brook %v", args)
	}
	r = brookIn(t, dir, "x\n", "produce", "live")
	assert.NotEqual(t, exitOK, r.code)
	assert.True(t, strings.Contains(r.stderr, "needs the directory to itself"), r.stderr)
}
