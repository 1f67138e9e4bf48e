package inventory_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/services/inventory"
)

// bookEvent is one book event in the outbox.
type bookEvent struct {
	Type string
	Data events.BookChanged
}

// bookEvents returns the book events of id in the outbox, in order.
func bookEvents(t *testing.T, dsn, id string) []bookEvent {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT payload FROM outbox WHERE topic = $1 AND key = $2 ORDER BY id`, events.TopicBooks, id)
	if err != nil {
		t.Fatal(err)
	}
	payloads, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	var out []bookEvent
	for _, p := range payloads {
		env, err := events.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		var b events.BookChanged
		if err := json.Unmarshal(env.Data, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, bookEvent{env.Type, b})
	}
	return out
}

// Every catalogue change is a book event with a growing version, written in
// the change's transaction; a stock-only change is none.
func TestBookEvents(t *testing.T) {
	t.Parallel()
	f := start(t)
	id := f.create(t, "Dune", 12, 5)
	f.patch(t, id, f.admin, map[string]any{"amount": 9}).Expect(t, 200)
	f.patch(t, id, f.admin, map[string]any{"price": 15}).Expect(t, 200)
	f.patch(t, id, f.admin, map[string]any{"price": -1}).Expect(t, 400)
	del := apptest.Request{Method: http.MethodDelete, Path: "/api/books/" + id, Token: f.admin}
	f.srv.Do(t, del).Expect(t, 204)
	f.srv.Do(t, del).Expect(t, 404)

	want := []bookEvent{
		{events.TypeBookCreated, events.BookChanged{BookID: id, Version: 1, Title: "Dune", Author: "Author of Dune", Price: 12}},
		{events.TypeBookUpdated, events.BookChanged{BookID: id, Version: 2, Title: "Dune", Author: "Author of Dune", Price: 15}},
		{events.TypeBookDeleted, events.BookChanged{BookID: id, Version: 3}},
	}
	if got := bookEvents(t, f.dsn, id); !reflect.DeepEqual(got, want) {
		t.Fatalf("book events\n got %+v\nwant %+v", got, want)
	}
}

// Books that have no event yet (rows from before book events, as the
// migration leaves them) are published once by the service at start.
func TestBackfillPublishesUnpublishedBooks(t *testing.T) {
	t.Parallel()
	env := apptest.NewEnv(t)
	cfg := env.Config(t, "inventory")
	apptest.Start(t, cfg, inventory.Build(inventory.Options{})) // migrated
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	old := uuid.NewString()
	if _, err := conn.Exec(ctx, `INSERT INTO books (id, title, author, price, amount, catalog_published) VALUES ($1, 'Old', 'Someone', 7, 3, false)`, old); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a restart, then another: published once
		apptest.Start(t, cfg, inventory.Build(inventory.Options{}))
	}
	want := []bookEvent{{events.TypeBookCreated, events.BookChanged{BookID: old, Version: 1, Title: "Old", Author: "Someone", Price: 7}}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := bookEvents(t, cfg.DatabaseURL, old)
		if reflect.DeepEqual(got, want) {
			break
		}
		if time.Now().After(deadline) || len(got) > 1 {
			t.Fatalf("backfill events %+v, want %+v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the second server's backfill has run too
	if got := bookEvents(t, cfg.DatabaseURL, old); !reflect.DeepEqual(got, want) {
		t.Fatalf("after two starts: %+v, want one BookCreated", got)
	}
}
