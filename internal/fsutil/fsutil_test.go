package fsutil

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLockExcludesASecondHolder(t *testing.T) {
	name := filepath.Join(t.TempDir(), "LOCK")
	f, err := Lock(name)
	require.NoError(t, err)
	_, err = Lock(name)
	assert.ErrorIs(t, err, ErrLocked, "a second lock in the same process conflicts")
	var le *LockedError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, name, le.Name)
	if runtime.GOOS != "windows" {
		assert.Contains(t, le.Holder, fmt.Sprintf("pid %d (", os.Getpid()), "the lock file names its holder")
		assert.Contains(t, err.Error(), "held by pid")
	}
	require.NoError(t, f.Close())
	f, err = Lock(name)
	require.NoError(t, err, "closing releases the lock")
	require.NoError(t, f.Close())

	_, err = Lock(filepath.Join(t.TempDir(), "missing", "LOCK"))
	assert.Error(t, err)
	assert.NotErrorIs(t, err, ErrLocked)
}

// TestLockHeldByAnotherProcess runs this test binary again as a child that
// takes the lock and waits; the parent's Lock is refused and names the
// child's process ID. When the child dies, the lock is free.
func TestLockHeldByAnotherProcess(t *testing.T) {
	if name := os.Getenv("FSUTIL_LOCK_CHILD"); name != "" {
		f, err := Lock(name)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		defer f.Close()
		fmt.Println("locked")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
		return
	}
	name := filepath.Join(t.TempDir(), "LOCK")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHeldByAnotherProcess$")
	cmd.Env = append(os.Environ(), "FSUTIL_LOCK_CHILD="+name)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)

	_, err = Lock(name)
	var le *LockedError
	require.ErrorAs(t, err, &le)
	if runtime.GOOS != "windows" {
		assert.Contains(t, le.Holder, fmt.Sprintf("pid %d (", cmd.Process.Pid))
	}
	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait())
	f, err := Lock(name)
	require.NoError(t, err, "free once the holder ended")
	require.NoError(t, f.Close())
}

func TestLockedErrorWithoutHolder(t *testing.T) {
	err := &LockedError{Name: "/d/LOCK"}
	assert.Equal(t, "fsutil: file is locked: /d/LOCK (held by another process)", err.Error())
	assert.Empty(t, readHolder(filepath.Join(t.TempDir(), "none")))
	junk := filepath.Join(t.TempDir(), "LOCK")
	require.NoError(t, os.WriteFile(junk, []byte("\x00\x01garbage\nmore"), 0o600))
	assert.Empty(t, readHolder(junk), "only a holder line is reported")
}

func TestSyncDir(t *testing.T) {
	assert.NoError(t, SyncDir(t.TempDir()))
	assert.Error(t, SyncDir(filepath.Join(t.TempDir(), "missing")))
}
