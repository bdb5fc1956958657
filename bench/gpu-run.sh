#!/usr/bin/env bash
# The one command a session lent a GPU runs: smoke tests (device, math,
# random numbers), a device fault and its recovery in a process of its own,
# the conformance suite bit for bit, compute-sanitizer on two small tests,
# the plan chosen per benchmark shape, the Go benchmarks, ratesim bench on
# both GPU grids, then the same grids side by side with a PyTorch loop and
# JAX (peers last: their start-up and compile times are the least
# predictable), and a summary last.
#
# Here (no GPU):      make gpu-binaries          # .gpu/gpu.test, .gpu/ratesim
# Device tool `run`:  command "bash bench/gpu-run.sh", carry [".gpu"], timeout_s 540
#
# Everything lands in $OUT (device.txt, <phase>.log, plans.txt, gobench.txt,
# bench-gpu-*.jsonl and .txt, phases.txt, summary.txt); stdout carries
# short lines and the summary last. The whole run stays inside
# GPU_RUN_BUDGET seconds (480): every phase has a time limit, its own
# (LIMIT_<phase> overrides it) or what is left of the budget after the
# reserve for the phases after it, whichever is less; a phase whose limit
# would be under 10 s is skipped. A phase that runs past its limit gets
# SIGQUIT (a Go binary prints every goroutine's stack and exits) and, after
# GPU_RUN_KILL_AFTER seconds (10), SIGKILL; the test binaries also get
# -test.timeout a little under the limit, so Go reports the hanging test
# itself. Later phases run either way.
#
# The driver JIT-compiles the PTX once per process unless its cache has it:
# CUDA_CACHE_PATH (default: $OUT-nvcache, beside $OUT, so the cache is
# shared by the phases' processes but not shipped back with $OUT).
#
# Environment: OUT (default ./gpu-out), GPU_RUN_BUDGET (seconds, 480),
# PEAK_GFLOPS (the exact-mode ceiling; default from the GPU's name),
# PYTHON (default: python3 on PATH), PHASES (default "info smoke fault
# conformance sanitize plans gobench bench peers summary"; name a subset to
# run only those), LIMIT_<phase> (seconds).
# A dry run without a GPU: bench/gpurun_test.go runs this script with stub
# binaries. For a real run on the CPU backend: BACKEND=cpu PEER_DEVICE=cpu
# NET_ARGS="--sizes 32x2 --sweeps none" SWEEP_ARGS="--sizes none --sweeps 4x16".
set -u
OUT=${OUT:-$PWD/gpu-out}
OUT=${OUT%/}
mkdir -p "$OUT"
BUDGET=${GPU_RUN_BUDGET:-480}
PHASES=${PHASES:-info smoke fault conformance sanitize plans gobench bench peers summary}
KILL_AFTER=${GPU_RUN_KILL_AFTER:-10}
PY=${PYTHON:-$(command -v python3 || echo /usr/bin/python3)}
BACKEND=${BACKEND:-cuda}
PEER_DEVICE=${PEER_DEVICE:-cuda}
read -r -a NET_ARGS <<<"${NET_ARGS:---grid gpu --sweeps none}"
read -r -a SWEEP_ARGS <<<"${SWEEP_ARGS:---sizes none}"
export CUDA_CACHE_PATH=${CUDA_CACHE_PATH:-$OUT-nvcache}
export CUDA_CACHE_MAXSIZE=${CUDA_CACHE_MAXSIZE:-4294967296}
mkdir -p "$CUDA_CACHE_PATH"
G=.gpu
T=$G/gpu.test
TA=$PWD/$T # the test binary runs in the package's directory, as go test runs it
PKG=gpu
[ -d "$PKG" ] || PKG=.
status=0
: >"$OUT/phases.txt"

has() { case " $PHASES " in *" $1 "*) return 0 ;; esac; return 1; }
say() { printf '\n=== %s  [t=%ds]\n' "$*" "$SECONDS"; }
exec 3>&1 # the script's stdout, also for notes from inside pipelines
note() {
	echo "$*" >>"$OUT/phases.txt"
	echo "$*" >&3
}

# limit PHASE WANT RESERVE: the phase's time limit in seconds, at most WANT
# (or LIMIT_<PHASE>), leaving RESERVE seconds of the budget for what follows;
# 0 when that is under 10 s.
limit() {
	local o="LIMIT_$1"
	if [ -n "${!o:-}" ]; then
		echo "${!o}"
		return
	fi
	local l=$((BUDGET - SECONDS - $3))
	((l > $2)) && l=$2
	((l < 10)) && l=0
	echo "$l"
}

# run PHASE LIMIT LOG CMD...: runs CMD under the limit, output to LOG (and
# stdout when LOG is -), and records the outcome in phases.txt.
run() {
	local phase=$1 lim=$2 log=$3 t0=$SECONDS rc
	shift 3
	export GPU_RUN_PHASE=$phase
	if [ "$log" = - ]; then
		timeout -s QUIT -k "$KILL_AFTER" "$lim" "$@"
	else
		timeout -s QUIT -k "$KILL_AFTER" "$lim" "$@" >"$log" 2>&1
	fi
	rc=$?
	local how="exit $rc"
	case $rc in
	124 | 137) how="cut at its ${lim}s limit (exit $rc)" ;;
	esac
	note "$phase: $how after $((SECONDS - t0))s (limit ${lim}s)"
	((rc != 0)) && status=1
	return $rc
}

# gotest PHASE WANT RESERVE ARGS...: the GPU test binary, in the package's
# directory as go test runs it, with -test.timeout under the phase's limit.
gotest() {
	local phase=$1 lim
	lim=$(limit "$1" "$2" "$3")
	shift 3
	if ((lim == 0)); then
		note "$phase: skipped, $((BUDGET - SECONDS))s of the budget left"
		return
	fi
	local gt=$((lim > 20 ? lim - 5 : lim))
	say "$phase: $T $* (limit ${lim}s; log $OUT/$phase.log)"
	(cd "$PKG" && run "$phase" "$lim" "$OUT/$phase.log" "$TA" -test.v -test.count=1 -test.timeout="${gt}s" "$@")
	local rc=$?
	((rc != 0)) && status=1
	grep -E '^(--- (FAIL|SKIP)|FAIL|ok|PASS$|panic:|SIGQUIT|goroutine [0-9]+ \[)' "$OUT/$phase.log" | head -20
	echo "$phase: top-level tests passed $(grep -c '^--- PASS' "$OUT/$phase.log"), failed $(grep -c '^--- FAIL' "$OUT/$phase.log"), skipped $(grep -c '^--- SKIP' "$OUT/$phase.log"); subtests failed $(grep -c '^ \+--- FAIL' "$OUT/$phase.log")"
	((rc != 0)) && grep -m 12 -A 4 -- '--- FAIL' "$OUT/$phase.log" | cut -c1-300
	return 0
}

if [ ! -x $G/ratesim ] || [ ! -x $T ]; then
	echo "gpu-run: $G/ratesim or $T missing: run 'make gpu-binaries' on the build machine and carry [\".gpu\"]" >&2
	exit 2
fi

GPU=$(timeout 20 nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
if [ -z "${PEAK_GFLOPS:-}" ]; then
	# float32 exact mode (no FMA): half the FP32 FMA peak (bench/RESULTS.md).
	case "$GPU" in
	*H100*PCIe*) PEAK_GFLOPS=25600 ;;     # 51.2 TFLOP/s FMA
	*H100*NVL*) PEAK_GFLOPS=30000 ;;      # 60 TFLOP/s FMA
	*H100* | *H200*) PEAK_GFLOPS=33450 ;; # SXM: 132 SMs × 128 × 2 × 1.98 GHz = 66.9 TFLOP/s FMA
	*) PEAK_GFLOPS= ;;
	esac
fi
PEAK=()
[ -n "$PEAK_GFLOPS" ] && PEAK=(--peak-gflops "$PEAK_GFLOPS")

if has info; then
	say "device (CUDA_CACHE_PATH=$CUDA_CACHE_PATH)"
	export GPU_RUN_PHASE=info
	{
		date -u '+%Y-%m-%d %H:%M:%S UTC'
		timeout 20 nvidia-smi -L
		timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
		timeout 20 nvidia-smi | sed -n 3p # driver and CUDA version banner
		ldd $G/ratesim 2>&1 | grep -E 'libcuda|not found'
		timeout 20 $G/ratesim version
		timeout 60 $G/ratesim devices
		echo "python: $PY"
		timeout 30 "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())' 2>&1 | tail -1
		timeout 30 "$PY" -c 'import jax; print("jax", jax.__version__, jax.devices())' 2>&1 | tail -1
		command -v compute-sanitizer || echo "compute-sanitizer: not installed"
		echo "exact-mode ceiling: ${PEAK_GFLOPS:-unknown} GFLOP/s"
	} 2>&1 | tee "$OUT/device.txt"
	note "info: done at ${SECONDS}s"
fi

# The smoke tests prove the PTX loads and dmath and Philox are exact here.
has smoke && gotest smoke 60 380 -test.run '^(TestRegistered|TestDevices|TestMath|TestRandom)$'
# A real device fault, in its own process: if the context cannot be made
# anew, only this process suffers.
has fault && gotest fault 30 350 -test.run '^TestStickyFaultRecovery$'
if has conformance; then
	gotest conformance 150 220 -test.skip '^(TestRegistered|TestDevices|TestMath|TestRandom|TestStickyFaultRecovery|TestBenchmarkPlans)$'
	for t in $G/*.test; do # other packages' CUDA test binaries, if built
		[ "$t" = "$T" ] && continue
		name=$(basename "$t" .test)
		lim=$(limit "conformance-$name" 60 220)
		((lim == 0)) && { note "conformance-$name: skipped"; continue; }
		dir=$name
		[ -d "$dir" ] || dir=.
		say "conformance-$name: $t (limit ${lim}s)"
		(cd "$dir" && run "conformance-$name" "$lim" "$OUT/conformance-$name.log" "$OLDPWD/$t" -test.v -test.count=1 -test.timeout="$((lim > 20 ? lim - 5 : lim))s") || status=1
		grep -E '^(--- FAIL|FAIL|ok|PASS$|panic:)' "$OUT/conformance-$name.log" | head -10
	done
fi

# Shared-memory races and divergent barriers, which the emulator cannot see.
if has sanitize; then
	if command -v compute-sanitizer >/dev/null 2>&1; then
		for tool in racecheck synccheck; do
			lim=$(limit "sanitize" 60 200)
			((lim == 0)) && { note "sanitize-$tool: skipped"; continue; }
			say "sanitize: compute-sanitizer --tool $tool (limit ${lim}s)"
			(cd "$PKG" && run "sanitize-$tool" "$lim" "$OUT/sanitize-$tool.log" compute-sanitizer --tool "$tool" --error-exitcode 3 \
				"$TA" -test.v -test.count=1 -test.timeout="$((lim > 20 ? lim - 5 : lim))s" -test.run '^(TestStepTiles|TestRecordAndInputVariants)$/^(f32|persistent)$/^(m|0)$') || status=1
			tail -5 "$OUT/sanitize-$tool.log"
		done
	else
		note "sanitize: skipped, compute-sanitizer is not installed"
	fi
fi

if has plans; then
	gotest plans 20 190 -test.run '^TestBenchmarkPlans$'
	grep -E 'bench_test.go:[0-9]+:' "$OUT/plans.log" | sed 's/^ *bench_test.go:[0-9]*: //' | tee "$OUT/plans.txt"
fi

if has gobench; then
	lim=$(limit gobench 60 170)
	if ((lim > 0)); then
		say "gobench: $T -test.run '^\$' -test.bench . -test.benchtime 20x (limit ${lim}s)"
		(cd "$PKG" && run gobench "$lim" "$OUT/gobench.txt" "$TA" -test.run '^$' -test.bench . -test.benchtime 20x -test.timeout="$((lim > 20 ? lim - 5 : lim))s") || status=1
		grep -E '^Benchmark|plan:' "$OUT/gobench.txt" | sed 's/  */ /g' | head -60
	else
		note "gobench: skipped, $((BUDGET - SECONDS))s of the budget left"
	fi
fi

bench() { # bench PHASE NAME WANT RESERVE FLAGS...: ratesim bench into bench-gpu-NAME.*
	local phase=$1 name=$2 want=$3 reserve=$4
	shift 4
	local lim
	lim=$(limit "$phase" "$want" "$reserve")
	if ((lim == 0)); then
		note "$phase ($name): skipped, $((BUDGET - SECONDS))s of the budget left"
		return
	fi
	local cmd=($G/ratesim bench --backend "$BACKEND" --python "$PY" "${PEAK[@]}" --rep-time 200ms --reps 5
		--json "$OUT/bench-gpu-$name.jsonl" "$@")
	say "$phase: ${cmd[*]}  (limit ${lim}s)"
	run "$phase-$name" "$lim" - "${cmd[@]}" 2>"$OUT/bench-gpu-$name.err" | tee "$OUT/bench-gpu-$name.txt"
	((PIPESTATUS[0] != 0)) && status=1
	grep -v '^  \(measuring\|running\)' "$OUT/bench-gpu-$name.err" | tail -20
}
# ratesim alone first, both grids: its numbers come even if the peers are slow.
if has bench; then
	bench bench ratesim 90 130 --grid gpu
fi
if has peers; then
	pl=$(limit peers 130 100)
	bench peers net 130 100 --peers torch,jax --peer-device "$PEER_DEVICE" --peer-timeout $((pl * 45 / 100))s "${NET_ARGS[@]}"
	pl=$(limit peers 110 10)
	bench peers sweep 110 10 --peers torch,jax --peer-device "$PEER_DEVICE" --peer-timeout $((pl * 45 / 100))s "${SWEEP_ARGS[@]}"
fi

if has summary; then
	export GPU_RUN_PHASE=summary
	files=()
	for f in "$OUT"/bench-gpu-net.jsonl "$OUT"/bench-gpu-sweep.jsonl; do
		[ -s "$f" ] && files+=("$f")
	done
	# Without peer results, ratesim's own.
	((${#files[@]} == 0)) && [ -s "$OUT/bench-gpu-ratesim.jsonl" ] && files=("$OUT/bench-gpu-ratesim.jsonl")
	{
		say "summary: ${GPU:-unknown GPU}, driver $(timeout 20 nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)"
		if ((${#files[@]} > 0)); then
			cat "${files[@]}" >"$OUT/bench-gpu.jsonl"
			(
				IFS=,
				timeout 60 $G/ratesim bench --from "${files[*]}" "${PEAK[@]}" 2>&1
			)
		else
			echo "no benchmark results"
		fi
		[ -s "$OUT/plans.txt" ] && { echo; echo "plans:"; cat "$OUT/plans.txt"; }
		echo
		echo "phases:"
		cat "$OUT/phases.txt"
		for log in "$OUT"/smoke.log "$OUT"/fault.log "$OUT"/conformance*.log; do
			[ -f "$log" ] && echo "$(basename "$log" .log): $(grep -c '^--- PASS' "$log") passed, $(grep -c '^--- FAIL' "$log") failed, $(grep -c '^--- SKIP' "$log") skipped, last line: $(tail -1 "$log")"
		done
		echo "gpu-run: done in ${SECONDS}s of ${BUDGET}s, status $status; files in $OUT"
	} 2>&1 | tee "$OUT/summary.txt"
fi
exit $status
