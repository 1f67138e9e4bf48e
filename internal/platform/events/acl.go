package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/platform/kafkaacl"
)

// ApplyACLs creates the ACLs of kafkaacl.AllRules(prefix) with k's (super
// user) credentials. Adding an ACL that exists changes nothing, so it is
// safe on every start. make dev, make test (cmd/bookstore-kafka-acls) and
// the tests of prefixed topics use it; the operator renders the same rules
// as kafka-acls.sh calls.
func ApplyACLs(ctx context.Context, k config.Kafka, prefix string) error {
	base, err := ClientConfig(k)
	if err != nil {
		return err
	}
	delete(base, "go.logs.channel.enable") // not a property of the admin client
	admin, err := kafka.NewAdminClient(&base)
	if err != nil {
		return fmt.Errorf("events: admin client: %w", err)
	}
	defer admin.Close()
	bindings, err := ACLBindings(kafkaacl.AllRules(prefix))
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	res, err := admin.CreateACLs(ctx, bindings, kafka.SetAdminRequestTimeout(20*time.Second))
	if err != nil {
		return fmt.Errorf("events: create ACLs: %w", err)
	}
	var errs []error
	for i, r := range res {
		if r.Error.Code() != kafka.ErrNoError {
			errs = append(errs, fmt.Errorf("%s %s on %s: %w", bindings[i].Principal, bindings[i].Operation, bindings[i].Name, r.Error))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("events: create ACLs: %w", errors.Join(errs...))
	}
	return nil
}

// ACLBindings expands rules into one literal allow binding (any host) per
// principal, operation and resource.
func ACLBindings(rules []kafkaacl.Rule) (kafka.ACLBindings, error) {
	var out kafka.ACLBindings
	for _, r := range rules {
		for _, o := range r.Operations {
			op, err := kafka.ACLOperationFromString(o)
			if err != nil {
				return nil, fmt.Errorf("events: ACL operation %q: %w", o, err)
			}
			add := func(t kafka.ResourceType, name string) {
				out = append(out, kafka.ACLBinding{
					Type: t, Name: name, ResourcePatternType: kafka.ResourcePatternTypeLiteral,
					Principal: r.Principal, Host: "*", Operation: op, PermissionType: kafka.ACLPermissionTypeAllow,
				})
			}
			for _, t := range r.Topics {
				add(kafka.ResourceTopic, t)
			}
			for _, g := range r.Groups {
				add(kafka.ResourceGroup, g)
			}
		}
	}
	return out, nil
}
