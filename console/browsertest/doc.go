// Package browsertest drives Brook's admin console in a real headless
// Chromium (Debian's chromium package) through chromedp: the page loads,
// shows the topics and groups a test created, follows a group's lag as its
// consumer catches up, and logs no console error or exception. It is a
// nested module so that the root module does not depend on chromedp.
//
// The test skips, naming chromium, when the browser is absent, and fails
// instead when BROOK_REQUIRE_TOOLS=1. It writes a screenshot of the console
// to $BROOK_ARTIFACTS_DIR (default: testdata-out in this directory) and
// prints its path; BROOK_CONSOLE_SCREENSHOT=path writes a copy there too
// (how docs/console.png is made).
package browsertest
