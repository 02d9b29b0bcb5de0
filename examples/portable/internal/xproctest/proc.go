package xproctest

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Proc is a child process started by Start: its standard output and
// error go to one buffer that WaitFor reads as they come.
type Proc struct {
	name string
	cmd  *exec.Cmd
	out  *output
	done chan struct{} // closed once the process exited and its output is in
	err  error         // Wait's, set before done is closed
}

// Start starts bin with args, feeding it stdin (nil: an empty input), and
// returns at once. The test's cleanup kills the process if it still runs,
// and waits for it.
func Start(t testing.TB, stdin io.Reader, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{
		name: strings.Join(append([]string{filepath.Base(bin)}, args...), " "),
		cmd:  exec.Command(bin, args...),
		out:  &output{wake: make(chan struct{}, 1)},
		done: make(chan struct{}),
	}
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = stdin, p.out, p.out
	if raceEnabled && os.Getenv("GORACE") == "" {
		// The race detector waits 1 s at exit for late reports; the
		// children report theirs as they happen, and exit status 66 fails
		// the test.
		p.cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	}
	require.NoError(t, p.cmd.Start(), "start %s", p.name)
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// WaitFor waits up to timeout for the output to match re and returns the
// match and its submatches. It fails the test when the time is up or the
// process exits without printing it.
func (p *Proc) WaitFor(t testing.TB, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if m := re.FindStringSubmatch(p.Output()); m != nil {
			return m
		}
		select {
		case <-p.out.wake:
		case <-p.done:
			if m := re.FindStringSubmatch(p.Output()); m != nil {
				return m
			}
			require.FailNow(t, "exited before printing "+re.String(), "%s: %v\n%s", p.name, p.err, p.Output())
		case <-deadline.C:
			require.FailNow(t, "did not print "+re.String()+" in "+timeout.String(), "%s:\n%s", p.name, p.Output())
		}
	}
}

// Wait waits up to timeout for the process to exit by itself and returns
// how it exited (nil for status 0). It fails the test when the time is up.
func (p *Proc) Wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		require.FailNow(t, "still running after "+timeout.String(), "%s:\n%s", p.name, p.Output())
		return nil
	}
}

// Interrupt sends the process SIGINT, as Ctrl-C in a terminal, unless it
// already exited.
func (p *Proc) Interrupt(t testing.TB) {
	t.Helper()
	select {
	case <-p.done:
	default:
		require.NoError(t, p.cmd.Process.Signal(os.Interrupt), "interrupt %s", p.name)
	}
}

// Stop interrupts the process, waits up to timeout for it to exit and
// returns how it exited.
func (p *Proc) Stop(t testing.TB, timeout time.Duration) error {
	t.Helper()
	p.Interrupt(t)
	return p.Wait(t, timeout)
}

// Output returns what the process printed so far, standard output and
// error interleaved.
func (p *Proc) Output() string { return p.out.String() }

// String names the process by its command line.
func (p *Proc) String() string { return p.name }

// output is the buffer a Proc's output goes to; each write wakes the one
// WaitFor that may be waiting.
type output struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	wake chan struct{} // a token after each write
}

func (o *output) Write(b []byte) (int, error) {
	o.mu.Lock()
	n, err := o.buf.Write(b)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return n, err
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
