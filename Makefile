# lanedye build and test entry points. `make test` is what CI runs.
GO    ?= go
WASM  := build/lanedye.wasm
# Fuzz time per target for `make fuzz`.
FUZZTIME ?= 60s

.PHONY: build test demo e2e bench fuzz image push clean

# Go's build cache makes an unchanged rebuild cheap, so build always runs.
# -s -w drops the wasm name section and DWARF (about 100 KB); Go's own
# stack traces keep their function names.
build:
	@mkdir -p build
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -ldflags="-s -w" -o $(WASM) ./plugin
	@echo "$(WASM): $$(wc -c < $(WASM)) bytes"

# The main job on the built-in example: the loopback mesh running the module
# with deploy/'s configuration; prints which version served each hop.
demo: build
	$(GO) run ./e2e/demo

# End-to-end: the loopback mesh scenarios, and real Envoy when installed
# (envoy on PATH or ENVOY_BIN).
e2e: build
	$(GO) test -count=1 -v ./e2e/...

# Every test, natively and against $(WASM); fuzz seed corpora run as tests.
test: build
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	cd internal/pretty && $(GO) vet ./... && $(GO) test -count=1 ./...

# Native decision benchmarks, the module's per-request cost in a wazero host
# beside two reference plugins (testdata/refplugins), host calls, size and
# memory: a table, and build/bench.json.
bench: build
	$(GO) run ./internal/perf/report

# Each fuzz target on its own for FUZZTIME.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# The OCI image (Istio's Docker-compatible Wasm variant) at build/oci, built
# without Docker; prints the image digest and the wasm sha256.
image: build
	$(GO) run ./cmd/lanedye-image build -wasm $(WASM) -out build/oci

# make push IMAGE=registry.example.com/lanedye/lanedye:v0.1.0
push: image
	@test -n "$(IMAGE)" || { echo "usage: make push IMAGE=registry/repository:tag" >&2; exit 2; }
	$(GO) run ./cmd/lanedye-image push -layout build/oci $(IMAGE)

clean:
	rm -rf build
