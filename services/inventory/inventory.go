// Package inventory is the inventory service: the book catalogue with prices
// and stock. Admins create, update and delete books; every authenticated user
// can list and read them. Stock reservations of orders are applied by the
// order saga through the same books and stock_ledger tables.
package inventory

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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

// Limits of the list endpoint and of the catalogue values.
const (
	DefaultLimit = 20
	MaxLimit     = 100
	MaxIDs       = 100
	MaxQuery     = 200 // bytes of the q search filter
	MaxValue     = 1_000_000_000
	maxText      = 500
)

// Options tune the service; the zero value is production.
type Options struct {
	// Topics names the Kafka topics (default events.DefaultTopics()); the
	// book events go to Topics.Books.
	Topics *events.Topics
}

// Service holds the inventory service's handlers.
type Service struct {
	pool  *pgxpool.Pool
	auth  *auth.Authenticator
	books string // topic of the book events
}

// Build returns the app builder of the inventory service: its API, whose
// catalogue changes publish book events, and the worker that publishes the
// books that have none yet (backfill of the order service's projection).
func Build(opts Options) app.Builder {
	return func(ctx context.Context, d app.Deps) (app.Service, error) {
		s := New(d, opts)
		log := d.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		return app.Service{
			Routes:  s.Routes,
			OpenAPI: openapiDoc,
			Workers: map[string]app.Worker{"catalog-backfill": backfill(d.Pool, log, s.books)},
		}, nil
	}
}

// New returns the service over d.
func New(d app.Deps, opts Options) *Service {
	topics := events.DefaultTopics()
	if opts.Topics != nil {
		topics = *opts.Topics
	}
	return &Service{pool: d.Pool, auth: d.Auth, books: topics.Books}
}

// Routes registers the API on r.
func (s *Service) Routes(r *mux.Router) {
	admin := func(f httpx.HandlerFunc) http.Handler { return s.auth.Require(f, auth.RoleAdmin) }
	anyone := func(f httpx.HandlerFunc) http.Handler { return s.auth.Require(f) }
	r.Handle("/api/books", admin(s.create)).Methods(http.MethodPost)
	r.Handle("/api/books", anyone(s.list)).Methods(http.MethodGet)
	r.Handle("/api/books/{id}", anyone(s.get)).Methods(http.MethodGet)
	r.Handle("/api/books/{id}", admin(s.update)).Methods(http.MethodPatch)
	r.Handle("/api/books/{id}", admin(s.delete)).Methods(http.MethodDelete)
}

// Book is the API representation of a book.
type Book struct {
	BookID string `json:"bookId"`
	Title  string `json:"title"`
	Author string `json:"author"`
	Price  int64  `json:"price"`
	Amount int64  `json:"amount"`
}

type bookInput struct {
	Title  *string `json:"title"`
	Author *string `json:"author"`
	Price  *int64  `json:"price"`
	Amount *int64  `json:"amount"`
}

// validate checks the fields present; with full set, all are required.
func (in *bookInput) validate(full bool) error {
	for _, f := range []struct {
		name string
		v    *string
	}{{"title", in.Title}, {"author", in.Author}} {
		if f.v == nil {
			if full {
				return httpx.BadRequest(f.name + " is required")
			}
			continue
		}
		*f.v = strings.TrimSpace(*f.v)
		if *f.v == "" || len(*f.v) > maxText {
			return httpx.BadRequest(fmt.Sprintf("%s must be 1 to %d characters", f.name, maxText))
		}
	}
	for _, f := range []struct {
		name string
		v    *int64
	}{{"price", in.Price}, {"amount", in.Amount}} {
		if f.v == nil {
			if full {
				return httpx.BadRequest(f.name + " is required")
			}
			continue
		}
		if *f.v < 0 || *f.v > MaxValue {
			return httpx.BadRequest(fmt.Sprintf("%s must be an integer between 0 and %d", f.name, MaxValue))
		}
	}
	if !full && in.Title == nil && in.Author == nil && in.Price == nil && in.Amount == nil {
		return httpx.BadRequest("nothing to update: give title, author, price or amount")
	}
	return nil
}

func (s *Service) create(w http.ResponseWriter, r *http.Request) error {
	var in bookInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	if err := in.validate(true); err != nil {
		return err
	}
	ctx := r.Context()
	id := uuid.Must(uuid.NewV7())
	err := database.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO books (id, title, author, price, amount) VALUES ($1, $2, $3, $4, $5)`,
			id, *in.Title, *in.Author, *in.Price, *in.Amount); err != nil {
			return fmt.Errorf("insert book: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO stock_ledger (book_id, delta, kind) VALUES ($1, $2, 'create')`, id, *in.Amount); err != nil {
			return fmt.Errorf("record stock: %w", err)
		}
		return publishBook(ctx, tx, s.books, events.TypeBookCreated,
			events.BookChanged{BookID: id.String(), Version: 1, Title: *in.Title, Author: *in.Author, Price: *in.Price})
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/books/"+id.String())
	httpx.WriteJSON(w, http.StatusCreated, map[string]string{"bookId": id.String()})
	return nil
}

// BookList is the response of GET /api/books.
type BookList = httpx.Page[Book]

type listCursor struct {
	After uuid.UUID `json:"a"`
}

func (s *Service) list(w http.ResponseWriter, r *http.Request) error {
	var cur listCursor
	limit, hasCursor, err := httpx.Paging(r, DefaultLimit, MaxLimit, &cur)
	if err != nil {
		return err
	}
	q := `SELECT id::text, title, author, price, amount FROM books WHERE ($1::uuid IS NULL OR id > $1)`
	args := []any{nil, limit + 1}
	if hasCursor {
		args[0] = cur.After
	}
	if raw, ok := r.URL.Query()["ids"]; ok {
		ids, err := parseIDs(raw)
		if err != nil {
			return err
		}
		args = append(args, ids)
		q += fmt.Sprintf(` AND id = ANY($%d)`, len(args))
	}
	if term, ok, err := searchTerm(r); err != nil {
		return err
	} else if ok {
		args = append(args, term)
		q += fmt.Sprintf(` AND (title ILIKE $%d ESCAPE '\' OR author ILIKE $%d ESCAPE '\')`, len(args), len(args))
	}
	q += ` ORDER BY id LIMIT $2`
	rows, err := s.pool.Query(r.Context(), q, args...)
	if err != nil {
		return fmt.Errorf("list books: %w", err)
	}
	books, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Book])
	if err != nil {
		return fmt.Errorf("list books: %w", err)
	}
	httpx.WriteJSON(w, http.StatusOK, httpx.NewPage(books, limit, func(last Book) any {
		return listCursor{After: uuid.MustParse(last.BookID)}
	}))
	return nil
}

// searchTerm is the ILIKE pattern of the q filter (title or author contains q, case
// insensitive; % and _ match themselves).
func searchTerm(r *http.Request) (string, bool, error) {
	v := strings.TrimSpace(r.URL.Query().Get("q"))
	if v == "" {
		return "", false, nil
	}
	if len(v) > MaxQuery {
		return "", false, httpx.BadRequest(fmt.Sprintf("q may be at most %d bytes", MaxQuery))
	}
	if err := httpx.Text("q", v); err != nil {
		return "", false, err
	}
	return "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(v) + "%", true, nil
}

// parseIDs parses the ids filter: comma-separated and/or repeated.
func parseIDs(raw []string) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	for _, v := range raw {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			id, err := uuid.Parse(s)
			if err != nil {
				return nil, httpx.BadRequest(fmt.Sprintf("ids: %q is not a book id", s))
			}
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, httpx.BadRequest("ids must list at least one book id")
	}
	if len(ids) > MaxIDs {
		return nil, httpx.BadRequest(fmt.Sprintf("ids may list at most %d book ids", MaxIDs))
	}
	return ids, nil
}

func errNoBook() error { return httpx.NotFound("book not found") }

func bookID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		return uuid.Nil, errNoBook()
	}
	return id, nil
}

func (s *Service) get(w http.ResponseWriter, r *http.Request) error {
	id, err := bookID(r)
	if err != nil {
		return err
	}
	rows, err := s.pool.Query(r.Context(), `SELECT id::text, title, author, price, amount FROM books WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("get book: %w", err)
	}
	b, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Book])
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoBook()
	}
	if err != nil {
		return fmt.Errorf("get book: %w", err)
	}
	httpx.WriteJSON(w, http.StatusOK, b)
	return nil
}

// update applies a partial update. amount sets the stock (never below 0);
// the change is recorded in stock_ledger as an adjustment.
func (s *Service) update(w http.ResponseWriter, r *http.Request) error {
	id, err := bookID(r)
	if err != nil {
		return err
	}
	var in bookInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	if err := in.validate(false); err != nil {
		return err
	}
	ctx := r.Context()
	var b Book
	err = database.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var old int64
		if err := tx.QueryRow(ctx, `SELECT amount FROM books WHERE id = $1 FOR UPDATE`, id).Scan(&old); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errNoBook()
			}
			return fmt.Errorf("lock book: %w", err)
		}
		// A change of the catalogue fields (not of the stock alone) is a
		// new catalog_version and a BookUpdated event.
		catalogue := in.Title != nil || in.Author != nil || in.Price != nil
		var version int64
		if err := tx.QueryRow(ctx, `UPDATE books SET
				title  = COALESCE($2, title),
				author = COALESCE($3, author),
				price  = COALESCE($4, price),
				amount = COALESCE($5, amount),
				catalog_version = catalog_version + CASE WHEN $6 THEN 1 ELSE 0 END,
				updated_at = now()
			WHERE id = $1
			RETURNING id::text, title, author, price, amount, catalog_version`,
			id, in.Title, in.Author, in.Price, in.Amount, catalogue).Scan(&b.BookID, &b.Title, &b.Author, &b.Price, &b.Amount, &version); err != nil {
			return fmt.Errorf("update book: %w", err)
		}
		if catalogue {
			if err := publishBook(ctx, tx, s.books, events.TypeBookUpdated,
				events.BookChanged{BookID: b.BookID, Version: version, Title: b.Title, Author: b.Author, Price: b.Price}); err != nil {
				return err
			}
		}
		if delta := b.Amount - old; delta != 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO stock_ledger (book_id, delta, kind) VALUES ($1, $2, 'adjust')`, id, delta); err != nil {
				return fmt.Errorf("record stock adjustment: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, b)
	return nil
}

func (s *Service) delete(w http.ResponseWriter, r *http.Request) error {
	id, err := bookID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	err = database.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var version int64
		err := tx.QueryRow(ctx, `DELETE FROM books WHERE id = $1 RETURNING catalog_version`, id).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoBook()
		}
		if err != nil {
			return fmt.Errorf("delete book: %w", err)
		}
		return publishBook(ctx, tx, s.books, events.TypeBookDeleted, events.BookChanged{BookID: id.String(), Version: version + 1})
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
