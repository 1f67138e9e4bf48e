package app

import (
	"testing"

	"github.com/bookstore-platform/bookstore/internal/testenv"
)

func TestRunCommands(t *testing.T) {
	if code := run("user", []string{"bogus"}, nil); code != 2 {
		t.Fatalf("unknown command: exit %d, want 2", code)
	}
	if code := run("user", []string{"migrate", "extra"}, nil); code != 2 {
		t.Fatalf("extra argument: exit %d, want 2", code)
	}
	t.Setenv("BOOKSTORE_LOG_LEVEL", "loud")
	if code := run("user", []string{"migrate"}, nil); code != 1 {
		t.Fatalf("invalid config: exit %d, want 1", code)
	}
	t.Setenv("BOOKSTORE_LOG_LEVEL", "error")
	t.Setenv("BOOKSTORE_DATABASE_URL", testenv.Postgres(t))
	for range 2 {
		if code := run("order", []string{"migrate"}, nil); code != 0 {
			t.Fatalf("order migrate: exit %d, want 0", code)
		}
	}
	// serve without JWT keys fails at start, clearly, not later.
	if code := run("token", nil, nil); code != 1 {
		t.Fatalf("serve without keys: exit %d, want 1", code)
	}
}
