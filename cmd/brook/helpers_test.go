package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// result is what one brook command did.
type result struct {
	code   int
	stdout string
	stderr string
}

// brookIn runs brook with args against the data directory dir, with stdin.
func brookIn(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"--dir", dir}, args...), strings.NewReader(stdin), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// brookCmd runs brook with args and empty stdin.
func brookCmd(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return brookIn(t, dir, "", args...)
}

// mustRun runs brook and requires success.
func mustRun(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	r := brookIn(t, dir, stdin, args...)
	require.Equal(t, exitOK, r.code, "brook %v: stderr:\n%s", args, r.stderr)
	return r
}

// decode parses JSON output into v.
func decode(t *testing.T, s string, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(s), v), "output:\n%s", s)
}

// newTopic creates a data directory with one topic.
func newTopic(t *testing.T, name string, partitions string, extra ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	mustRun(t, dir, "", append([]string{"topics", "create", name, "--partitions", partitions}, extra...)...)
	return dir
}

// lines splits output into its lines, without the final newline.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// segment returns the path of the first segment file of a log directory.
func segment(t *testing.T, logDir string) string {
	t.Helper()
	return filepath.Join(logDir, "00000000000000000001")
}

// flipByte inverts the byte at position pos of a file (negative: from the end).
func flipByte(t *testing.T, path string, pos int) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	if pos < 0 {
		pos += len(data)
	}
	data[pos] ^= 0xff
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

// syncBuffer is a bytes.Buffer safe for concurrent use that signals each
// write, for commands that run on their own goroutine.
type syncBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{wrote: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.wrote <- struct{}{}:
	default:
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
