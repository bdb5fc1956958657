#!/usr/bin/env bash
# The one command a session lent a GPU runs (issue 4, item 6): the CUDA test
# binaries (conformance suite bit for bit), ratesim bench on both of the
# issue's grids side by side with a PyTorch loop and JAX on the same GPU,
# the Go benchmarks, and a summary table last.
#
# Here (no GPU):      make gpu-binaries          # .gpu/gpu.test, .gpu/ratesim
# Device tool `run`:  command "bash bench/gpu-run.sh", carry [".gpu"]
#
# Everything lands in $OUT (device.txt, *.test.log, bench-gpu.jsonl,
# bench-gpu-*.txt, gobench.txt, summary.txt); stdout carries short lines and
# the summary table last. The whole run stays inside one 10-minute command:
# every phase has a time limit taken from what is left of GPU_RUN_BUDGET
# (585 s), so a slow phase is cut, not the phases after it.
#
# Estimate on an H100 (see bench/RESULTS.md): tests ~1 min; each bench grid
# ~2-3 min (ratesim ~1.5 s a size: calibration + 5 reps of 0.2 s; the torch
# loop ~1.5 s a size + ~6 s a process; JAX ~7 s a size, mostly compiling
# three scan lengths, + ~8 s a process); Go benchmarks ~1 min. About 7 min.
#
# Environment: OUT (default ./gpu-out), GPU_RUN_BUDGET (seconds, 585),
# PEAK_GFLOPS (the exact-mode ceiling; default from the GPU's name),
# PYTHON (default: python3 on PATH), PHASES (default "info tests bench
# sweeps gobench summary"; name a subset to run again only those).
# For a dry run of this script without a GPU: BACKEND=cpu PEER_DEVICE=cpu
# NET_ARGS="--sizes 32x2 --sweeps none" SWEEP_ARGS="--sizes none --sweeps 4x16".
set -u
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
BUDGET=${GPU_RUN_BUDGET:-585}
PHASES=${PHASES:-info tests bench sweeps gobench summary}
PY=${PYTHON:-$(command -v python3 || echo /usr/bin/python3)}
BACKEND=${BACKEND:-cuda}
PEER_DEVICE=${PEER_DEVICE:-cuda}
read -r -a NET_ARGS <<<"${NET_ARGS:---grid gpu --sweeps none}"
read -r -a SWEEP_ARGS <<<"${SWEEP_ARGS:---sizes none}"
G=.gpu
status=0

has() { case " $PHASES " in *" $1 "*) return 0 ;; esac; return 1; }
say() { printf '\n=== %s  [t=%ds]\n' "$*" "$SECONDS"; }
# limit WANT RESERVE: at most WANT seconds, leaving RESERVE for what follows.
limit() {
	local l=$((BUDGET - SECONDS - $2))
	((l > $1)) && l=$1
	((l < 5)) && l=5
	echo "$l"
}

if [ ! -x $G/ratesim ] || ! ls $G/*.test >/dev/null 2>&1; then
	echo "gpu-run: $G/ratesim or $G/*.test missing: run 'make gpu-binaries' on the build machine and carry [\".gpu\"]" >&2
	exit 2
fi

GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
if [ -z "${PEAK_GFLOPS:-}" ]; then
	# float32 exact mode (no FMA): half the FP32 FMA peak (bench/RESULTS.md).
	case "$GPU" in
	*H100*PCIe*) PEAK_GFLOPS=25600 ;; # 51.2 TFLOP/s FMA
	*H100*NVL*) PEAK_GFLOPS=30000 ;;  # 60 TFLOP/s FMA
	*H100* | *H200*) PEAK_GFLOPS=33450 ;; # SXM: 132 SMs × 128 × 2 × 1.98 GHz = 66.9 TFLOP/s FMA
	*) PEAK_GFLOPS= ;;
	esac
fi
PEAK=()
[ -n "$PEAK_GFLOPS" ] && PEAK=(--peak-gflops "$PEAK_GFLOPS")

if has info; then
	say "device"
	{
		date -u '+%Y-%m-%d %H:%M:%S UTC'
		nvidia-smi -L
		nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
		nvidia-smi | sed -n 3p # driver and CUDA version banner
		$G/ratesim version
		$G/ratesim devices
		echo "python: $PY"
		timeout 60 "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())' 2>&1 | tail -1
		timeout 60 "$PY" -c 'import jax; print("jax", jax.__version__, jax.devices())' 2>&1 | tail -1
		echo "exact-mode ceiling: ${PEAK_GFLOPS:-unknown} GFLOP/s"
	} 2>&1 | tee "$OUT/device.txt"
fi

if has tests; then
	for t in $G/*.test; do
		name=$(basename "$t")
		dir=$(basename "$t" .test) # run in the package's directory, as go test does
		[ -d "$dir" ] || dir=.
		lim=$(limit 240 300)
		say "$name -test.v -test.count=1 (limit ${lim}s; log $OUT/$name.log)"
		(cd "$dir" && timeout -k 10 "$lim" "$OLDPWD/$t" -test.v -test.count=1) >"$OUT/$name.log" 2>&1
		rc=$?
		grep -E '^(--- (FAIL|SKIP)|FAIL|ok|PASS$|panic:)' "$OUT/$name.log" | head -40
		echo "$name: exit $rc; top-level tests passed $(grep -c '^--- PASS' "$OUT/$name.log"), failed $(grep -c '^--- FAIL' "$OUT/$name.log"), skipped $(grep -c '^--- SKIP' "$OUT/$name.log"); subtests failed $(grep -c '^ *--- FAIL' "$OUT/$name.log")"
		((rc == 124)) && echo "$name: cut at ${lim}s"
		((rc != 0)) && grep -m 12 -A 4 -- '--- FAIL' "$OUT/$name.log" | cut -c1-300
		((rc != 0)) && status=1
	done
fi

bench() { # bench NAME LIMIT-WANT RESERVE FLAGS...
	local name=$1 want=$2 reserve=$3
	shift 3
	local lim
	lim=$(limit "$want" "$reserve")
	local cmd=($G/ratesim bench --backend "$BACKEND" --peers torch,jax --peer-device "$PEER_DEVICE" --python "$PY"
		"${PEAK[@]}" --rep-time 200ms --reps 5 --peer-timeout $((lim * 40 / 100))s
		--json "$OUT/bench-gpu-$name.jsonl" "$@")
	say "${cmd[*]}  (limit ${lim}s)"
	timeout -s INT -k 15 "$lim" "${cmd[@]}" 2>"$OUT/bench-gpu-$name.err" | tee "$OUT/bench-gpu-$name.txt"
	local rc=${PIPESTATUS[0]}
	grep -v '^  \(measuring\|running\)' "$OUT/bench-gpu-$name.err" | tail -30
	((rc != 0)) && { echo "bench $name: exit $rc"; status=1; }
}
has bench && bench net 200 200 "${NET_ARGS[@]}"
has sweeps && bench sweep 200 60 "${SWEEP_ARGS[@]}"

if has gobench; then
	lim=$(limit 120 10)
	if ((lim >= 30)); then
		say ".gpu/gpu.test -test.run '^\$' -test.bench . -test.benchtime 20x (limit ${lim}s)"
		(cd gpu && timeout -k 10 "$lim" ../$G/gpu.test -test.run '^$' -test.bench . -test.benchtime 20x) >"$OUT/gobench.txt" 2>&1 ||
			echo "go benchmarks: exit $? (log $OUT/gobench.txt)"
		grep -E '^Benchmark' "$OUT/gobench.txt" | sed 's/  */ /g' | head -30
	else
		echo "go benchmarks skipped: ${lim}s left"
	fi
fi

if has summary; then
	cat "$OUT"/bench-gpu-net.jsonl "$OUT"/bench-gpu-sweep.jsonl >"$OUT/bench-gpu.jsonl" 2>/dev/null
	say "summary: $GPU, $(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)"
	$G/ratesim bench --from "$OUT/bench-gpu.jsonl" "${PEAK[@]}" 2>&1 | tee "$OUT/summary.txt"
	for t in $G/*.test; do
		name=$(basename "$t")
		[ -f "$OUT/$name.log" ] && echo "$name: $(grep -c '^--- PASS' "$OUT/$name.log") passed, $(grep -c '^--- FAIL' "$OUT/$name.log") failed, $(grep -c '^--- SKIP' "$OUT/$name.log") skipped, last line: $(tail -1 "$OUT/$name.log")"
	done
	echo "gpu-run: done in ${SECONDS}s, status $status; files in $OUT"
fi
exit $status
