package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// EnvChromium names the Chromium binary the browser tests drive (default: chromium on
// PATH, Debian's /usr/bin/chromium, which hack/install-servers.sh installs).
const EnvChromium = "BOOKSTORE_TEST_CHROMIUM"

// Chromium returns the path of Chromium for headless browser tests, or skips the test
// (fails it with CI=true) when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvChromium); p != "" {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
		missing(t, "Chromium", EnvChromium+"="+p+" does not exist")
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	missing(t, "Chromium", "no chromium on PATH; `apt-get install chromium` (hack/install-servers.sh does)")
	return ""
}
