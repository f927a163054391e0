# Developer and CI entry points. Every target works from a clean clone with
# only the Go toolchain installed.
#
#   make test    go test -race in every module (the README's test command)
#   make bench   benchmarks of the root module
#   make lint    gofmt, go vet and staticcheck in every module
#   make fuzz    each Fuzz target for FUZZTIME (default 10s)
#   make demo    run the demo server on 127.0.0.1:8080

GO ?= go
FUZZTIME ?= 10s
STATICCHECK_VERSION ?= v0.7.0
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# Every directory with a go.mod (the root, and later redis/, nats/,
# adapters/*, prometheus/, examples/), skipping testdata and hidden dirs.
MODULES := $(shell find . -name go.mod -not -path '*/testdata/*' -not -path '*/.*/*' -exec dirname {} \; | sort)

.PHONY: all test bench lint fuzz demo

all: lint test

test:
	@for m in $(MODULES); do \
		echo "==> go test -race $$m"; \
		(cd $$m && $(GO) test -race -count=1 ./...) || exit 1; \
	done

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

lint:
	@unformatted=$$(gofmt -l $$(find . -name '*.go' -not -path '*/.*/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	@for m in $(MODULES); do \
		echo "==> go vet $$m"; (cd $$m && $(GO) vet ./...) || exit 1; \
		echo "==> staticcheck $(STATICCHECK_VERSION) $$m"; (cd $$m && $(STATICCHECK) ./...) || exit 1; \
	done

# Runs every func FuzzXxx of every package, one at a time (go test -fuzz
# takes one target per run), for FUZZTIME each.
fuzz:
	@for m in $(MODULES); do \
		for dir in $$(cd $$m && $(GO) list -f '{{.Dir}}' ./...); do \
			for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$dir/*_test.go 2>/dev/null); do \
				echo "==> $$dir $$target"; \
				(cd $$dir && $(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) .) || exit 1; \
			done; \
		done; \
	done

demo:
	$(GO) run ./cmd/live demo
