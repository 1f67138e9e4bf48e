package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/services/order"
)

// replica starts another process of service name sharing its database and
// consumer group (workers only: a standby relay, a second consumer that
// triggers a rebalance when it joins and when it leaves) and returns the
// function that stops it.
func (s *system) replica(name string) func() {
	t := s.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, s.cfg[name], apptest.Logger(t), s.builders(name, eventbus.Config{Topics: &s.topics})...)
	if err != nil {
		cancel()
		t.Fatalf("start a replica of %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- a.RunWorkers(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("replica of %s: %v", name, err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("replica of %s did not stop", name)
			}
			a.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

// TestConcurrentOrdersKeepInvariants: 50 users with enough balance race
// with 200 orders for a book with 10 copies. Exactly 10 orders complete,
// the rest fail out of stock, the stock ends at 0, no order stays Pending,
// and no token is created or lost: balances + completed totals = top-ups.
// Once with one process per service, once with two consumers in each
// saga group (token, inventory, order) that join as the orders start and
// leave before they are all decided: rebalances on the way.
func TestConcurrentOrdersKeepInvariants(t *testing.T) {
	for _, replicas := range []int{1, 2} {
		t.Run(fmt.Sprintf("replicas=%d", replicas), func(t *testing.T) { concurrentOrders(t, replicas) })
	}
}

func concurrentOrders(t *testing.T, replicas int) {
	const (
		users         = 50
		ordersPerUser = 4
		copies        = 10
		price         = 7
		topUp         = 100
	)
	s := newSystem(t)
	admin := s.admin()
	book := s.createBook(admin, price, copies)
	accounts := make([]account, users)
	for i := range accounts {
		id := uuid.NewString()
		accounts[i] = account{ID: id, Token: s.env.Keys.Token(t, id, auth.RoleUser, 10*time.Minute)}
		s.topUp(accounts[i], topUp)
	}
	var stops []func()
	if replicas == 2 {
		for _, name := range []string{"token", "inventory", "order"} {
			stops = append(stops, s.replica(name))
		}
	}

	type placed struct {
		who account
		id  string
	}
	var (
		mu     sync.Mutex
		orders []placed
		wg     sync.WaitGroup
		start  = make(chan struct{})
	)
	for _, a := range accounts {
		for range ordersPerUser {
			wg.Go(func() {
				<-start
				req, _ := http.NewRequest(http.MethodPost, s.svc("order").URL+"/api/orders",
					strings.NewReader(fmt.Sprintf(`{"bookIds":[%q]}`, book)))
				req.Header.Set("Authorization", "Bearer "+a.Token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := s.svc("order").Client.Do(req)
				if err != nil {
					t.Errorf("place order: %v", err)
					return
				}
				defer resp.Body.Close()
				var out struct {
					OrderID string `json:"orderId"`
				}
				if resp.StatusCode != http.StatusAccepted {
					t.Errorf("place order: status %d", resp.StatusCode)
					return
				}
				if err := decodeJSON(resp, &out); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				orders = append(orders, placed{a, out.OrderID})
				mu.Unlock()
			})
		}
	}
	close(start)
	wg.Wait()
	if len(orders) != users*ordersPerUser {
		t.Fatalf("placed %d orders, want %d", len(orders), users*ordersPerUser)
	}
	for _, stop := range stops {
		stop() // its partitions move back to the first process mid-saga
	}

	completed := 0
	var completedTotal int64
	for _, p := range orders {
		// Up to the saga's deadline (2m): with rebalances on a loaded
		// machine an order may take longer than final's 30 s, and an order
		// that really got stuck would end Failed "not decided", not Completed
		// or out of stock.
		var o order.Order
		eventually(t, "order "+p.id+" final", 2*time.Minute, func() bool {
			o = s.order(p.who, p.id)
			return o.Status != order.StatusPending
		})
		switch o.Status {
		case order.StatusCompleted:
			completed++
			completedTotal += o.TotalPrice
		case order.StatusFailed:
			if !strings.Contains(o.FailReason, events.ReasonOutOfStock) {
				t.Errorf("order %s failed with %q, want %q (every user can afford it)", o.ID, o.FailReason, events.ReasonOutOfStock)
			}
		}
	}
	if completed != copies {
		t.Errorf("%d orders completed, want exactly %d", completed, copies)
	}
	if n := s.stock(admin.Token, book); n != 0 {
		t.Errorf("stock %d, want 0", n)
	}
	if n := s.scalar("order", `SELECT count(*) FROM orders WHERE status = 'Pending'`); n != 0 {
		t.Errorf("%d orders still Pending", n)
	}
	// Refunds of the failed orders are asynchronous: wait for the ledger to
	// balance, then check the books.
	eventually(t, "refunds of every failed order", 30*time.Second, func() bool {
		return s.scalar("token", `SELECT count(*) FROM token_ledger WHERE kind = 'refund'`) == int64(len(orders)-copies)
	})
	var balances int64
	for _, a := range accounts {
		balances += s.balance(a)
	}
	if balances+completedTotal != users*topUp {
		t.Errorf("balances %d + completed totals %d = %d, want the top-ups %d", balances, completedTotal, balances+completedTotal, users*topUp)
	}
	if n := s.scalar("token", `SELECT count(*) FROM balances WHERE balance < 0`); n != 0 {
		t.Errorf("%d negative balances", n)
	}
	if n := s.scalar("inventory", `SELECT count(*) FROM stock_ledger WHERE kind = 'reserve'`); n != copies {
		t.Errorf("%d reservations, want %d", n, copies)
	}
}
