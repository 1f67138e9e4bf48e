// Command bookstore-kafka-acls creates the event bus ACLs of every service
// (internal/platform/kafkaacl) on a Kafka whose super user it is given:
//
//	BOOKSTORE_KAFKA_BROKERS=127.0.0.1:54092 BOOKSTORE_KAFKA_SASL_USERNAME=admin \
//	BOOKSTORE_KAFKA_SASL_PASSWORD=... bookstore-kafka-acls [-prefix P]
//
// hack/servers.sh runs it for make dev and make test; the operator renders
// the same rules into the managed broker's start script instead.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
)

func main() {
	prefix := flag.String("prefix", "", "prefix of every topic and consumer group name")
	flag.Parse()
	if err := run(*prefix); err != nil {
		fmt.Fprintln(os.Stderr, "bookstore-kafka-acls:", err)
		os.Exit(1)
	}
}

func run(prefix string) error {
	k := config.Kafka{
		Brokers:          strings.Split(os.Getenv("BOOKSTORE_KAFKA_BROKERS"), ","),
		SecurityProtocol: cmp.Or(os.Getenv("BOOKSTORE_KAFKA_SECURITY_PROTOCOL"), "SASL_PLAINTEXT"),
		SASLMechanism:    cmp.Or(os.Getenv("BOOKSTORE_KAFKA_SASL_MECHANISM"), "SCRAM-SHA-512"),
		SASLUsername:     os.Getenv("BOOKSTORE_KAFKA_SASL_USERNAME"),
		SASLPassword:     os.Getenv("BOOKSTORE_KAFKA_SASL_PASSWORD"),
	}
	if k.Brokers[0] == "" || k.SASLUsername == "" || k.SASLPassword == "" {
		return errors.New("BOOKSTORE_KAFKA_BROKERS, BOOKSTORE_KAFKA_SASL_USERNAME and BOOKSTORE_KAFKA_SASL_PASSWORD are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return events.ApplyACLs(ctx, k, prefix)
}
