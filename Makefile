# Bookstore. The two commands a newcomer needs: `make dev` and `make test`.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

.PHONY: help dev test faults soak bench vet lint fmt build generate verify-generated tools servers-start servers-stop images kind-up kind-down cluster-up cluster-down e2e clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

dev: ## run the whole system as local processes on http://127.0.0.1:8080 (Ctrl-C stops it)
	bash hack/dev.sh

test: ## install and start real servers, go vet, golangci-lint, go test ./... (unit, integration, envtest)
	bash hack/test.sh

faults: ## the real-process fault harness: services killed/terminated/restarted, PostgreSQL/Redis/Kafka crashed, under load (~5 min)
	bash hack/faults.sh

soak: ## half the measured maximum for 10 min against `make dev`: per-minute p99, RSS and goroutines (not in CI)
	bash hack/soak.sh

bench: ## load-test the `make dev` stack (start `make dev` first in another terminal)
	bash hack/bench.sh

vet: ## go vet ./...
	go vet ./...

lint: ## golangci-lint with .golangci.yml (make test runs it too)
	bash hack/install-tools.sh >/dev/null && GOLANGCI_LINT_CACHE=$(CURDIR)/.cache/golangci-lint bin/golangci-lint run ./...

fmt: ## gofmt -w
	gofmt -w $$(git ls-files '*.go')

build: ## compile every binary of the image into .cache/build
	bash hack/build.sh .cache/build

generate: ## regenerate the operator's CRD, RBAC and deepcopy code (controller-gen)
	bash hack/generate.sh

verify-generated: ## fail if generated code is out of date
	bash hack/verify-generated.sh

tools: ## install helm, controller-gen, gotestsum (bin/) and kube-apiserver/etcd/kubectl (.cache/k8s)
	bash hack/install-tools.sh
	bash hack/install-k8s.sh

servers-start: ## start the test servers (Postgres, Redis, Kafka) and print their env file
	bash hack/servers.sh start test

servers-stop: ## stop the test servers
	bash hack/servers.sh stop test

images: ## build the container image (needs Docker or podman)
	bash hack/images.sh

kind-up: ## create a kind cluster and deploy Bookstore through the operator (needs Docker and kind)
	bash hack/kind-up.sh

kind-down: ## delete the kind cluster
	bash hack/kind-down.sh

cluster-up: ## a real single-node Kubernetes on this machine (root, no Docker) with Bookstore on it; writes .cache/cluster/env
	bash hack/cluster/up.sh

cluster-down: ## stop that cluster and undo every change it made to the host (keeps the build caches)
	bash hack/cluster/down.sh

e2e: ## cluster-up, the end-to-end tests against it (e2e/cluster), cluster-down (also on failure)
	bash hack/cluster/e2e.sh

clean: ## remove build outputs (keeps downloaded servers and tools)
	rm -rf .cache/build .cache/dev/bin
