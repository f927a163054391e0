// Package e2e holds the end-to-end tests of live-go: they build the live
// command, run "live demo" as a child process, and drive the demo page in
// headless Chromium with chromedp, the way a person would: click through
// every panel, watch two tabs stay in sync, restart the server under a page
// and see the page come back with its state, upload a file, and save a
// screenshot of the page.
//
// The package has no code of its own; it is a separate module so that the
// root module does not depend on chromedp.
//
// # Running
//
// The tests need Chromium (the Debian package chromium, at /usr/bin/chromium;
// LIVE_CHROMIUM names another binary) and the Go tool. Without Chromium they
// skip with a message, unless LIVE_REQUIRE_SERVICES=1 (set by CI), which
// makes its absence a failure. The screenshot of the demo, demo.png, goes to
// $LIVE_ARTIFACTS_DIR when set (with one screenshot per tab of a failed
// test), else into the test's temporary directory, removed after the test
// (its path is logged either way).
//
//	cd e2e && go test ./...
package e2e
