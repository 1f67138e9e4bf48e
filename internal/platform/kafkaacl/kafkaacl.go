// Package kafkaacl is the one table of who may do what on the event bus:
// which topics each service produces to and consumes, and the Kafka ACLs
// that follow from it. It has no dependencies, so the operator (which
// renders the managed broker's ACL commands from it), the dev/test setup
// (cmd/bookstore-kafka-acls, through events.ApplyACLs) and the tests share it.
package kafkaacl

import (
	"slices"
	"strings"
)

// Topic names (events re-exports them; docs/events.md).
const (
	TopicUsers           = "bookstore.users"
	TopicOrders          = "bookstore.orders"
	TopicOrdersCompleted = "bookstore.orders.completed"
	TopicPayments        = "bookstore.payments"
	TopicInventory       = "bookstore.inventory"
	TopicBooks           = "bookstore.books"
	TopicDeadLetters     = "bookstore.dlq"
)

// RevocationsSuffix names a service's second consumer group,
// "<service>.revocations": the users-topic consumer that applies
// UserLoggedOut apart from the saga (eventbus).
const RevocationsSuffix = ".revocations"

// Admin is the Kafka super user: the brokers among themselves and the
// setup that creates the ACLs. No service uses it.
const Admin = "admin"

// Access is one service's use of the bus. Its Kafka user and its consumer
// groups are named after the service (Groups).
type Access struct {
	Service  string
	Produces []string
	Consumes []string
}

// Table is every service's access (topic names without prefix): what its
// outbox relay publishes (inventory also its catalogue changes, order also
// OrderCompleted) and what its consumer subscribes to. Every service also
// writes dead letters to TopicDeadLetters; nobody reads them, nor
// TopicOrdersCompleted yet.
func Table() []Access {
	return []Access{
		{Service: "user", Produces: []string{TopicUsers}, Consumes: []string{TopicUsers}},
		{Service: "token", Produces: []string{TopicPayments}, Consumes: []string{TopicOrders, TopicUsers}},
		{Service: "inventory", Produces: []string{TopicInventory, TopicBooks}, Consumes: []string{TopicOrders, TopicUsers}},
		{Service: "order", Produces: []string{TopicOrders, TopicOrdersCompleted}, Consumes: []string{TopicPayments, TopicInventory, TopicBooks, TopicUsers}},
	}
}

// Groups are the consumer groups of a service: the saga's, named after it,
// and the revocations consumer's.
func (a Access) Groups() []string {
	return []string{a.Service, a.Service + RevocationsSuffix}
}

// Services are the names of the services of Table, in its order.
func Services() []string {
	var out []string
	for _, a := range Table() {
		out = append(out, a.Service)
	}
	return out
}

// Rule allows Principal every operation on every topic and group listed
// (one kafka-acls.sh --add call; a literal resource pattern, any host).
type Rule struct {
	Principal  string
	Operations []string
	Topics     []string
	Groups     []string
}

// Rules are the ACLs of a: write its own topics and the dead letters, read
// what it consumes and its consumer groups, and create the topics it ensures
// at start (creating an existing topic does nothing; it allows no write).
// prefix prefixes every topic and group name (tests; "" in production).
func Rules(prefix string, a Access) []Rule {
	p := func(names ...[]string) []string {
		var out []string
		for _, n := range slices.Concat(names...) {
			if !slices.Contains(out, prefix+n) {
				out = append(out, prefix+n)
			}
		}
		return out
	}
	principal := "User:" + a.Service
	return []Rule{
		{Principal: principal, Operations: []string{"Write", "Describe"}, Topics: p(a.Produces, []string{TopicDeadLetters})},
		{Principal: principal, Operations: []string{"Read", "Describe"}, Topics: p(a.Consumes), Groups: p(a.Groups())},
		{Principal: principal, Operations: []string{"Create"}, Topics: p([]string{TopicDeadLetters}, a.Produces, a.Consumes)},
	}
}

// AllRules are the Rules of every service of Table.
func AllRules(prefix string) []Rule {
	var out []Rule
	for _, a := range Table() {
		out = append(out, Rules(prefix, a)...)
	}
	return out
}

// Args are the arguments of kafka-acls.sh adding r (after the connection
// flags).
func (r Rule) Args() []string {
	args := []string{"--add", "--allow-principal", r.Principal}
	for _, o := range r.Operations {
		args = append(args, "--operation", o)
	}
	for _, t := range r.Topics {
		args = append(args, "--topic", t)
	}
	for _, g := range r.Groups {
		args = append(args, "--group", g)
	}
	return args
}

// String is r as a shell command line fragment (every name is a plain
// word: topic, group and service names have no shell metacharacters).
func (r Rule) String() string { return strings.Join(r.Args(), " ") }
