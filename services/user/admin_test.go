package user_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/bookstore-platform/bookstore/services/user"
)

// Someone registered the admin's e-mail (in another case) before the
// bootstrap: it is not promoted unless promotion is explicitly allowed.
func TestAdminBootstrapRefusesARegisteredAccount(t *testing.T) {
	t.Parallel()
	f := start(t)
	squatter := "Boss@Shop.Example"
	id := f.register(t, squatter, "squatter-pw")
	svc, err := user.New(f.srv.App.Deps(), user.Options{BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := svc.EnsureAdmin(ctx, "boss@shop.example", "admin-password-1", false); !errors.Is(err, user.ErrAdminEmailTaken) {
		t.Fatalf("EnsureAdmin over a registered account: %v, want ErrAdminEmailTaken", err)
	}
	var role string
	conn, err := pgx.Connect(ctx, f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT role FROM users WHERE id = $1`, id).Scan(&role); err != nil || role != "user" {
		t.Fatalf("squatter role %q (%v), want user", role, err)
	}
	f.srv.Post(t, "/api/users/login", "", map[string]string{"email": "boss@shop.example", "password": "admin-password-1"}).Expect(t, http.StatusUnauthorized)
	// The existing admin's password is still updated, and explicit promotion works.
	if err := svc.EnsureAdmin(ctx, adminEmail, "new-admin-password", false); err != nil {
		t.Fatalf("existing admin: %v", err)
	}
	if err := svc.EnsureAdmin(ctx, "boss@shop.example", "admin-password-1", true); err != nil {
		t.Fatalf("explicit promotion: %v", err)
	}
	if err := conn.QueryRow(ctx, `SELECT role FROM users WHERE id = $1`, id).Scan(&role); err != nil || role != "admin" {
		t.Fatalf("after explicit promotion role %q (%v)", role, err)
	}
}
