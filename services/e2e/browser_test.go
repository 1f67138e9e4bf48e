package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/bookstore-platform/bookstore/internal/gateway"
	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/storefront"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// entryPoint serves the system as `make dev` does: cmd/gateway's handler (the API
// routes and the storefront) in front of the four services.
func (s *system) entryPoint() string {
	t := s.t
	t.Helper()
	up := map[string]string{}
	for _, name := range services {
		up[name] = s.svc(name).URL
	}
	routes, err := gateway.Routes(up, true)
	if err != nil {
		t.Fatal(err)
	}
	site, err := storefront.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(storefront.Mount(site, gateway.Handler(routes, apptest.Logger(t))))
	t.Cleanup(srv.Close)
	return srv.URL
}

// browser is one headless Chromium tab.
type browser struct {
	t    *testing.T
	ctx  context.Context
	shot int
	dir  string
	mu   sync.Mutex
	auth string // the last Authorization header the page sent
}

func newBrowser(t *testing.T, budget time.Duration) *browser {
	t.Helper()
	bin := testenv.Chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	ctx, cancelTime := context.WithTimeout(context.Background(), budget)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	b := &browser{t: t, dir: filepath.Join(testenv.RepoRoot(t), ".cache", "screenshots")}
	bctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf), chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			if v, ok := e.Request.Headers["Authorization"].(string); ok {
				b.mu.Lock()
				b.auth = v
				b.mu.Unlock()
			}
		}
	}))
	b.ctx = bctx
	t.Cleanup(func() { cancelTab(); cancelAlloc(); cancelTime() })
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b.do("start", chromedp.Navigate("about:blank"))
	return b
}

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// token is the bearer token of the page's last API call (read from the network, the
// only place the test can see it: the page keeps it in a module closure).
func (b *browser) token() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimPrefix(b.auth, "Bearer ")
}

// eval evaluates js in the page (awaiting a promise) and decodes the result into T.
func eval[T any](b *browser, what, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// waitFor waits until the JS condition holds (polled in the page).
func (b *browser) waitFor(what, cond string) {
	b.t.Helper()
	b.do("wait for "+what, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
}

// waitText waits until the element sel contains text.
func (b *browser) waitText(sel, text string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%q in %s", text, sel), fmt.Sprintf(`(document.querySelector(%q)?.textContent || "").includes(%q)`, sel, text))
}

// button clicks the enabled button whose text is label (found by its visible text, as a
// person reads it).
func (b *browser) button(label string) {
	b.t.Helper()
	b.click("button", fmt.Sprintf(`//button[normalize-space()=%q and not(@disabled)]`, label))
}

// link follows the link whose text is label.
func (b *browser) link(label string) {
	b.t.Helper()
	b.click("link", fmt.Sprintf(`//a[normalize-space()=%q]`, label))
}

func (b *browser) click(what, xpath string) {
	b.t.Helper()
	b.waitFor(what+" "+xpath, fmt.Sprintf(`!!document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue`, xpath))
	b.do("click "+xpath, chromedp.Click(xpath))
}

// fill focuses the input sel, clears it and types value with key events.
func (b *browser) fill(sel, value string) {
	b.t.Helper()
	b.waitFor(sel, fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false; el.value = ""; el.focus(); return document.activeElement === el })()`, sel))
	b.do("type into "+sel, chromedp.KeyEvent(value))
}

// screenshot saves the full page as .cache/screenshots/NN-name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	b.shot++
	if err := os.WriteFile(filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shot, name)), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// axe fails when the page shows null, undefined or NaN, then runs axe-core (testdata/axe-core, injected through DevTools) on the page and
// fails on serious or critical violations.
func (b *browser) axe(view string) {
	b.t.Helper()
	if junk := eval[string](b, "page text", `(document.body.innerText.match(/\b(null|undefined|NaN|\[object Object\])\b/) || [""])[0]`); junk != "" {
		b.t.Errorf("%s shows %q", view, junk)
	}
	if !eval[bool](b, "axe present", `typeof axe === "object"`) {
		src, err := os.ReadFile(filepath.Join("testdata", "axe-core", "axe.min.js"))
		if err != nil {
			b.t.Fatal(err)
		}
		eval[bool](b, "inject axe", string(src)+";true")
	}
	type violation struct {
		ID, Impact, Help string
		Nodes            []string
	}
	found := eval[[]violation](b, "axe.run", `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
		.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))})))`)
	for _, v := range found {
		b.t.Errorf("axe on %s: %s (%s): %s at %v", view, v.ID, v.Impact, v.Help, v.Nodes)
	}
}
