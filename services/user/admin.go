package user

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
)

// ErrAdminEmailTaken is EnsureAdmin's answer when a non-admin account was
// registered with the admin e-mail and promotion was not allowed.
var ErrAdminEmailTaken = errors.New("a non-admin account is registered with the admin e-mail")

// bootstrapAdmin ensures the configured admin account at start. An account
// someone registered with the admin e-mail is not promoted (it would keep its
// id and history) unless BOOKSTORE_ADMIN_PROMOTE_EXISTING=true; the service
// then runs without an admin and says so in the log.
func (s *Service) bootstrapAdmin(ctx context.Context, d app.Deps) error {
	err := s.EnsureAdmin(ctx, d.Config.AdminEmail, d.Config.AdminPassword, d.Config.AdminPromoteExisting)
	if errors.Is(err, ErrAdminEmailTaken) {
		d.Logger.ErrorContext(ctx, "admin account NOT ensured: an ordinary account is registered with the admin e-mail; "+
			"check who registered it, then set BOOKSTORE_ADMIN_PROMOTE_EXISTING=true to promote it or choose another BOOKSTORE_ADMIN_EMAIL",
			"email", d.Config.AdminEmail)
		return nil
	}
	if err != nil {
		return err
	}
	d.Logger.InfoContext(ctx, "admin account ensured", "email", d.Config.AdminEmail)
	return nil
}

// EnsureAdmin creates the admin account, or sets the password of the
// existing admin account with that e-mail (case-insensitively). An existing
// non-admin account with that e-mail is promoted only with promoteExisting;
// else ErrAdminEmailTaken.
func (s *Service) EnsureAdmin(ctx context.Context, email, password string, promoteExisting bool) error {
	email = strings.TrimSpace(email)
	if !validEmail(email) {
		return fmt.Errorf("admin email %q is not a valid address", email)
	}
	if err := checkPassword(password); err != nil {
		return fmt.Errorf("admin password: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return fmt.Errorf("hash admin password: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO users (id, email, password_hash, role) VALUES ($1, $2, $3, 'admin')
		ON CONFLICT ((lower(email))) DO UPDATE SET role = 'admin', password_hash = EXCLUDED.password_hash, updated_at = now()
		WHERE users.role = 'admin' OR $4`,
		uuid.Must(uuid.NewV7()), email, string(hash), promoteExisting)
	if err != nil {
		return fmt.Errorf("ensure admin: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrAdminEmailTaken
	}
	return nil
}
