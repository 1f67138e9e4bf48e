package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bookstore-platform/bookstore/internal/storefront"
)

const (
	loginForm    = `form[aria-labelledby="login-title"]`
	registerForm = `form[aria-labelledby="register-title"]`
)

// TestStorefrontInBrowser is the seed's flow as a person does it in the storefront, in
// headless Chromium through the entry point: an admin adds a book; a shopper registers,
// tops up, orders it and sees Completed and the new balance; ordering the last copy again
// fails with the reason; a revoked session and a logout both end at the login page and
// the old token is refused; the admin edits and restocks; the phone-width layout, where a
// shopper without tokens is warned and the order fails for the balance. Every
// view passes axe-core without serious or critical violations. Screenshots of each step
// go to .cache/screenshots/. Budget: 3 minutes (about 20 s on a quiet 2-core machine).
func TestStorefrontInBrowser(t *testing.T) {
	s := newSystem(t)
	base := s.entryPoint()
	b := newBrowser(t, 3*time.Minute)

	// The page is the storefront with its CSP; logged out, it asks for a login.
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != storefront.CSP {
		t.Fatalf("GET / = %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	// The user service serves the same page (the Ingress and HTTPRoutes route / there),
	// and nothing internal besides.
	if viaGateway, viaUser := body(t, base+"/"), body(t, s.svc("user").URL+"/"); viaGateway != viaUser {
		t.Error("the user service serves another page than the gateway")
	}
	b.do("open the store", chromedp.Navigate(base+"/"))
	b.waitFor("login form", fmt.Sprintf(`!!document.querySelector(%q)`, loginForm))
	if eval[bool](b, "inline script", `(() => { const s = document.createElement("script"); s.textContent = "window.__injected = 1"; document.head.append(s); return window.__injected === 1 })()`) {
		t.Error("an injected inline script ran: the CSP does not block it")
	}
	b.axe("login")
	b.screenshot("login")

	// Admin logs in with the keyboard only (email, Tab, password, Enter) and adds a book.
	b.do("focus email", chromedp.Focus(chromedp.CSS(loginForm+` input[name="email"]`)), chromedp.KeyEvent(adminEmail), chromedp.KeyEvent("\t"))
	if name := eval[string](b, "focus", `document.activeElement.name`); name != "password" {
		t.Errorf("Tab from the email field went to %q, want the password", name)
	}
	b.do("type password", chromedp.KeyEvent(adminPassword), chromedp.KeyEvent("\r"))
	b.waitText("#nav", "Admin")
	b.link("Admin")
	b.fill(`input[name="title"]`, "Dune")
	b.fill(`input[name="author"]`, "Frank Herbert")
	b.fill(`input[name="price"]`, "20")
	b.fill(`input[name="amount"]`, "1")
	b.button("Add book")
	b.waitText(`form[aria-labelledby="add-title"]`, "Added “Dune”")
	b.waitText(".admin-books", "Dune")
	b.axe("admin")
	b.screenshot("admin-added-book")
	b.button("Log out")
	b.waitFor("login form", fmt.Sprintf(`!!document.querySelector(%q)`, loginForm))

	// A shopper registers (and is logged in), tops up 1500.
	b.fill(registerForm+` input[name="email"]`, "shopper@example.com")
	b.fill(registerForm+` input[name="password"]`, "shopper-password")
	b.button("Create account")
	b.waitText("#balance", "Balance: 0 tokens")
	b.fill(`input[name="amount"]`, "1500")
	b.button("Top up")
	b.waitText("#balance", "Balance: 1,500 tokens")
	b.axe("account")
	b.screenshot("topped-up")
	noTokenInPage(t, b)

	// Search, put the book in the basket, order it, watch it complete.
	b.link("Books")
	b.fill(`input[name="q"]`, "dune")
	b.button("Search")
	b.waitText(".cards", "1 in stock")
	b.button("Add “Dune” to basket")
	b.waitText("#nav", "Basket (1)")
	b.axe("books")
	b.screenshot("catalogue")
	b.link("Basket (1)")
	b.waitText("#basket-total", "20 tokens")
	b.axe("basket")
	eval[bool](b, "watch statuses", `(() => { window.seen = [];
		new MutationObserver(() => { const s = document.querySelector("#order-status .badge")?.textContent;
			if (s && window.seen.at(-1) !== s) window.seen.push(s) }).observe(document.body, {subtree: true, childList: true, characterData: true});
		return true })()`)
	b.button("Place order for 20 tokens")
	b.waitText("#order-status", "Completed")
	if seen := eval[[]string](b, "statuses seen", `window.seen`); seen[len(seen)-1] != "Completed" || (len(seen) == 2 && seen[0] != "Pending") || len(seen) > 2 {
		t.Errorf("the order page showed %v, want Pending then Completed", seen)
	} else {
		t.Logf("the order page showed %v without a reload", seen)
	}
	b.axe("order completed")
	b.screenshot("order-completed")

	// Ordering the last copy again fails with the reason; the catalogue says sold out.
	b.button("Order the same books again")
	b.waitText("#order-status", "Failed")
	b.waitText("#order-status", "Reason: out of stock")
	b.axe("order failed")
	b.screenshot("order-failed")
	b.link("Books")
	b.waitText(".cards", "Out of stock")
	if !eval[bool](b, "sold-out button", `document.querySelector(".cards button").disabled`) {
		t.Error("the sold-out book can still be added to the basket")
	}
	b.link("Account")
	b.waitText("#balance", "Balance: 1,480 tokens")
	b.waitText("table", "Order payment")
	b.link("Orders")
	b.waitText("table", "out of stock")
	b.waitText("table", "Completed")
	b.axe("orders")
	b.screenshot("orders")

	// A session revoked elsewhere sends the page back to the login, saying why.
	revoked := b.token()
	logoutDirectly(t, base, revoked)
	b.link("Account")
	b.waitText("#notice", "expired or was ended elsewhere")
	b.waitFor("login form", fmt.Sprintf(`!!document.querySelector(%q)`, loginForm))
	b.screenshot("session-revoked")

	// Log in again and out with the button: the old token is refused by the API.
	b.fill(loginForm+` input[name="email"]`, "shopper@example.com")
	b.fill(loginForm+` input[name="password"]`, "shopper-password")
	b.button("Log in")
	b.waitText("#nav", "Log out")
	b.waitText(".cards", "Dune")
	old := b.token()
	if old == revoked || old == "" {
		t.Fatalf("no new session token after the second login")
	}
	b.button("Log out")
	b.waitText("#notice", "You are logged out.")
	for _, path := range []string{"/api/users/me", "/api/tokens/balance", "/api/orders"} {
		if code := getStatus(t, base+path, old); code != http.StatusUnauthorized {
			t.Errorf("GET %s with the logged-out token = %d, want 401", path, code)
		}
	}

	// The admin edits the price and restocks; the catalogue shows both.
	b.fill(loginForm+` input[name="email"]`, adminEmail)
	b.fill(loginForm+` input[name="password"]`, adminPassword)
	b.button("Log in")
	b.waitText("#nav", "Admin")
	b.link("Admin")
	b.waitText(".admin-books", "Dune")
	b.fill(`form[aria-label="Edit Dune"] input[name="price"]`, "25")
	b.button("Save “Dune”")
	b.waitText(`form[aria-label="Edit Dune"]`, "Saved: 0 in stock.")
	b.fill(`form[aria-label="Restock Dune"] input[name="copies"]`, "4")
	b.button("Restock “Dune”")
	b.waitText(`form[aria-label="Restock Dune"]`, "Restocked: 4 in stock.")
	b.waitText(`section[aria-labelledby="admin-orders"]`, "out of stock")
	b.axe("admin after restock")
	b.screenshot("admin-restocked")
	b.link("Books")
	b.waitText(".cards", "4 in stock")
	b.waitText(".cards", "25 tokens")

	// Phone width: one column, nothing wider than the screen.
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.waitFor("phone layout", `window.innerWidth === 390`)
	type layout struct{ ScrollWidth, Width, Card, NavRight float64 }
	l := eval[layout](b, "layout", `({scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth,
		card: document.querySelector(".card").getBoundingClientRect().width,
		navRight: Math.max(...[...document.querySelectorAll("#nav a, #nav button")].map(e => e.getBoundingClientRect().right))})`)
	if l.ScrollWidth > l.Width || l.NavRight > l.Width || l.Card < 0.8*l.Width {
		t.Errorf("phone layout %+v: want no horizontal overflow and full-width cards", l)
	}
	b.axe("books on a phone")
	b.screenshot("phone")

	// On the phone, a new shopper without tokens is warned in the basket, and the order
	// fails for the balance, saying so.
	b.button("Log out")
	b.fill(registerForm+` input[name="email"]`, "broke@example.com")
	b.fill(registerForm+` input[name="password"]`, "broke-password")
	b.button("Create account")
	b.waitText("#balance", "Balance: 0 tokens")
	b.link("Books")
	b.button("Add “Dune” to basket")
	b.link("Basket (1)")
	b.waitText("[role=alert]", "Insufficient balance")
	b.button("Place order for 25 tokens")
	b.waitText("#order-status", "Reason: insufficient balance")
	b.axe("order failed for the balance on a phone")
	b.screenshot("phone-insufficient-balance")
}

// noTokenInPage: the session token is in no storage, cookie, global or markup.
func noTokenInPage(t *testing.T, b *browser) {
	t.Helper()
	tok := b.token()
	if tok == "" {
		t.Fatal("the page sent no Authorization header")
	}
	js := fmt.Sprintf(`(() => { const tok = %q;
		const globals = Object.getOwnPropertyNames(window).filter(k => { try { return typeof window[k] === "string" && window[k].includes(tok) } catch { return false } });
		return {storage: localStorage.length + sessionStorage.length, cookie: document.cookie, globals, html: document.documentElement.outerHTML.includes(tok)} })()`, tok)
	type found struct {
		Storage int
		Cookie  string
		Globals []string
		HTML    bool
	}
	if f := eval[found](b, "token exposure", js); f.Storage != 0 || f.Cookie != "" || len(f.Globals) != 0 || f.HTML {
		t.Errorf("the token is readable by page script: %+v", f)
	}
}

func body(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func getStatus(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// logoutDirectly revokes token through the API, as a logout in another tab would.
func logoutDirectly(t *testing.T, base, token string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/users/logout", strings.NewReader(""))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout = %d, want 204", resp.StatusCode)
	}
}
