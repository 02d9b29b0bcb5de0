package brook

import (
	"bufio"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// killedChild is one round of a suite that kills a child process: the
// crash suite (TestReliabilityCrash) and the power-loss suite
// (TestReliabilityPowerLoss) both run the test binary again as a child,
// which runs the same test, sees its environment and does the work; the
// parent kills it with SIGKILL at a random moment.
type killedChild struct {
	test     string        // the test the child runs, such as "TestReliabilityCrash"
	env      []string      // what tells the child it is one, added to the environment
	maxDelay time.Duration // the kill comes at most this long after the child's OPEN
}

// run starts the child, kills it at a random moment and returns every line
// it printed, and whether one of them was OPEN (the broker opened) before
// the kill. One round in five, the kill comes within 80 ms of the start,
// during startup and recovery; the others wait for OPEN, then up to
// maxDelay. A child that exits by itself (it prints ERR when a check
// fails) or reports a data race or a panic fails the test.
func (k killedChild) run(t *testing.T, round int, rng *rand.Rand) (lines []string, opened bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+k.test+"$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), k.env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())

	var mu sync.Mutex // lines, while the reader runs
	openc := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			if line == "OPEN" {
				once.Do(func() { close(openc) })
			}
			mu.Lock()
			lines = append(lines, line)
			mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()

	var delay time.Duration
	if rng.IntN(5) == 0 {
		delay = time.Duration(rng.Int64N(int64(80 * time.Millisecond)))
	} else {
		select {
		case <-openc:
		case <-exited:
		case <-time.After(60 * time.Second):
			t.Fatalf("round %d: child never opened the broker", round)
		}
		delay = time.Duration(rng.Int64N(int64(k.maxDelay)))
	}
	select {
	case <-time.After(delay):
	case <-exited:
	}
	select {
	case <-exited:
		<-readDone
		t.Fatalf("round %d: child exited by itself (%v); last lines %q; stderr:\n%s", round, waitErr, lines[max(len(lines)-3, 0):], stderr.String())
	default:
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL
	waitDone(t, exited, 30*time.Second, "the killed child")
	waitDone(t, readDone, 30*time.Second, "the child's output")
	if strings.Contains(stderr.String(), "DATA RACE") || strings.Contains(stderr.String(), "panic:") {
		t.Fatalf("round %d: the child reported:\n%s", round, stderr.String())
	}
	select {
	case <-openc:
		opened = true
	default:
	}
	return lines, opened
}
