# ratesim — see README.md. Every target works on a fresh machine with Go.
GO      ?= go
BIN     ?= bin
PYTHON  ?= /usr/bin/python3

.PHONY: all build run test vet fmt-check test-fma bench bench-deps bench-go clean

all: build

build:
	$(GO) build -o $(BIN)/ratesim ./cmd/ratesim

# Runs the built-in example network on the CPU and writes ratesim-out/ctrnn/.
run: build
	$(BIN)/ratesim run

# vet, formatting, the whole test suite (conformance suite included), and the
# conformance suite again built for FMA-capable x86 (GOAMD64=v3), where the Go
# compiler is allowed to fuse x*y+z: the exact path must not change.
test: vet fmt-check
	$(GO) test -count=1 ./...
	$(MAKE) --no-print-directory test-fma

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

test-fma:
	@if grep -qw fma /proc/cpuinfo 2>/dev/null && grep -qw avx2 /proc/cpuinfo; then \
		echo "GOAMD64=v3 (FMA allowed) conformance run:"; \
		GOAMD64=v3 $(GO) test -count=1 ./backend/... ./cpu/...; \
	else echo "test-fma: this CPU has no FMA/AVX2; skipped"; fi

# ratesim's own benchmark grid on the CPU, side by side with the PyTorch loop.
bench: build bench-deps
	$(BIN)/ratesim bench --peers --python $(PYTHON) --json bench/last-cpu.jsonl

# The peer needs Debian's PyTorch, and OpenBLAS: without it Debian's torch
# falls back to the unblocked reference BLAS and is ~10× slower than users see.
bench-deps:
	@$(PYTHON) -c 'import torch' 2>/dev/null && [ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch libopenblas0-pthread; }

# Go micro-benchmarks of the CPU backend step.
bench-go:
	$(GO) test -run '^$$' -bench . -benchtime 2x ./cpu/

clean:
	rm -rf $(BIN) ratesim-out
