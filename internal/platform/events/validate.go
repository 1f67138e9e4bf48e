package events

import (
	"errors"
	"fmt"
)

// The payloads' contract, checked by On before a handler sees an event: the
// ids a handler locks or looks up are UUIDs, amounts are not negative. An
// event that breaks it is dead-lettered by every consumer alike.

// Validate checks the order, user and book ids, the quantities and the total.
func (e OrderCreated) Validate() error {
	if err := CheckIDs(e.OrderID, e.UserID); err != nil {
		return err
	}
	if e.TotalPrice < 0 {
		return fmt.Errorf("order %s: negative total %d", e.OrderID, e.TotalPrice)
	}
	if len(e.Items) == 0 {
		return fmt.Errorf("order %s has no items", e.OrderID)
	}
	for _, it := range e.Items {
		if CheckIDs(it.BookID) != nil || it.Quantity <= 0 {
			return fmt.Errorf("order %s: invalid item %+v", e.OrderID, it)
		}
	}
	return nil
}

// Validate checks the order id.
func (e OrderFailed) Validate() error { return CheckIDs(e.OrderID) }

// Validate checks the order id.
func (e PaymentSucceeded) Validate() error { return CheckIDs(e.OrderID) }

// Validate checks the order id.
func (e PaymentRejected) Validate() error { return CheckIDs(e.OrderID) }

// Validate checks the order id.
func (e StockReserved) Validate() error { return CheckIDs(e.OrderID) }

// Validate checks the order id.
func (e StockRejected) Validate() error { return CheckIDs(e.OrderID) }

// Validate checks that the event names the token to revoke.
func (e UserLoggedOut) Validate() error {
	if e.JTI == "" {
		return errors.New("UserLoggedOut without jti")
	}
	return nil
}

// Validate checks the book id, the version and the price.
func (e BookChanged) Validate() error {
	if err := CheckIDs(e.BookID); err != nil {
		return err
	}
	if e.Version <= 0 || e.Price < 0 {
		return fmt.Errorf("book %s: invalid version %d or price %d", e.BookID, e.Version, e.Price)
	}
	return nil
}
