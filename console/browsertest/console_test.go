package browsertest

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/console"
)

// chromium returns the browser's path, skipping the test when it is absent
// (failing under BROOK_REQUIRE_TOOLS=1).
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("BROOK_REQUIRE_TOOLS") == "1" {
			t.Fatalf("chromium not found and BROOK_REQUIRE_TOOLS=1: %v", err)
		}
		t.Skipf("chromium not found (apt-get install chromium): %v", err)
	}
	return path
}

// browser starts headless Chromium and returns its context, and a func
// that returns every console error, warning and exception (uncaught, or
// an error entry of the browser log) the page has produced so far.
func browser(t *testing.T, path string) (context.Context, func() []string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // as root, Chromium refuses to start with its sandbox
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// The first Do starts the browser; it must not carry a timeout.
	require.NoError(t, chromedp.Do(ctx), "start chromium")

	var mu sync.Mutex
	var problems []string
	done := make(chan struct{})
	messages := chromedp.Console(ctx)
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return // the context ended
			}
			switch m.Type {
			case chromedp.ConsoleWarning, chromedp.ConsoleError, chromedp.ConsoleException:
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancelCtx(); <-done; cancelAlloc() })
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

// do runs steps within a deadline.
func do(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// waitJS waits until the JavaScript expression is true.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))
}

// lagIs is an expression true when the console shows group's total lag as n.
func lagIs(group string, n int) string {
	return fmt.Sprintf(`document.querySelector('.group-lag[data-group=%q]')?.textContent === %q`, group, fmt.Sprint(n))
}

// pollN takes n messages from c; each Poll commits the one before.
func pollN(t *testing.T, c *brook.Consumer, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range n {
		_, err := c.Poll(ctx)
		require.NoError(t, err)
	}
}

func TestConsoleInBrowser(t *testing.T) {
	path := chromium(t)
	b, err := brook.Open(t.TempDir(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	_, err = b.CreateNewTopic("payments", 3)
	require.NoError(t, err)
	_, err = b.CreateNewTopic("audit-log", 1)
	require.NoError(t, err)
	p := b.CreateProducer("checkout")
	for i := range 60 {
		require.NoError(t, p.Publish("payments", brook.CreateMessage("payments", fmt.Appendf(nil, "payment-%d", i), i%3)))
	}
	for i := range 10 {
		require.NoError(t, p.Publish("audit-log", brook.CreateMessage("audit-log", fmt.Appendf(nil, "event-%d", i), 0)))
	}
	reporting := b.CreateConsumer("reporter", "reporting")
	require.NoError(t, reporting.Subscribe("audit-log"))
	pollN(t, reporting, 4)
	require.NoError(t, reporting.Close()) // commits 4 of 10: lag 6

	// One record per fetch: a partition loop commits after each fetched
	// batch, so this makes the lag move with every message.
	settlement := b.CreateConsumerWith("settler", "settlement", brook.ConsumerOptions{FetchMaxRecords: 1})
	require.NoError(t, settlement.Subscribe("payments"))
	t.Cleanup(func() { settlement.Close() })
	pollN(t, settlement, 1) // joined; the message in hand is not committed yet

	// A group whose live member handles everything as it comes.
	fraud := b.CreateConsumer("scorer", "fraud-check")
	require.NoError(t, fraud.Subscribe("payments"))
	runCtx, stopRun := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_ = fraud.Run(runCtx, func(context.Context, *brook.Message) error { return nil })
	}()
	t.Cleanup(func() { stopRun(); <-ran; fraud.Close() })

	h := console.NewHandler(b, console.Options{SampleInterval: 200 * time.Millisecond, Refresh: 200 * time.Millisecond, History: time.Minute})
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	ctx, problems := browser(t, path)
	require.NoError(t, do(ctx,
		chromedp.Navigate(srv.URL),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-topic="payments"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-topic="audit-log"]`)),
		waitJS(lagIs("settlement", 60)),
		waitJS(lagIs("reporting", 6)),
		waitJS(lagIs("fraud-check", 0)),
		waitJS(`document.querySelector('.group[data-group="fraud-check"] .members')?.textContent.includes("payments/2")`),
	), "the console shows the topics, the groups' lag and the live member's assignment")
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('tr[data-topic="payments"]').length`))
	require.NoError(t, err)
	assert.Equal(t, 3, rows, "one row per partition")
	mode, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#mode`)))
	require.NoError(t, err)
	assert.Equal(t, "read-only", mode)
	buttons, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.group button').length`))
	require.NoError(t, err)
	assert.Zero(t, buttons, "no delete or reset button on a read-only server")

	// The consumer catches up in steps; the console follows each.
	for _, want := range []int{40, 20} {
		pollN(t, settlement, 20)
		if err := do(ctx, waitJS(lagIs("settlement", want))); err != nil {
			shown, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.group-lag[data-group="settlement"]`)))
			gs, gerr := b.GroupStats("settlement")
			status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#status`)))
			t.Fatalf("lag %d not shown: %v; the page shows %q, status %q; the broker says %#v %v", want, err, shown, status, gs.Partitions, gerr)
		}
	}
	pollN(t, settlement, 19)               // all 60 handed out; the last still in hand
	require.NoError(t, settlement.Close()) // commits it
	require.NoError(t, do(ctx,
		waitJS(lagIs("settlement", 0)),
		waitJS(`document.querySelector('polyline[data-group="settlement"]')?.getAttribute('points').split(' ').length >= 4`),
	), "caught up, and the chart has the history")

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	saveScreenshotAs(t, png, "console.png", "BROOK_CONSOLE_SCREENSHOT")
	assert.Empty(t, problems(), "the page logs no error, warning or exception")
}

// saveScreenshotAs writes png as the test artifact name and, when the
// environment variable env is set, to that path too.
func saveScreenshotAs(t *testing.T, png []byte, name, env string) {
	t.Helper()
	dir := os.Getenv("BROOK_ARTIFACTS_DIR")
	if dir == "" {
		dir = "testdata-out"
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	out, err := filepath.Abs(filepath.Join(dir, name))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(out, png, 0o644))
	t.Logf("screenshot: %s", out)
	if extra := os.Getenv(env); extra != "" {
		require.NoError(t, os.WriteFile(extra, png, 0o644))
		t.Logf("screenshot copy: %s", extra)
	}
}
