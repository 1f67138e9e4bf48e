// Package events is the event platform shared by every Bookstore service:
// the JSON envelope and the payloads of the whole event contract, the
// transactional outbox (Enqueue + Relay), the idempotent inbox consumer with
// dead letters, and the Kafka plumbing (configuration, topics, readiness).
//
// See docs/events.md for the contract and the exactly-once argument.
package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/bookstore-platform/bookstore/internal/platform/kafkaacl"
)

// Topics. Each topic is owned (created at start) by the service that
// produces on it; the message key is always the aggregate id.
const (
	// TopicUsers carries user events (UserLoggedOut), keyed by user id.
	// Owner: user service.
	TopicUsers = kafkaacl.TopicUsers
	// TopicOrders carries OrderCreated and OrderFailed, keyed by order id,
	// so that the saga's steps and their compensations stay ordered on one
	// partition. Owner: order service.
	TopicOrders = kafkaacl.TopicOrders
	// TopicOrdersCompleted carries OrderCompleted, keyed by order id: a
	// topic of its own because no saga participant needs it (token and
	// inventory would only fetch and skip it). Owner: order service.
	TopicOrdersCompleted = kafkaacl.TopicOrdersCompleted
	// TopicPayments carries PaymentSucceeded, PaymentRejected and
	// PaymentRefunded, keyed by order id. Owner: token service.
	TopicPayments = kafkaacl.TopicPayments
	// TopicInventory carries StockReserved, StockRejected and StockReleased,
	// keyed by order id. Owner: inventory service.
	TopicInventory = kafkaacl.TopicInventory
	// TopicBooks carries BookCreated, BookUpdated and BookDeleted, keyed
	// by book id: the catalogue changes the order service projects into
	// its own table of prices. Owner: inventory service.
	TopicBooks = kafkaacl.TopicBooks
	// TopicDeadLetters receives every event a consumer could not decode or
	// failed permanently to handle, with the error in the headers. Every
	// service ensures it exists and may write it (kafkaacl.Table).
	TopicDeadLetters = kafkaacl.TopicDeadLetters
)

// Event types (Envelope.Type).
const (
	TypeUserLoggedOut    = "UserLoggedOut"
	TypeOrderCreated     = "OrderCreated"
	TypeOrderCompleted   = "OrderCompleted"
	TypeOrderFailed      = "OrderFailed"
	TypeStockReserved    = "StockReserved"
	TypeStockRejected    = "StockRejected"
	TypeStockReleased    = "StockReleased"
	TypePaymentSucceeded = "PaymentSucceeded"
	TypePaymentRejected  = "PaymentRejected"
	TypePaymentRefunded  = "PaymentRefunded"
	TypeBookCreated      = "BookCreated"
	TypeBookUpdated      = "BookUpdated"
	TypeBookDeleted      = "BookDeleted"
)

// Rejection reasons used in StockRejected / PaymentRejected / OrderFailed.
const (
	ReasonOutOfStock          = "out of stock"
	ReasonUnknownBook         = "unknown book"
	ReasonInsufficientBalance = "insufficient balance"
)

// Envelope is the one JSON shape of every message on every topic:
// {"id", "type", "occurredAt", "data"}. ID is assigned by the producer and
// is what consumers deduplicate on.
type Envelope struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurredAt"`
	Data       json.RawMessage `json:"data"`
}

// New builds an envelope with a fresh unique id (UUIDv7, so ids sort by
// creation time) and data marshalled to JSON.
func New(typ string, data any) (Envelope, error) {
	if typ == "" {
		return Envelope{}, errors.New("events: empty event type")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Envelope{}, fmt.Errorf("events: new id: %w", err)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return Envelope{}, fmt.Errorf("events: marshal %s: %w", typ, err)
	}
	return Envelope{ID: id.String(), Type: typ, OccurredAt: time.Now().UTC(), Data: raw}, nil
}

// Marshal encodes the envelope as the message value.
func (e Envelope) Marshal() ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("events: marshal envelope %s: %w", e.ID, err)
	}
	return b, nil
}

// Parse decodes a message value into an envelope and checks the fields every
// consumer relies on. A Parse error is permanent: the message can never be
// processed and belongs in the dead-letter topic.
func Parse(value []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(value, &e); err != nil {
		return Envelope{}, Permanent(fmt.Errorf("events: undecodable envelope: %w", err))
	}
	switch {
	case e.ID == "":
		return Envelope{}, Permanent(errors.New("events: envelope without id"))
	case e.Type == "":
		return Envelope{}, Permanent(errors.New("events: envelope without type"))
	}
	return e, nil
}

// Decode unmarshals the payload into v. Unknown fields are tolerated (newer
// producers may add fields); malformed data is a permanent error.
func (e Envelope) Decode(v any) error {
	if len(e.Data) == 0 {
		return Permanent(fmt.Errorf("events: %s %s has no data", e.Type, e.ID))
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return Permanent(fmt.Errorf("events: decode %s %s: %w", e.Type, e.ID, err))
	}
	return nil
}

// OrderItem is one line of an order: the price is the book's price at the
// time of ordering, in tokens.
type OrderItem struct {
	BookID   string `json:"bookId"`
	Price    int64  `json:"price"`
	Quantity int64  `json:"quantity"`
}

// OrderCreated starts the saga. Topic orders, key order id.
type OrderCreated struct {
	OrderID    string      `json:"orderId"`
	UserID     string      `json:"userId"`
	Items      []OrderItem `json:"items"`
	TotalPrice int64       `json:"totalPrice"`
}

// StockReserved: inventory reserved every item of the order. Topic inventory.
type StockReserved struct {
	OrderID string      `json:"orderId"`
	Items   []OrderItem `json:"items,omitempty"`
}

// StockRejected: inventory reserved nothing. Topic inventory.
type StockRejected struct {
	OrderID string `json:"orderId"`
	Reason  string `json:"reason"`
}

// StockReleased: a reservation was given back after the order failed
// (compensation). Topic inventory.
type StockReleased struct {
	OrderID string      `json:"orderId"`
	Items   []OrderItem `json:"items,omitempty"`
}

// PaymentSucceeded: the token service charged Amount. Topic payments.
type PaymentSucceeded struct {
	OrderID string `json:"orderId"`
	UserID  string `json:"userId"`
	Amount  int64  `json:"amount"`
	Balance int64  `json:"balance"`
}

// PaymentRejected: nothing was charged. Topic payments.
type PaymentRejected struct {
	OrderID string `json:"orderId"`
	UserID  string `json:"userId"`
	Amount  int64  `json:"amount"`
	Reason  string `json:"reason"`
}

// PaymentRefunded: a charge was given back after the order failed
// (compensation). Topic payments.
type PaymentRefunded struct {
	OrderID string `json:"orderId"`
	UserID  string `json:"userId"`
	Amount  int64  `json:"amount"`
	Balance int64  `json:"balance"`
}

// OrderCompleted: paid and reserved. Topic orders.completed.
type OrderCompleted struct {
	OrderID    string `json:"orderId"`
	UserID     string `json:"userId"`
	TotalPrice int64  `json:"totalPrice"`
}

// OrderFailed: at least one step was rejected; the reasons are all the
// rejections seen. Token and inventory compensate on it. Topic orders.
type OrderFailed struct {
	OrderID string   `json:"orderId"`
	UserID  string   `json:"userId"`
	Reasons []string `json:"reasons"`
}

// UserLoggedOut revokes a token in every service until it expires.
// Topic users, key user id.
type UserLoggedOut struct {
	JTI       string    `json:"jti"`
	UserID    string    `json:"userId"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// BookChanged is the payload of BookCreated, BookUpdated and BookDeleted
// (topic books, key book id): the book's catalogue fields after the change
// (a deleted book carries only its id and version). Version increases with
// every change of one book, so a consumer keeps the newest whatever the
// order of delivery. Stock is not part of it: the inventory's reservation
// is the authority on stock.
type BookChanged struct {
	BookID  string `json:"bookId"`
	Version int64  `json:"version"`
	Title   string `json:"title,omitempty"`
	Author  string `json:"author,omitempty"`
	Price   int64  `json:"price"`
}
