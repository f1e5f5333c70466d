# Liftoff. `make help` lists the targets.
GO ?= go
LIFTOFF_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export LIFTOFF_TEST_DATABASE_URL

.PHONY: help build test lint fuzz bench run clean kube-tools

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/liftoff
	$(GO) build -o bin/liftoff ./cmd/liftoff

test: ## run every test, PostgreSQL ones against LIFTOFF_TEST_DATABASE_URL
	$(GO) test ./...

lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

fuzz: ## run every fuzz target on 200,000 inputs
	.ci/fuzz 200000x

bench: ## run the benchmarks, each against a baseline in the same run (hook endpoint, hook under a 30 MB build output, watch decision, hook to build, hook to a container release against a process release, builds with and without their cache, sandboxed step, a process service's image packed against podman build)
	$(GO) test -run='^$$' -bench=. -benchtime=1x ./internal/bench/...
	$(GO) test -run='^$$' -bench=. ./internal/gitsource/ ./internal/watch/
	$(GO) test -run='^$$' -bench=BenchmarkStep -benchtime=50x ./internal/steps/
	$(GO) test -run='^$$' -bench=BenchmarkPackProcess -benchtime=1x ./internal/imagepack/

run: build ## run Liftoff with SQLite in ./liftoff-data
	./bin/liftoff serve

kube-tools: ## build the Kubernetes control plane the tests start, once per machine (.ci/kube-tools)
	.ci/kube-tools

clean: ## remove build output
	rm -rf bin
