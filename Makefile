# ratesim — see README.md. Every target works on a fresh machine with Go.
GO      ?= go
BIN     ?= bin
PYTHON  ?= /usr/bin/python3
# go test's own limit per package binary (its default, 10 min, is what the
# emulated CUDA suite takes on a slow 2-core machine; CI's budget is 90 min).
TEST_TIMEOUT ?= 45m

.PHONY: all build run test vet fmt-check tidy-check test-fma test-cuda generate generate-check kernels kernels-check kernels-report cuda gpu-binaries gpu-run-cmd cuda-toolkit bench bench-deps bench-go clean

all: build

build:
	$(GO) build -o $(BIN)/ratesim ./cmd/ratesim

# Runs the built-in example network on the CPU and writes ratesim-out/ctrnn/.
run: build
	$(BIN)/ratesim run

# vet, formatting, the whole test suite (conformance suite included), and the
# conformance suite again built for FMA-capable x86 (GOAMD64=v3), where the Go
# compiler is allowed to fuse x*y+z: the exact path must not change.
test: vet fmt-check tidy-check generate-check
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) --no-print-directory test-fma
	$(MAKE) --no-print-directory test-cuda

vet:
	$(GO) vet ./...

# go.mod and go.sum must be what `go mod tidy` makes of the imports.
tidy-check:
	@$(GO) mod tidy -diff || { echo "go mod tidy would change go.mod/go.sum (diff above); run go mod tidy" >&2; exit 1; }

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Regenerates the CPU backend's assembly with avo, from cpu/internal/asmgen,
# a module of its own so that avo stays out of ratesim's go.mod: each
# kernel set's .s and its declarations (.go) — the drive product (gemm),
# the unit step's noise (normal), the gathered product (sparse), the
# plastic pass (plastic), the relu unit step (unitstep) and the L5 rules
# (l5); cpu/*.go's go:generate lines say which -set writes which.
ASMGEN_OUT = cpu/gemm_amd64.s cpu/gemm_amd64.go cpu/normal_amd64.s cpu/normal_amd64.go cpu/sparse_amd64.s cpu/sparse_amd64.go cpu/plastic_amd64.s cpu/plastic_amd64.go cpu/unitstep_amd64.s cpu/unitstep_amd64.go cpu/l5_amd64.s cpu/l5_amd64.go

generate:
	$(GO) generate ./cpu

# Fails when the committed assembly differs from what the generator makes
# (the files are restored either way), or when the generator's module is
# not vetted and tidy.
generate-check:
	@set -e; tmp=$$(mktemp -d); cp $(ASMGEN_OUT) $$tmp/; \
	st=0; $(GO) generate ./cpu || st=1; stale=; \
	for f in $(ASMGEN_OUT); do cmp -s $$f $$tmp/$${f##*/} || stale="$$stale $$f"; cp $$tmp/$${f##*/} $$f; done; \
	rm -rf $$tmp; \
	[ $$st = 0 ] || { echo "generate-check: go generate ./cpu failed" >&2; exit 1; }; \
	[ -z "$$stale" ] || { echo "generate-check:$$stale stale; run make generate" >&2; exit 1; }; \
	cd cpu/internal/asmgen && $(GO) vet . && $(GO) mod tidy -diff

test-fma:
	@if grep -qw fma /proc/cpuinfo 2>/dev/null && grep -qw avx2 /proc/cpuinfo; then \
		echo "GOAMD64=v3 (FMA allowed) conformance run:"; \
		GOAMD64=v3 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./backend/... ./cpu/...; \
	else echo "test-fma: this CPU has no FMA/AVX2; skipped"; fi

# The CUDA side without a GPU: vet and build with the cuda tag, prove the
# committed PTX fresh, and run the conformance suite on the kernels' sources
# compiled as host C++ (gpu/internal/emu). Needs the CUDA toolkit (make
# cuda-toolkit, as root); without it this says so and passes, unless
# REQUIRE_CUDA=1 (CI), where a missing toolkit is an error.
test-cuda:
	@if command -v nvcc >/dev/null 2>&1 && [ -e /usr/include/cuda.h ]; then \
		set -e; echo "CUDA checks (nvcc $$(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')):"; \
		$(GO) vet -tags cuda ./...; \
		$(GO) build -tags cuda ./...; \
		$(GO) vet -tags 'cuda cudaemu' ./gpu/...; \
		kernels/gen.sh -check; \
		kernels/gen.sh -report; \
		$(GO) test -count=1 -timeout $(TEST_TIMEOUT) -tags 'cuda cudaemu' ./gpu/...; \
	elif [ "$(REQUIRE_CUDA)" = 1 ]; then \
		echo "test-cuda: the CUDA toolkit is missing (nvcc, /usr/include/cuda.h); run make cuda-toolkit as root" >&2; exit 1; \
	else echo "test-cuda: no CUDA toolkit here, CUDA checks skipped (make cuda-toolkit installs it, as root)"; fi

# Debian's nvidia-cuda-toolkit (CUDA 11.8) from the non-free component.
cuda-toolkit:
	.ci/install-cuda-toolkit

# Regenerates kernels/ptx/*.ptx, kernels/fatbin/*.fatbin (that PTX with sm_80
# and sm_90 machine code) and kernels/ptx.go from kernels/*.cu (nvcc 11.8), and
# kernels/args.go, the kernels' argument structs, from their parameter lists
# (go run ./kernels/internal/genargs); then the static report below.
kernels:
	GO=$(GO) kernels/gen.sh && GO=$(GO) kernels/gen.sh -report

# The static kernel report (kernels/REPORT.md): ptxas -v and cuobjdump -sass of the
# committed PTX for sm_90 and sm_80; fails on a spill, on FMA in a hot loop, or on a
# hot-loop FP fraction below kernels/report-baseline.json.
kernels-report:
	GO=$(GO) kernels/gen.sh -report

# Fails when kernels/ptx, kernels/fatbin, ptx.go or args.go differ from what kernels/*.cu
# gives (CI; go test ./kernels checks args.go without nvcc too).
kernels-check:
	GO=$(GO) kernels/gen.sh -check

# The CLI with the CUDA backend compiled in (needs the toolkit's headers to
# build and the NVIDIA driver to run; without a visible GPU it exits at start,
# so keep the default build on machines without one).
cuda:
	$(GO) build -tags cuda -o $(BIN)/ratesim ./cmd/ratesim

# What a lent GPU machine runs (it has no Go): the CUDA test binary and the CLI.
gpu-binaries:
	$(GO) test -c -tags cuda -o .gpu/gpu.test ./gpu
	$(GO) build -tags cuda -o .gpu/ratesim ./cmd/ratesim

# Builds .gpu/ and prints the one command to give the device tool's run (it
# runs bench/gpu-run.sh: CUDA tests, ratesim bench on both GPU grids with the
# torch and JAX peers, Go benchmarks, a summary; see bench/RESULTS.md).
gpu-run-cmd: gpu-binaries
	@echo 'device tool run: carry [".gpu"], timeout_s 540, command:'
	@echo '  bash bench/gpu-run.sh'

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
