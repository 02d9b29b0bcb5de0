package brook

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brookmq/brook/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const markerKillDirEnv = "BROOK_MARKER_KILL_DIR"

// TestOpenAfterKillDuringFirstOpen kills a process in the middle of the
// first Open of a new data directory, while the BROOK marker's temporary
// file is written: the next Open must accept the directory. Before, the
// temporary file sat beside the layout, so the directory, unmarked and
// not only Brook's layout, was refused as foreign (ErrNotDataDir) for
// ever. TestReliabilityCrash found it, once in a while, in its first
// round on a loaded machine (a kill within 80 ms of the start).
func TestOpenAfterKillDuringFirstOpen(t *testing.T) {
	if dir := os.Getenv(markerKillDirEnv); dir != "" {
		fsys := storagetest.New()
		fsys.SetHook(func(c storagetest.Call, do func() error) error {
			if c.Op == storagetest.OpSync && strings.HasPrefix(filepath.Base(c.Path), ".tmp-") {
				fmt.Println("WRITING MARKER")
				time.Sleep(time.Minute) // the parent kills this process long before
			}
			return do()
		})
		_, err := Open(dir, &Options{fs: fsys, meta: fsys})
		fmt.Printf("ERR open returned: %v\n", err)
		os.Exit(3)
	}
	dir := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenAfterKillDuringFirstOpen$", "-test.count=1")
	cmd.Env = append(os.Environ(), markerKillDirEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	inWindow := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "WRITING MARKER") || strings.HasPrefix(sc.Text(), "ERR") {
				inWindow <- sc.Text()
				return
			}
		}
		inWindow <- "child ended"
	}()
	select {
	case line := <-inWindow:
		require.Equal(t, "WRITING MARKER", line)
	case <-time.After(60 * time.Second):
		t.Fatal("the child never reached the marker's fsync")
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	b, err := Open(dir, nil)
	require.NoError(t, err, "a directory whose first Open was killed is still Brook's")
	mustTopic(t, b, "t", 1)
	require.NoError(t, b.Close())
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"BROOK", "LOCK", "groups", "tmp", "topics"}, names, "nothing beside the layout")
}
