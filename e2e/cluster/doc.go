// Package cluster holds the end-to-end tests of Bookstore on a real
// Kubernetes node (make e2e: hack/cluster/up.sh, these tests, down.sh). The
// tests carry the build tag e2e, so make test does not run them; they read
// KUBECONFIG and BOOKSTORE_URL from the environment (.cache/cluster/env).
// docs/e2e.md says what each proves.
package cluster
