"""Shared CLI, step-count calibration and reporting for the CTRNN peer benchmarks.

Used by torch_ctrnn.py and jax_ctrnn.py so both peers follow one contract:
the same flags, the same flop count and the same JSON keys.  Standard library
only, so that importing it never pulls in torch or jax.
"""

import argparse
import json
import math
import os
import statistics
import sys

DEFAULT_NS = (64, 256, 1024, 2048)
DEFAULT_BS = (1, 32, 64)
ACTIVATIONS = ("relu", "tanh", "sigmoid", "retanh")

# Default-T calibration: aim each timed repetition at TARGET_REP_S seconds,
# never fewer than MIN_STEPS steps.
TARGET_REP_S = 0.3
MIN_STEPS = 50
MAX_STEPS = 200000

# Exit status when the framework (torch, jax) is not installed for this
# interpreter: ratesim bench reports the peer as missing and goes on.
EXIT_MISSING = 3


def parse_sizes(text):
    """'64x1,256x32' -> [(64, 1), (256, 32)]"""
    out = []
    for item in text.split(","):
        item = item.strip().lower()
        if not item:
            continue
        parts = item.split("x")
        if len(parts) != 2:
            raise argparse.ArgumentTypeError("size %r is not NxB (e.g. 256x32)" % item)
        try:
            n, b = int(parts[0]), int(parts[1])
        except ValueError:
            raise argparse.ArgumentTypeError("size %r is not NxB (e.g. 256x32)" % item)
        if n <= 0 or b <= 0:
            raise argparse.ArgumentTypeError("size %r: N and B must be positive" % item)
        out.append((n, b))
    if not out:
        raise argparse.ArgumentTypeError("--sizes is empty")
    return out


def default_sizes():
    return [(n, b) for n in DEFAULT_NS for b in DEFAULT_BS]


def on_off(text):
    t = text.strip().lower()
    if t in ("on", "1", "true", "yes"):
        return True
    if t in ("off", "0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError("expected on or off, got %r" % text)


def positive_int(text):
    v = int(text)
    if v <= 0:
        raise argparse.ArgumentTypeError("expected a positive integer, got %r" % text)
    return v


def build_parser(prog, description):
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--dtype", choices=("f32", "f64"), default="f32")
    p.add_argument("--sizes", type=parse_sizes, default=None,
                   help="comma-separated NxB pairs, e.g. 64x1,256x32 "
                        "(default: N in {64,256,1024,2048} x B in {1,32,64})")
    p.add_argument("--inputs", type=positive_int, default=4, metavar="I")
    p.add_argument("--outputs", type=positive_int, default=2, metavar="O")
    p.add_argument("--steps", type=positive_int, default=None, metavar="T",
                   help="time steps per repetition (default: calibrated so one "
                        "repetition takes ~%.1f s, at least %d steps)" % (TARGET_REP_S, MIN_STEPS))
    p.add_argument("--reps", type=positive_int, default=5, metavar="R",
                   help="timed repetitions; the median is reported (default 5)")
    p.add_argument("--noise", type=on_off, default=True, metavar="on|off",
                   help="pre- and post-activation noise, sigma_pre=sigma_post=0.05 (default on)")
    p.add_argument("--sigma", type=float, default=0.05,
                   help="noise std used when --noise on (default 0.05)")
    p.add_argument("--act", choices=ACTIVATIONS, default="relu")
    p.add_argument("--dt", type=float, default=10.0)
    p.add_argument("--tau", type=float, default=100.0, help="alpha = dt/tau per unit (default 10/100)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="intra-op CPU threads (default: the framework's default, printed)")
    p.add_argument("--sweep", type=positive_int, default=None, metavar="K",
                   help="K independent instances (own weights each), B trials each, "
                        "batched over instances")
    p.add_argument("--rep-time", type=float, default=TARGET_REP_S, metavar="SECONDS",
                   help="target duration of one timed repetition when --steps is not given "
                        "(default %g)" % TARGET_REP_S)
    p.add_argument("--max-record-mb", type=float, default=2048.0,
                   help="cap on the (B,T,N) record buffers; bounds the calibrated T (default 2048)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    return p


def flop_per_step(n, b, i, o, k=1):
    """Effective flop of one step: 2*B*(N*N + N*I + N*O), times K instances."""
    return 2.0 * b * (n * n + n * i + n * o) * k


def record_cap_steps(n, b, o, k, itemsize, max_record_mb):
    per_step = float(b) * (n + o) * k * itemsize
    return max(MIN_STEPS, int(max_record_mb * 1024 * 1024 // per_step))


def choose_steps(sec_per_step, n, b, o, k, itemsize, max_record_mb, target=TARGET_REP_S):
    """Steps so that one repetition takes ~target seconds, clamped to [MIN_STEPS, caps]."""
    if sec_per_step <= 0 or not math.isfinite(sec_per_step):
        t = MAX_STEPS
    else:
        t = int(round(target / sec_per_step))
    t = min(t, MAX_STEPS, record_cap_steps(n, b, o, k, itemsize, max_record_mb))
    return max(MIN_STEPS, t)


def make_result(peer, args, n, b, steps, rep_seconds, threads, versions, extra=None):
    """Build the result record from the per-repetition wall times (seconds)."""
    k = args.sweep or 1
    per_step = [s / steps for s in rep_seconds]
    med = statistics.median(per_step)
    mn = min(per_step)
    rec = {
        "peer": peer,
        "device": args.device,
        "dtype": args.dtype,
        "N": n,
        "B": b,
        "I": args.inputs,
        "O": args.outputs,
        "T": steps,
        "reps": len(rep_seconds),
        "median_us_per_step": round(med * 1e6, 3),
        "min_us_per_step": round(mn * 1e6, 3),
        "steps_per_s": round(1.0 / med, 2),
        "gflops": round(flop_per_step(n, b, args.inputs, args.outputs, k) / med / 1e9, 4),
        "threads": threads,
    }
    rec.update(versions)
    if args.sweep is not None:
        rec["K"] = args.sweep
    rec["noise"] = bool(args.noise)
    rec["act"] = args.act
    if extra:
        rec.update(extra)
    return rec


class Reporter:
    """Prints JSON lines, or an aligned table once all rows are in."""

    COLS = [("N", "N", "d"), ("B", "B", "d"), ("K", "K", "d"), ("I", "I", "d"), ("O", "O", "d"),
            ("T", "T", "d"), ("reps", "reps", "d"),
            ("median_us_per_step", "median us/step", ".2f"),
            ("min_us_per_step", "min us/step", ".2f"),
            ("steps_per_s", "steps/s", ".0f"),
            ("gflops", "GFLOP/s", ".3f")]

    def __init__(self, as_json, header):
        self.as_json = as_json
        self.header = header
        self.rows = []
        if not as_json:
            for line in header:
                print(line)
            sys.stdout.flush()

    def add(self, rec):
        if self.as_json:
            print(json.dumps(rec), flush=True)
        else:
            self.rows.append(rec)
            # progress line on stderr so long grids show life
            sys.stderr.write("  done N=%d B=%d: %.2f us/step\n"
                             % (rec["N"], rec["B"], rec["median_us_per_step"]))
            sys.stderr.flush()

    def finish(self):
        if self.as_json or not self.rows:
            return
        cols = [c for c in self.COLS if any(c[0] in r for r in self.rows)]
        cells = [[h for _, h, _ in cols]]
        for r in self.rows:
            cells.append([format(r[key], fmt) if key in r else "-" for key, _, fmt in cols])
        widths = [max(len(row[j]) for row in cells) for j in range(len(cols))]
        for idx, row in enumerate(cells):
            print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
            if idx == 0:
                print("  ".join("-" * w for w in widths))
        sys.stdout.flush()


def warn(msg):
    sys.stderr.write("warning: %s\n" % msg)
    sys.stderr.flush()


def die(msg, code=2):
    sys.stderr.write("error: %s\n" % msg)
    sys.stderr.flush()
    sys.exit(code)


def script_dir():
    return os.path.dirname(os.path.abspath(__file__))
