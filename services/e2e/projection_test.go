package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/services/order"
)

// projected waits until the order service's catalogue projection holds
// book as wanted (price, deleted, version).
func (s *system) projected(book string, price int64, deleted bool, version int64) {
	s.t.Helper()
	eventually(s.t, "book "+book+" projected", 30*time.Second, func() bool {
		return s.scalar("order", `SELECT count(*) FROM catalog_books WHERE book_id = $1 AND price = $2 AND deleted = $3 AND version = $4`,
			book, price, deleted, version) == 1
	})
}

// The order service prices orders from its projection of the catalogue:
// it catches up with creates, price changes and deletes; it places orders
// while the inventory service is down; the price charged is the one of
// OrderCreated; a deleted book is a 422; a book not projected yet is priced
// by the inventory API; books from before book events are backfilled when
// the inventory service starts.
func TestCatalogProjection(t *testing.T) {
	s := newSystem(t)
	ctx := context.Background()
	admin := s.admin()
	alice := s.register("projection@example.com")
	s.topUp(alice, 100)

	book := s.createBook(admin, 5, 10)
	s.projected(book, 5, false, 1)
	s.svc("inventory").Do(t, apptest.Request{Method: http.MethodPatch, Path: "/api/books/" + book, Token: admin.Token,
		Body: map[string]any{"price": 7}}).Expect(t, http.StatusOK)
	s.projected(book, 7, false, 2)

	// No synchronous call: the inventory service is down, the order is
	// placed (and decided once inventory is back), charged the projected price.
	if err := s.stop("inventory"); err != nil {
		t.Fatal(err)
	}
	id := s.placeOrder(alice, book, book)
	if o := s.order(alice, id); o.TotalPrice != 14 || len(o.Items) != 1 || o.Items[0].Price != 7 || o.Items[0].Quantity != 2 {
		t.Fatalf("order placed while inventory was down: %+v, want 2 × 7", o)
	}
	s.start("inventory", nil)
	s.waitReady()
	if o := s.final(alice, id); o.Status != order.StatusCompleted {
		t.Fatalf("order %s, want Completed", o.Status)
	}
	if b := s.balance(alice); b != 86 {
		t.Fatalf("balance %d, want 100 - 14", b)
	}

	// Deleted: the projection's tombstone refuses it.
	s.svc("inventory").Do(t, apptest.Request{Method: http.MethodDelete, Path: "/api/books/" + book, Token: admin.Token}).
		Expect(t, http.StatusNoContent)
	s.projected(book, 0, true, 3)
	r := s.svc("order").Post(t, "/api/orders", alice.Token, map[string]any{"bookIds": []string{book}}).
		Expect(t, http.StatusUnprocessableEntity)
	if !strings.Contains(string(r.Body), book) {
		t.Fatalf("422 %s does not name the deleted book", r.Body)
	}

	// Not projected yet (a row without its event): priced by the inventory API.
	fresh := uuid.NewString()
	if _, err := s.pools["inventory"].Exec(ctx, `INSERT INTO books (id, title, author, price, amount) VALUES ($1, 'Fresh', 'New', 3, 5)`, fresh); err != nil {
		t.Fatal(err)
	}
	id = s.placeOrder(alice, fresh)
	if o := s.final(alice, id); o.Status != order.StatusCompleted || o.TotalPrice != 3 {
		t.Fatalf("order of a book not projected: %s total %d, want Completed at 3", o.Status, o.TotalPrice)
	}
	if n := s.scalar("order", `SELECT count(*) FROM catalog_books WHERE book_id = $1`, fresh); n != 0 {
		t.Fatalf("book without event projected (%d rows)", n)
	}
	// Unknown everywhere: 422, nothing stored.
	before := s.scalar("order", `SELECT count(*) FROM orders`)
	s.svc("order").Post(t, "/api/orders", alice.Token, map[string]any{"bookIds": []string{uuid.NewString()}}).
		Expect(t, http.StatusUnprocessableEntity)
	if after := s.scalar("order", `SELECT count(*) FROM orders`); after != before {
		t.Fatalf("orders %d → %d after a 422", before, after)
	}

	// Backfill: a book without event (as the migration leaves existing
	// ones) is published when the inventory service starts.
	if _, err := s.pools["inventory"].Exec(ctx, `UPDATE books SET catalog_published = false WHERE id = $1`, fresh); err != nil {
		t.Fatal(err)
	}
	if err := s.stop("inventory"); err != nil {
		t.Fatal(err)
	}
	s.start("inventory", nil)
	s.projected(fresh, 3, false, 1)
}
