// Package user is the user service: registration, login (it alone signs
// tokens), logout (revocation + UserLoggedOut event) and the caller's
// profile.
package user

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/database"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the service's OpenAPI 3 document.
func OpenAPI() []byte { return openapiDoc }

// Options tune the service; the zero value is production.
type Options struct {
	// Topics names the Kafka topics (default events.DefaultTopics()).
	Topics *events.Topics
	// BcryptCost defaults to bcrypt.DefaultCost; tests lower it.
	BcryptCost int
}

// Revoker records a revoked token id until the token expires.
type Revoker interface {
	Revoke(ctx context.Context, jti string, expiresAt time.Time) error
}

// Service holds the user service's handlers.
type Service struct {
	pool    *pgxpool.Pool
	signer  *auth.Signer
	auth    *auth.Authenticator
	revoker Revoker
	topics  events.Topics
	cost    int
	log     *slog.Logger
	// dummyHash is compared against when the email is unknown, so that
	// unknown email and wrong password take the same time.
	dummyHash []byte
	guard     *guard
}

// Build returns the app builder of the user service. At start it ensures the
// admin account of BOOKSTORE_ADMIN_EMAIL / BOOKSTORE_ADMIN_PASSWORD.
func Build(opts Options) app.Builder {
	return func(ctx context.Context, d app.Deps) (app.Service, error) {
		s, err := New(d, opts)
		if err != nil {
			return app.Service{}, err
		}
		if d.Config.AdminEmail != "" {
			if err := s.bootstrapAdmin(ctx, d); err != nil {
				return app.Service{}, err
			}
		}
		return app.Service{Routes: s.Routes, OpenAPI: openapiDoc}, nil
	}
}

// New returns the service over d.
func New(d app.Deps, opts Options) (*Service, error) {
	if d.Config.JWTPrivateKey == nil {
		return nil, errors.New("user service needs the JWT private key")
	}
	cost := opts.BcryptCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	topics := events.DefaultTopics()
	if opts.Topics != nil {
		topics = *opts.Topics
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("not-a-real-password"), cost)
	if err != nil {
		return nil, fmt.Errorf("dummy hash: %w", err)
	}
	return &Service{
		pool:      d.Pool,
		signer:    auth.NewSigner(d.Config.JWTPrivateKey, d.Config.JWTTTL).WithAudience(d.Config.JWTAudience),
		auth:      d.Auth,
		revoker:   d.Revocations,
		topics:    topics,
		cost:      cost,
		log:       d.Logger,
		dummyHash: dummy,
		guard:     newGuard(d.Redis, d.Config.Limits),
	}, nil
}

// Routes registers the API on r.
func (s *Service) Routes(r *mux.Router) {
	r.Handle("/api/users/register", httpx.Handle(s.register)).Methods(http.MethodPost)
	r.Handle("/api/users/login", httpx.Handle(s.login)).Methods(http.MethodPost)
	r.Handle("/api/users/logout", s.auth.Require(httpx.Handle(s.logout))).Methods(http.MethodPost)
	r.Handle("/api/users/me", s.auth.Require(httpx.Handle(s.me))).Methods(http.MethodGet)
}

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type registered struct {
	UserID string `json:"userId"`
	Email  string `json:"email"`
}

func validEmail(e string) bool {
	if len(e) > 254 {
		return false
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return false
	}
	_, domain, ok := strings.Cut(e, "@")
	return ok && domain != "" && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

func checkPassword(p string) error {
	if len([]rune(p)) < 8 {
		return httpx.BadRequest("password must be at least 8 characters")
	}
	if len(p) > 72 {
		return httpx.BadRequest("password must be at most 72 bytes")
	}
	return nil
}

func (s *Service) register(w http.ResponseWriter, r *http.Request) error {
	var in credentials
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	in.Email = strings.TrimSpace(in.Email)
	if !validEmail(in.Email) {
		return httpx.BadRequest("email is not a valid address")
	}
	if err := checkPassword(in.Password); err != nil {
		return err
	}
	if err := s.guard.admit(w, r, s.guard.registerClient, s.guard.registerAccount, in.Email); err != nil {
		return err
	}
	var hash []byte
	var err error
	if busy := s.guard.bcrypt(r.Context(), w, func() {
		hash, err = bcrypt.GenerateFromPassword([]byte(in.Password), s.cost)
	}); busy != nil {
		return busy
	}
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	id := uuid.Must(uuid.NewV7())
	_, err = s.pool.Exec(r.Context(), `INSERT INTO users (id, email, password_hash, role) VALUES ($1, $2, $3, 'user')`,
		id, in.Email, string(hash))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return httpx.Conflict("email is already registered")
	}
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	w.Header().Set("Location", "/api/users/me")
	httpx.WriteJSON(w, http.StatusCreated, registered{UserID: id.String(), Email: in.Email})
	return nil
}

type loginResponse struct {
	Email     string    `json:"email"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func (s *Service) login(w http.ResponseWriter, r *http.Request) error {
	var in credentials
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.guard.admit(w, r, s.guard.loginClient, s.guard.loginAccount, in.Email); err != nil {
		return err
	}
	var (
		id    uuid.UUID
		email string
		hash  string
		role  string
	)
	err := s.pool.QueryRow(r.Context(), `SELECT id, email, password_hash, role FROM users WHERE lower(email) = lower($1)`,
		strings.TrimSpace(in.Email)).Scan(&id, &email, &hash, &role)
	badCredentials := httpx.Unauthorized("invalid email or password")
	if errors.Is(err, pgx.ErrNoRows) {
		if busy := s.guard.bcrypt(r.Context(), w, func() {
			_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(in.Password))
		}); busy != nil {
			return busy
		}
		return badCredentials
	}
	if err != nil {
		return fmt.Errorf("find user: %w", err)
	}
	var mismatch error
	if busy := s.guard.bcrypt(r.Context(), w, func() {
		mismatch = bcrypt.CompareHashAndPassword([]byte(hash), []byte(in.Password))
	}); busy != nil {
		return busy
	}
	if mismatch != nil {
		return badCredentials
	}
	// A successful login does not count against the account's limit.
	if err := s.guard.loginAccount.Give(r.Context(), accountKey(in.Email)); err != nil {
		s.log.WarnContext(r.Context(), "rate limit: cannot return the attempt", "error", err)
	}
	tok, claims, err := s.signer.Sign(id.String(), role)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, loginResponse{Email: email, Token: tok, ExpiresAt: claims.ExpiresAt.Time.UTC()})
	return nil
}

// logout revokes the caller's token: the UserLoggedOut event goes into the
// outbox and the jti into Redis in one step; if Redis fails the transaction
// is rolled back and the client gets 503 (logout did not happen).
func (s *Service) logout(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequestPrincipal(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	env, err := events.New(events.TypeUserLoggedOut, events.UserLoggedOut{JTI: p.JTI, UserID: p.UserID, ExpiresAt: p.ExpiresAt.UTC()})
	if err != nil {
		return err
	}
	err = database.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := events.Enqueue(ctx, tx, s.topics.Users, p.UserID, env); err != nil {
			return err
		}
		if err := s.revoker.Revoke(ctx, p.JTI, p.ExpiresAt); err != nil {
			return httpx.Unavailable("cannot revoke token", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type profile struct {
	UserID string `json:"userId"`
	Email  string `json:"email"`
	Role   string `json:"role"`
}

func (s *Service) me(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequestPrincipal(r)
	if err != nil {
		return err
	}
	var out profile
	err = s.pool.QueryRow(r.Context(), `SELECT id::text, email, role FROM users WHERE id = $1`, p.UserID).
		Scan(&out.UserID, &out.Email, &out.Role)
	if errors.Is(err, pgx.ErrNoRows) {
		return httpx.NotFound("user not found")
	}
	if err != nil {
		return fmt.Errorf("find user: %w", err)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
