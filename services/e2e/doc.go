// Package e2e holds the end-to-end tests of the order saga: all four
// services running in process on real PostgreSQL, Redis and Kafka (see
// e2e_test.go). It has no non-test code.
package e2e
