// Package faults is the real-process fault harness of `make faults` (issue 13;
// docs/reliability.md). Its test, built with the tag `faults`, runs the four
// service binaries and the gateway as OS processes against the PostgreSQL,
// Redis and Kafka of `hack/servers.sh start faults`, drives a steady stream
// of orders through the gateway with the load generator's library
// (internal/loadgen), injects faults by signals and server restarts, and
// after each scenario checks that nothing was lost or applied twice:
//
//	bash hack/faults.sh          # what make faults runs
//
// Without the tag the package is empty; `go test ./...` does not run it.
package faults
