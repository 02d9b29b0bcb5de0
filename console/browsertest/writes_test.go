package browsertest

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/console"
)

// On a server that allows writes, the page shows the groups' buttons, and
// a reset through its dialog moves the group's committed offsets.
func TestResetThroughPage(t *testing.T) {
	path := chromium(t)
	b, err := brook.Open(t.TempDir(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	_, err = b.CreateNewTopic("invoices", 2)
	require.NoError(t, err)
	p := b.CreateProducer("billing")
	for i := range 8 {
		require.NoError(t, p.Publish("invoices", brook.CreateMessage("invoices", fmt.Appendf(nil, "invoice-%d", i), i%2)))
	}
	_, err = b.ResetOffsets("mailer", "invoices", brook.ToLatest())
	require.NoError(t, err)

	h := console.NewHandler(b, console.Options{AllowWrites: true, Refresh: 200 * time.Millisecond})
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	ctx, problems := browser(t, path)
	require.NoError(t, do(ctx,
		chromedp.Navigate(srv.URL),
		waitJS(lagIs("mailer", 0)),
		chromedp.WaitVisible(chromedp.CSS(`.group[data-group="mailer"] button.delete`)),
		chromedp.Click(chromedp.CSS(`.group[data-group="mailer"] button.reset`)),
		chromedp.WaitVisible(chromedp.CSS(`#reset-dialog`)),
		chromedp.SetValue(chromedp.CSS(`#reset-to`), "earliest"),
		chromedp.SendKeys(chromedp.CSS(`#reset-confirm`), "mailer"),
		waitJS(`!document.getElementById("reset-apply").disabled`),
	), "the reset dialog opens and takes the group's name")
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	saveScreenshotAs(t, png, "console-reset.png", "BROOK_CONSOLE_RESET_SCREENSHOT")

	require.NoError(t, do(ctx,
		chromedp.Click(chromedp.CSS(`#reset-apply`)),
		waitJS(lagIs("mailer", 8)),
		waitJS(`!document.getElementById("reset-dialog").open`),
	), "the reset is applied and the page shows the new lag")
	gs, err := b.GroupStats("mailer")
	require.NoError(t, err)
	for _, p := range gs.Partitions {
		assert.Equal(t, int64(0), p.Committed, "committed offsets back at the start: %+v", p)
	}
	assert.Empty(t, problems(), "the page logs no error, warning or exception")
}
